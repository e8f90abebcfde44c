"""Loss functions (per-sample values) and their `keras.losses.Loss` classes, by family.

- `classification`: cost-sensitive and label-smoothed cross-entropy, binary focal loss.
- `combined`: a weighted sum of losses.
- `multilabel`: the BP-MLL ranking loss.
- `metric_learning`: triplet losses, on explicit triplets and mined from a batch.
- `center`: the center loss (its centres live on `kerasloss.layers.CenterLoss`).
- `sparsemax`: the sparsemax loss, from logits.
- `npairs`: N-pairs losses on a batch's similarity matrix.
"""

from kerasloss._internal.aliases import moved
from kerasloss.losses.center import center_loss
from kerasloss.losses.classification import (
    BinaryFocalLoss,
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    binary_focal_loss,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    pack_example_costs,
    unpack_example_costs,
)
from kerasloss.losses.combined import CombinedLoss
from kerasloss.losses.metric_learning import TripletLoss, triplet_loss, triplet_margin_loss
from kerasloss.losses.multilabel import _MOVED_THRESHOLDS, BPMLLLoss, bpmll_loss
from kerasloss.losses.npairs import (
    NpairsLoss,
    NpairsMultilabelLoss,
    npairs_loss,
    npairs_multilabel_loss,
)
from kerasloss.losses.sparsemax import SparsemaxLoss, sparsemax_loss

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
    # Sparsemax and N-pairs losses.
    "NpairsLoss",
    "NpairsMultilabelLoss",
    "SparsemaxLoss",
    "npairs_loss",
    "npairs_multilabel_loss",
    "sparsemax_loss",
]

# The threshold functions were exported from here before kerasloss 0.2.
__getattr__ = moved(__name__, _MOVED_THRESHOLDS)
