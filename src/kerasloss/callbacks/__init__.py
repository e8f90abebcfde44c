"""Callbacks that change loss hyper-parameters during training."""

from kerasloss.callbacks.schedule import LossWeightScheduler

__all__ = ["LossWeightScheduler"]
