"""Metrics (`keras.metrics.Metric` classes), by family.

- `multilabel`: Hamming loss, ranking loss, one-error, coverage and LRAP, equal to
  scikit-learn's.
- `output`: `OutputMean`, which shows a per-sample term a model outputs.
"""

from kerasloss.metrics.multilabel import (
    CoverageError,
    HammingLoss,
    LabelRankingAveragePrecision,
    LabelRankingLoss,
    OneError,
)
from kerasloss.metrics.output import OutputMean

__all__ = [
    "CoverageError",
    "HammingLoss",
    "LabelRankingAveragePrecision",
    "LabelRankingLoss",
    "OneError",
    "OutputMean",
]
