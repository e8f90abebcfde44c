"""BP-MLL's linear threshold function as a layer, so a model predicts label sets."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kerasloss._internal import checks as _checks
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike
from kerasloss.thresholds import apply_threshold, fit_linear_threshold, linear_threshold

__all__ = ["LinearThreshold"]


@register
class LinearThreshold(keras.layers.Layer):
    """Turns label scores into label sets with BP-MLL's linear threshold function.

    Each example gets its own threshold, a linear function of its scores, and keeps
    the labels that score above it. Append the layer to a trained model to predict
    label sets; it has no trainable weights, and its configuration holds the fitted
    numbers, so it saves and loads with the model. `LinearThreshold.fit(scores, y_true)`
    fits the numbers on the training set's scores (`kerasloss.thresholds`' functions
    do the same steps one by one).

    Formula:

    ```python
    t[i] = sum_j(scores[i, j] * coefficients[j]) + intercept
    labels[i, j] = 1.0 if scores[i, j] > t[i] else 0.0
    ```

    Args:
        coefficients: one weight per label, shape (C,), finite.
        intercept: a finite real number.
        **kwargs: as for `keras.layers.Layer` (name, dtype, ...).

    Call arguments:
        scores: real scores, shape (B, C).

    Returns:
        `call` returns the label sets: a multi-hot tensor of 0s and 1s, shape (B, C),
        in the scores' float dtype.

    Raises:
        TypeError: if `intercept` is not a real number.
        ValueError: if `coefficients` is not a 1-D array of finite numbers or
            `intercept` is not finite, or, when called, the scores do not have C labels.

    Example:
        >>> layer = LinearThreshold(coefficients=[0.5, 0.0, 0.5], intercept=-0.1)
        >>> scores = np.array([[0.3, -0.2, 0.9], [0.0, 0.5, -1.0]], "float32")
        >>> print(keras.ops.convert_to_numpy(layer(scores)))  # thresholds 0.5 and -0.6
        [[0. 0. 1.]
         [1. 1. 0.]]
        >>> train_scores = [[-0.6, -0.2], [-0.4, -0.4], [0.6, -0.8]]
        >>> train_labels = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
        >>> fitted = LinearThreshold.fit(train_scores, train_labels)
        >>> print(np.round(fitted.coefficients, 4), round(fitted.intercept, 4))
        [1.  1.5] 0.5
        >>> scorer = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="tanh")])
        >>> label_sets = keras.Sequential([scorer, fitted])
        >>> print(label_sets.output_shape)
        (None, 2)

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 3.3.
    """

    def __init__(self, *, coefficients: TensorLike, intercept: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        array = np.asarray(coefficients, dtype=np.float64)
        if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
            raise ValueError(
                f"`coefficients` must be finite numbers of shape (C,); got {array.shape}."
            )
        self.coefficients = array
        self.intercept = _checks.check_real("intercept", intercept)

    @classmethod
    def fit(cls, scores: TensorLike, y_true: TensorLike, **kwargs: Any) -> LinearThreshold:
        """A layer with the threshold that `fit_linear_threshold(scores, y_true)` finds.

        Args:
            scores: a trained model's scores of N training examples, shape (N, C).
            y_true: their multi-hot labels, shape (N, C); an entry > 0.5 is relevant.
            **kwargs: as for `keras.layers.Layer` (name, dtype, ...).

        Returns:
            A `LinearThreshold` with the fitted `coefficients` and `intercept`.

        Raises:
            TypeError, ValueError: as `kerasloss.thresholds.fit_linear_threshold`.
        """
        coefficients, intercept = fit_linear_threshold(scores, y_true)
        return cls(coefficients=coefficients, intercept=intercept, **kwargs)

    def call(self, scores: Tensor) -> Tensor:
        if scores.shape[-1] is not None and scores.shape[-1] != self.coefficients.size:
            raise ValueError(
                f"`scores` must have {self.coefficients.size} labels on the last axis, the "
                f"size of `coefficients`; got shape {tuple(scores.shape)}."
            )
        threshold = linear_threshold(scores, self.coefficients, self.intercept)
        return apply_threshold(scores, threshold)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "coefficients": self.coefficients.tolist(),
            "intercept": self.intercept,
        }
