"""A metric wrapper that reads the labels out of targets packed with per-example cost tables."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Tensor, TensorLike

__all__ = ["PackedLabelsMetric"]

# The strings Keras resolves by looking at the loss and the shapes; for one-hot labels
# against (B, C) scores they mean categorical accuracy.
_ACCURACY = ("accuracy", "acc")


def _resolve(metric: object) -> Any:
    """A `keras.metrics.Metric` instance from a metric, a metric class or a Keras name."""
    if isinstance(metric, str) and metric.lower() in _ACCURACY:
        return keras.metrics.CategoricalAccuracy(name=metric)
    if isinstance(metric, (str, dict)):
        try:
            metric = keras.metrics.get(metric)
        except ValueError as err:
            raise ValueError(f"`metric` must name a Keras metric: {err}") from None
    if isinstance(metric, type) and issubclass(metric, keras.metrics.Metric):
        return metric()
    if isinstance(metric, keras.metrics.Metric):
        return metric
    if callable(metric):
        return keras.metrics.MeanMetricWrapper(metric, name=getattr(metric, "__name__", None))
    raise TypeError(
        "`metric` must be a keras.metrics.Metric, a metric class, a function of "
        f"(y_true, y_pred) or the name of a Keras metric; got {type(metric).__name__}."
    )


@register
class PackedLabelsMetric(keras.metrics.Metric):
    """Runs a Keras metric on the labels of targets packed with per-example cost tables.

    `kerasloss.pack_example_costs` puts the labels (B, C) and the cost tables (B, C, C)
    of each example into one target, (B, C + C*C), for
    `CostSensitiveCrossentropy(cost_matrix=None)`. A metric compiled on that output sees
    the packed target: `metrics=["accuracy"]` would compare the argmax over labels and
    costs together with the predicted class. This wrapper hands the metric the labels
    only, `y_true[..., :C]`, and the predictions and sample weights unchanged.

    Formula:

    ```python
    metric.update_state(y_packed[..., :C], y_pred, sample_weight)
    result = metric.result()
    ```

    Args:
        metric: the metric to run: a `keras.metrics.Metric`, a metric class, a function
            of (y_true, y_pred), or a Keras metric name; "accuracy" (or "acc") means
            `keras.metrics.CategoricalAccuracy`, as for one-hot labels.
        num_classes: C, the number of classes, an integer >= 1.
        name: the name `fit` logs the value under; by default the wrapped metric's.
        dtype: the dtype of the wrapper (the wrapped metric keeps its own).

    Returns:
        `result()`: the wrapped metric's result on the unpacked labels.

    Raises:
        TypeError: if `metric` is none of the above or `num_classes` is not an integer.
        ValueError: if `num_classes` < 1 or `metric` names no Keras metric; from
            `update_state`, if the last axis of `y_true` is not C + C*C, `y_pred` has
            another batch size, or (when the values are known) a label is outside [0, 1].

    Example:
        >>> y = kerasloss.pack_example_costs([0, 2], np.ones((2, 3, 3)))  # (2, 12)
        >>> y_pred = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]]  # right, then wrong
        >>> metric = PackedLabelsMetric("accuracy", num_classes=3)
        >>> metric.update_state(y, y_pred)
        >>> print(float(metric.result()))
        0.5

    Reference: `keras.metrics.MeanMetricWrapper`, which wraps a function the same way.
    """

    def __init__(
        self,
        metric: Any = "accuracy",
        *,
        num_classes: int,
        name: str | None = None,
        dtype: DTypeLike = None,
    ) -> None:
        inner = _resolve(metric)
        super().__init__(name=name or inner.name, dtype=dtype)
        self.metric = inner
        self.num_classes = _checks.check_num_classes(num_classes)
        self._direction = getattr(inner, "_direction", None)

    def update_state(
        self, y_true: TensorLike, y_pred: TensorLike, sample_weight: TensorLike | None = None
    ) -> Any:
        """Updates the wrapped metric with the labels `y_true[..., :C]`."""
        y_true = ops.convert_to_tensor(y_true)
        c = self.num_classes
        width = c + c * c
        if not y_true.shape or y_true.shape[-1] != width:
            raise ValueError(
                f"`y_true` must be labels and cost tables packed by "
                f"`kerasloss.pack_example_costs`, last axis C + C*C = {width} for C = {c}; "
                f"got shape {tuple(y_true.shape)}."
            )
        labels, y_pred = y_true[..., :c], ops.convert_to_tensor(y_pred)
        rows, pred_rows = tuple(labels.shape[:-1]), tuple(y_pred.shape[:-1])
        if None not in rows + pred_rows and rows != pred_rows:
            raise ValueError(
                f"`y_pred` must have one row per row of `y_true`, leading shape {rows}; got "
                f"shape {tuple(y_pred.shape)}."
            )
        _checks.check_unit_interval("y_true", labels, hint=_checks.CATEGORICAL_TARGET_HINT)
        return self.metric.update_state(labels, y_pred, sample_weight=sample_weight)

    def result(self) -> Tensor:
        """The wrapped metric's result."""
        return self.metric.result()

    def reset_state(self) -> None:
        """Resets the wrapped metric."""
        self.metric.reset_state()

    def get_config(self) -> dict[str, Any]:
        """`metric` (serialized), `num_classes`, `name` and `dtype`."""
        return {
            "metric": keras.saving.serialize_keras_object(self.metric),
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PackedLabelsMetric:
        """The wrapper with its metric deserialized."""
        config = dict(config)
        config["metric"] = keras.saving.deserialize_keras_object(config["metric"])
        return cls(**config)
