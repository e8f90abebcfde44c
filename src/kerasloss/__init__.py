"""kerasloss: loss functions for Keras 3, the same on TensorFlow, JAX and PyTorch.

Each loss comes as a function that returns one value per sample and as a
`keras.losses.Loss` class registered under the package name "kerasloss", so a saved
`.keras` model loads back after `import kerasloss`. Losses that need state or
intermediate tensors live in `kerasloss.layers`; the metrics in `kerasloss.metrics`;
the loss-weight schedule in `kerasloss.callbacks`; turning multi-label scores into
label sets in `kerasloss.thresholds`; sparsemax in `kerasloss.ops`.
"""

from kerasloss import callbacks, layers, losses, metrics, ops, thresholds
from kerasloss.losses import (
    AsymmetricLoss,
    BinaryFocalLoss,
    BPMLLLoss,
    CombinedLoss,
    ContrastiveLoss,
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    LiftedStructureLoss,
    MultiSimilarityLoss,
    NpairsLoss,
    NpairsMultilabelLoss,
    PinballLoss,
    Poly1Crossentropy,
    SparseCostSensitiveCrossentropy,
    SparseLabelSmoothingCrossentropy,
    SparsemaxLoss,
    TripletLoss,
    WeightedKappaLoss,
    asymmetric_loss,
    binary_focal_loss,
    bpmll_loss,
    center_loss,
    clip_loss,
    contrastive_loss,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    lifted_structure_loss,
    multi_similarity_loss,
    npairs_loss,
    npairs_multilabel_loss,
    pack_example_costs,
    pinball_loss,
    poly1_crossentropy,
    siglip_loss,
    sparse_cost_sensitive_crossentropy,
    sparse_label_smoothing_crossentropy,
    sparsemax_loss,
    triplet_loss,
    triplet_margin_loss,
    unpack_example_costs,
    weighted_kappa_loss,
)
from kerasloss.thresholds import apply_threshold, fit_linear_threshold, linear_threshold

__version__ = "0.1.0.dev0"

__all__ = [
    "AsymmetricLoss",
    "BPMLLLoss",
    "BinaryFocalLoss",
    "CombinedLoss",
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "Poly1Crossentropy",
    "TripletLoss",
    "__version__",
    "apply_threshold",
    "asymmetric_loss",
    "binary_focal_loss",
    "bpmll_loss",
    "callbacks",
    "center_loss",
    "clip_loss",
    "cost_sensitive_crossentropy",
    "fit_linear_threshold",
    "label_smoothing_crossentropy",
    "layers",
    "linear_threshold",
    "losses",
    "metrics",
    "pack_example_costs",
    "siglip_loss",
    "poly1_crossentropy",
    "thresholds",
    "triplet_loss",
    "triplet_margin_loss",
    "unpack_example_costs",
    # regression and ordinal (TensorFlow Addons' pinball and weighted kappa losses)
    "PinballLoss",
    "WeightedKappaLoss",
    "pinball_loss",
    "weighted_kappa_loss",
    # sparse
    "SparseCostSensitiveCrossentropy",
    "SparseLabelSmoothingCrossentropy",
    "sparse_cost_sensitive_crossentropy",
    "sparse_label_smoothing_crossentropy",
    # Sparsemax and N-pairs losses.
    "NpairsLoss",
    "NpairsMultilabelLoss",
    "SparsemaxLoss",
    "npairs_loss",
    "npairs_multilabel_loss",
    "ops",
    "sparsemax_loss",
    # pair losses
    "ContrastiveLoss",
    "LiftedStructureLoss",
    "MultiSimilarityLoss",
    "contrastive_loss",
    "lifted_structure_loss",
    "multi_similarity_loss",
]
