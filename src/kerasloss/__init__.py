"""kerasloss: loss functions for Keras 3, the same on TensorFlow, JAX and PyTorch.

Each loss comes as a function that returns one value per sample and as a
`keras.losses.Loss` class registered under the package name "kerasloss", so a saved
`.keras` model loads back after `import kerasloss`.
"""

from kerasloss import losses
from kerasloss.losses import (
    BinaryFocalLoss,
    CombinedLoss,
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    binary_focal_loss,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    pack_example_costs,
    unpack_example_costs,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BinaryFocalLoss",
    "CombinedLoss",
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "__version__",
    "binary_focal_loss",
    "cost_sensitive_crossentropy",
    "label_smoothing_crossentropy",
    "losses",
    "pack_example_costs",
    "unpack_example_costs",
]
