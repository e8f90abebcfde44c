"""Loss functions (per-sample values) and their `keras.losses.Loss` classes, by family."""

from kerasloss.losses.classification import BinaryFocalLoss as BinaryFocalLoss
from kerasloss.losses.classification import CostSensitiveCrossentropy as CostSensitiveCrossentropy
from kerasloss.losses.classification import LabelSmoothingCrossentropy as LabelSmoothingCrossentropy
from kerasloss.losses.classification import binary_focal_loss as binary_focal_loss
from kerasloss.losses.classification import (
    cost_sensitive_crossentropy as cost_sensitive_crossentropy,
)
from kerasloss.losses.classification import (
    label_smoothing_crossentropy as label_smoothing_crossentropy,
)
from kerasloss.losses.classification import pack_example_costs as pack_example_costs
from kerasloss.losses.classification import unpack_example_costs as unpack_example_costs
from kerasloss.losses.combined import CombinedLoss as CombinedLoss
