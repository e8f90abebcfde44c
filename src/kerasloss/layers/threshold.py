"""BP-MLL's linear threshold function as a layer, so a model predicts label sets."""

from __future__ import annotations

import keras
import numpy as np

from kerasloss._internal import checks as _checks
from kerasloss._internal.registration import register
from kerasloss.thresholds import apply_threshold, fit_linear_threshold, linear_threshold

__all__ = ["LinearThreshold"]


@register
class LinearThreshold(keras.layers.Layer):
    """Turns label scores into label sets with BP-MLL's linear threshold function.

    Outputs `apply_threshold(scores, scores . coefficients + intercept)`: 1 for each
    label whose score exceeds the example's threshold, else 0. Append it to a trained
    model to predict label sets; it has no trainable weights, and its configuration
    holds the fitted numbers, so it saves and loads with the model.

    Args:
        coefficients: shape (C,), and `intercept` a number: from `fit_linear_threshold`.
        **kwargs: as for `keras.layers.Layer` (name, dtype).

    Raises:
        ValueError: if `coefficients` is not a 1-D array of finite numbers or
            `intercept` is not finite, or, when called, the scores do not have C labels.

    Example:
        >>> threshold = LinearThreshold.fit(model.predict(x_train), y_train)
        >>> predict_sets = keras.Sequential([model, threshold])
    """

    def __init__(self, *, coefficients, intercept: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        array = np.asarray(coefficients, dtype=np.float64)
        if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
            raise ValueError(
                f"`coefficients` must be finite numbers of shape (C,); got {array.shape}."
            )
        self.coefficients = array
        self.intercept = _checks.check_real("intercept", intercept)

    @classmethod
    def fit(cls, scores, y_true, **kwargs):
        """A layer with the threshold `fit_linear_threshold(scores, y_true)` finds."""
        coefficients, intercept = fit_linear_threshold(scores, y_true)
        return cls(coefficients=coefficients, intercept=intercept, **kwargs)

    def call(self, scores):
        if scores.shape[-1] is not None and scores.shape[-1] != self.coefficients.size:
            raise ValueError(
                f"`scores` must have {self.coefficients.size} labels on the last axis, the "
                f"size of `coefficients`; got shape {tuple(scores.shape)}."
            )
        threshold = linear_threshold(scores, self.coefficients, self.intercept)
        return apply_threshold(scores, threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "coefficients": self.coefficients.tolist(),
            "intercept": self.intercept,
        }
