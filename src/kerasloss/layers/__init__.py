"""Layers for the losses that are not a function of (y_true, y_pred) alone.

They own what the loss needs (class centres, class kernels, a fitted threshold) or add
their loss from intermediate tensors with `add_loss`.
"""

from kerasloss.layers.center import CenterLoss as CenterLoss
from kerasloss.layers.center import OutputMean as OutputMean
from kerasloss.layers.margin import ArcFace as ArcFace
from kerasloss.layers.margin import CosFace as CosFace
from kerasloss.layers.margin import SphereFace as SphereFace
from kerasloss.layers.triplet import TripletMarginLossLayer as TripletMarginLossLayer
from kerasloss.losses.multilabel import LinearThreshold as LinearThreshold
