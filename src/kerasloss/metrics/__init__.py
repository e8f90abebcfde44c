"""Metrics: per-example functions and their `keras.metrics.Metric` classes, by family.

- `multilabel`: Hamming loss, ranking loss, one-error, coverage and LRAP, equal to
  scikit-learn's, each a per-example function and a class that declares its direction.
- `output`: `OutputMean`, which shows a per-sample term a model outputs.
- `kappa`: `CohenKappa`, plain or weighted, from a confusion matrix kept across batches.
- `retrieval`: `retrieval_scores`, precision@1, R-precision, MAP@R, MRR and Recall@K of
  embeddings, computed in chunks of queries.
- `packed`: `PackedLabelsMetric`, any Keras metric on the labels of targets packed with
  per-example cost tables.
"""

from kerasloss.metrics.kappa import CohenKappa
from kerasloss.metrics.multilabel import (
    CoverageError,
    HammingLoss,
    LabelRankingAveragePrecision,
    LabelRankingLoss,
    OneError,
    coverage_error,
    hamming_loss,
    label_ranking_average_precision,
    label_ranking_loss,
    one_error,
)
from kerasloss.metrics.output import OutputMean
from kerasloss.metrics.packed import PackedLabelsMetric
from kerasloss.metrics.retrieval import retrieval_scores

__all__ = [
    "CoverageError",
    "HammingLoss",
    "LabelRankingAveragePrecision",
    "LabelRankingLoss",
    "OneError",
    "OutputMean",
    "coverage_error",
    "hamming_loss",
    "label_ranking_average_precision",
    "label_ranking_loss",
    "one_error",
    # kappa
    "CohenKappa",
    # retrieval
    "retrieval_scores",
    # packed cost tables
    "PackedLabelsMetric",
]
