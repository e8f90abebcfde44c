"""Loss functions (per-sample values) and their `keras.losses.Loss` classes, by family.

- `classification`: cost-sensitive and label-smoothed cross-entropy.
- `focal`: focal losses, binary, categorical and sparse categorical.
- `combined`: a weighted sum of losses.
- `multilabel`: the BP-MLL ranking loss.
- `metric_learning`: triplet losses, on explicit triplets and mined from a batch.
- `center`: the center loss (its centres live on `kerasloss.layers.CenterLoss`).
"""

from kerasloss._internal.aliases import moved
from kerasloss.losses.center import center_loss
from kerasloss.losses.classification import (
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    pack_example_costs,
    unpack_example_costs,
)
from kerasloss.losses.combined import CombinedLoss
from kerasloss.losses.focal import (
    BinaryFocalLoss,
    CategoricalFocalLoss,
    SparseCategoricalFocalLoss,
    binary_focal_loss,
    categorical_focal_loss,
    sparse_categorical_focal_loss,
)
from kerasloss.losses.metric_learning import TripletLoss, triplet_loss, triplet_margin_loss
from kerasloss.losses.multilabel import _MOVED_THRESHOLDS, BPMLLLoss, bpmll_loss

__all__ = [
    "BPMLLLoss",
    "BinaryFocalLoss",
    "CombinedLoss",
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "TripletLoss",
    "binary_focal_loss",
    "bpmll_loss",
    "center_loss",
    "cost_sensitive_crossentropy",
    "label_smoothing_crossentropy",
    "pack_example_costs",
    "triplet_loss",
    "triplet_margin_loss",
    "unpack_example_costs",
    # focal losses
    "CategoricalFocalLoss",
    "SparseCategoricalFocalLoss",
    "categorical_focal_loss",
    "sparse_categorical_focal_loss",
]

# The threshold functions were exported from here before kerasloss 0.2.
__getattr__ = moved(__name__, _MOVED_THRESHOLDS)
