"""Loss functions (per-sample values) and their `keras.losses.Loss` classes, by family."""

from kerasloss.losses.center import center_loss as center_loss
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
from kerasloss.losses.metric_learning import TripletLoss as TripletLoss
from kerasloss.losses.metric_learning import triplet_loss as triplet_loss
from kerasloss.losses.metric_learning import triplet_margin_loss as triplet_margin_loss
from kerasloss.losses.multilabel import BPMLLLoss as BPMLLLoss
from kerasloss.losses.multilabel import apply_threshold as apply_threshold
from kerasloss.losses.multilabel import best_cut_per_example as best_cut_per_example
from kerasloss.losses.multilabel import bpmll_loss as bpmll_loss
from kerasloss.losses.multilabel import fit_linear_threshold as fit_linear_threshold
from kerasloss.losses.multilabel import linear_threshold as linear_threshold
