"""Layers for the losses that own weights: they add their loss through `add_loss`."""

from kerasloss.layers.center import CenterLoss as CenterLoss
from kerasloss.layers.center import OutputMean as OutputMean
