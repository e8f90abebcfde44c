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
    CategoricalFocalLoss,
    CombinedLoss,
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    SparseCategoricalFocalLoss,
    TripletLoss,
    binary_focal_loss,
    bpmll_loss,
    categorical_focal_loss,
    center_loss,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    pack_example_costs,
    sparse_categorical_focal_loss,
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
    "pack_example_costs",
    "thresholds",
    "triplet_loss",
    "triplet_margin_loss",
    "unpack_example_costs",
    # focal losses
    "CategoricalFocalLoss",
    "SparseCategoricalFocalLoss",
    "categorical_focal_loss",
    "sparse_categorical_focal_loss",
]
