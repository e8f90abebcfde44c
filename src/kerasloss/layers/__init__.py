"""Layers that add a loss to a model: for losses that are not a function of (y_true, y_pred)."""

from kerasloss.layers.triplet import TripletMarginLossLayer as TripletMarginLossLayer

"""Layers for the losses that own weights: they add their loss through `add_loss`."""

from kerasloss.layers.center import CenterLoss as CenterLoss
from kerasloss.layers.center import OutputMean as OutputMean

"""Layers that own weights a loss needs: margin-softmax class kernels."""

from kerasloss.layers.margin import ArcFace, CosFace, SphereFace

__all__ = ["ArcFace", "CosFace", "SphereFace"]
