"""The piece every loss class shares: a `keras.losses.Loss` around a per-sample function."""

from __future__ import annotations

import keras
import numpy as np


class PerSampleLoss(keras.losses.Loss):
    """Applies `fn(y_true, y_pred, **hyper)`, which returns one value per sample.

    `keras.losses.Loss.__call__` adds reduction, `sample_weight`, masking and the dtype
    policy. Subclasses validate their hyper-parameters and pass them here, so that
    `get_config` always holds every constructor argument.
    """

    def __init__(self, fn, *, name, reduction, dtype, **hyper):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._fn = fn
        self._hyper = hyper

    def call(self, y_true, y_pred):
        return self._fn(y_true, y_pred, **self._hyper)

    def get_config(self):
        config = super().get_config()
        config["dtype"] = self.dtype
        for key, value in self._hyper.items():
            config[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return config
