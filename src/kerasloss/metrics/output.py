"""A metric that shows a per-sample loss term a model outputs, such as the center loss."""

from __future__ import annotations

import keras

from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, TensorLike

__all__ = ["OutputMean"]


@register
class OutputMean(keras.metrics.Mean):
    """The mean of a model output that already holds per-sample values; the target is ignored.

    Compiled on an output that carries a loss term, such as the second output of
    `kerasloss.layers.CenterLoss(..., return_center_loss=True)`, it shows that term on
    its own in the progress bar and in `History`. Keras names a compiled metric
    "<output>_<metric>", so with the default name "loss" and the output named "center"
    the key is "center_loss":
    `model.compile(..., metrics={"center": OutputMean()})`, then
    `model.fit(x, {..., "center": y})` with any target of one row per sample (the labels
    again). Outside a model, `update_state(y_true, y_pred)` takes the values as `y_pred`.

    Formula:

    ```python
    # over every batch since the last reset_state(); sample_weight defaults to 1
    result = sum_i(sample_weight[i] * y_pred[i]) / sum_i(sample_weight[i])
    ```

    Args:
        name: metric name (default "loss").
        dtype: dtype of the running mean (default: Keras' float type).

    Returns:
        `result()` returns the running mean, a scalar; `update_state(y_true, y_pred,
        sample_weight=None)` adds the values of `y_pred` (any shape) and returns nothing.

    Raises:
        ValueError: if `dtype` is not a dtype or dtype policy that Keras knows. A
            `sample_weight` that does not broadcast to `y_pred` fails in
            `keras.metrics.Mean`, with the backend's error type.

    Example:
        >>> metric = OutputMean()
        >>> metric.update_state([0, 0], [2.0, 0.25])  # the target is ignored
        >>> metric.update_state([0], [0.75])
        >>> print(float(metric.result()))  # (2 + 0.25 + 0.75) / 3
        1.0
        >>> metric.reset_state()
        >>> metric.update_state([0, 0], [2.0, 0.25], sample_weight=[1.0, 3.0])
        >>> print(float(metric.result()))  # (1 * 2 + 3 * 0.25) / (1 + 3)
        0.6875

    Reference:
        `keras.metrics.Mean`, which it extends to the (y_true, y_pred) signature of a
        compiled metric.
    """

    def __init__(self, name: str = "loss", dtype: DTypeLike = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(
        self, y_true: TensorLike, y_pred: TensorLike, sample_weight: TensorLike = None
    ) -> None:
        del y_true  # the output is the value; its target is a placeholder
        return super().update_state(y_pred, sample_weight=sample_weight)
