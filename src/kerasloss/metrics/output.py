"""A metric that shows a per-sample loss term a model outputs, such as the center loss."""

from __future__ import annotations

import keras

from kerasloss._internal.registration import register

__all__ = ["OutputMean"]


@register
class OutputMean(keras.metrics.Mean):
    """The mean of a model output that already holds per-sample values; the target is ignored.

    Compiled on an output that carries a loss term, such as the second output of
    `CenterLoss(..., return_center_loss=True)`, it shows that term on its own in the
    progress bar and in `History`. Keras names a compiled metric "<output>_<metric>",
    so with the default name "loss" and the output named "center" the key is
    "center_loss".

    Args:
        name: metric name (default "loss").
        dtype: dtype of the running mean.

    Example:
        >>> model.compile("adam", loss={"logits": ce}, metrics={"center": OutputMean()})
        >>> model.fit([x, y], {"logits": y, "center": y}).history["center_loss"]
    """

    def __init__(self, name="loss", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        del y_true  # the output is the value; its target is a placeholder
        return super().update_state(y_pred, sample_weight=sample_weight)
