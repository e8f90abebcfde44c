"""Metrics: per-example functions and their `keras.metrics.Metric` classes, by family."""

from kerasloss.metrics.multilabel import CoverageError as CoverageError
from kerasloss.metrics.multilabel import HammingLoss as HammingLoss
from kerasloss.metrics.multilabel import (
    LabelRankingAveragePrecision as LabelRankingAveragePrecision,
)
from kerasloss.metrics.multilabel import LabelRankingLoss as LabelRankingLoss
from kerasloss.metrics.multilabel import OneError as OneError
from kerasloss.metrics.multilabel import coverage_error as coverage_error
from kerasloss.metrics.multilabel import hamming_loss as hamming_loss
from kerasloss.metrics.multilabel import (
    label_ranking_average_precision as label_ranking_average_precision,
)
from kerasloss.metrics.multilabel import label_ranking_loss as label_ranking_loss
from kerasloss.metrics.multilabel import one_error as one_error

__all__ = [
    "CoverageError",
    "HammingLoss",
    "LabelRankingAveragePrecision",
    "LabelRankingLoss",
    "OneError",
    "coverage_error",
    "hamming_loss",
    "label_ranking_average_precision",
    "label_ranking_loss",
    "one_error",
]
