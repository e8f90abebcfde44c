"""Metrics (`keras.metrics.Metric` classes), by family."""

from kerasloss.metrics.multilabel import CoverageError as CoverageError
from kerasloss.metrics.multilabel import HammingLoss as HammingLoss
from kerasloss.metrics.multilabel import (
    LabelRankingAveragePrecision as LabelRankingAveragePrecision,
)
from kerasloss.metrics.multilabel import LabelRankingLoss as LabelRankingLoss
from kerasloss.metrics.multilabel import OneError as OneError
