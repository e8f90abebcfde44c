"""kerasloss: loss functions for Keras 3, the same on TensorFlow, JAX and PyTorch.

Each loss comes as a function that returns one value per sample and as a
`keras.losses.Loss` class registered under the package name "kerasloss", so a saved
`.keras` model loads back after `import kerasloss`. Losses that need state or
intermediate tensors live in `kerasloss.layers`; the metrics in `kerasloss.metrics`;
the loss-weight schedule in `kerasloss.callbacks`; turning multi-label scores into
label sets in `kerasloss.thresholds`.
"""

from kerasloss import callbacks, layers, losses, metrics, thresholds
from kerasloss.losses import (
    BinaryFocalLoss,
    BPMLLLoss,
    CombinedLoss,
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    NTXentLoss,
    SupConLoss,
    TripletLoss,
    binary_focal_loss,
    bpmll_loss,
    center_loss,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    nt_xent_loss,
    pack_example_costs,
    supcon_loss,
    triplet_loss,
    triplet_margin_loss,
    unpack_example_costs,
)
from kerasloss.thresholds import apply_threshold, fit_linear_threshold, linear_threshold

__version__ = "0.1.0.dev0"

__all__ = [
    "BPMLLLoss",
    "BinaryFocalLoss",
    "CombinedLoss",
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "NTXentLoss",
    "SupConLoss",
    "TripletLoss",
    "__version__",
    "apply_threshold",
    "binary_focal_loss",
    "bpmll_loss",
    "callbacks",
    "center_loss",
    "cost_sensitive_crossentropy",
    "fit_linear_threshold",
    "label_smoothing_crossentropy",
    "layers",
    "linear_threshold",
    "losses",
    "metrics",
    "nt_xent_loss",
    "pack_example_costs",
    "supcon_loss",
    "thresholds",
    "triplet_loss",
    "triplet_margin_loss",
    "unpack_example_costs",
]
