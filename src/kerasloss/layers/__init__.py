"""Layers that add a loss to a model: for losses that are not a function of (y_true, y_pred)."""

from kerasloss.layers.triplet import TripletMarginLossLayer as TripletMarginLossLayer
