"""A weighted sum of losses that serializes with its children."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["CombinedLoss"]

# A child loss: a `keras.losses.Loss`, or a function of (y_true, y_pred) per sample.
_LossFn = Callable[[Tensor, Tensor], Tensor]


def _resolve(position: int, loss: object) -> _LossFn:
    """A loss given by name, `keras.losses.Loss` object or function, as a callable."""
    if isinstance(loss, keras.losses.Loss):
        return loss
    if isinstance(loss, str):
        registered = keras.saving.get_registered_object(loss)
        if isinstance(registered, type) and issubclass(registered, keras.losses.Loss):
            return registered()
        if callable(registered):
            return registered
    if isinstance(loss, (str, dict)):
        try:
            resolved = keras.losses.get(loss)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"`losses[{position}]` = {loss!r} is not a known loss: use a Keras loss name "
                f"(e.g. 'binary_crossentropy'), a registered name (e.g. "
                f"'kerasloss>binary_focal_loss'), a Loss object or a function."
            ) from err
        if resolved is None:
            raise ValueError(f"`losses[{position}]` = {loss!r} is not a known loss.")
        return resolved
    if callable(loss):
        if not _reloadable(loss):
            raise ValueError(
                f"`losses[{position}]` = {getattr(loss, '__name__', loss)!r} is a function that a "
                f"saved model could not load back. Register it with "
                f"`@keras.saving.register_keras_serializable(package=...)` (a lambda cannot be), "
                f"or wrap it in a `keras.losses.Loss` subclass."
            )
        return loss
    raise TypeError(
        f"`losses[{position}]` must be a loss name, a keras.losses.Loss or a function; "
        f"got {type(loss).__name__}."
    )


def _reloadable(fn: _LossFn) -> bool:
    """A registered function, or a Keras built-in that deserializes by its name."""
    if keras.saving.get_registered_object(keras.saving.get_registered_name(fn)) is fn:
        return True
    name = getattr(fn, "__name__", "")
    try:
        return name != "<lambda>" and keras.losses.get(name) is fn
    except (ValueError, TypeError):
        return False


def _serialize(loss: object) -> Any:
    """A loss name or config dict as given, anything else as Keras serializes it."""
    if isinstance(loss, (str, dict)):
        return loss
    return keras.saving.serialize_keras_object(loss)


@register
class CombinedLoss(keras.losses.Loss):
    """A weighted sum of losses, per sample, reduced once.

    Each child contributes its per-sample values (for a `keras.losses.Loss`, its `call`),
    so this loss's own `reduction` and `sample_weight` apply once to the sum; the
    children's reductions and dtypes are not used.

    Precision, kerasloss' policy: with a float16 or bfloat16 `dtype` the children see
    `y_true` and `y_pred` in float32 (so Keras' built-in losses compute in float32 too,
    and a child that clips probabilities clips them as float32 ones, at 1e-7), their
    values are summed in float32, and the sum is rounded once to `dtype`. A float64
    loss computes and returns float64 (as far as each child keeps float64).

    Formula:

    ```python
    per_sample = sum_i weights[i] * losses[i](y_true, y_pred)     # shape (B,)
    loss = reduction(per_sample * sample_weight)
    ```

    Args:
        losses: a non-empty list of losses, each a name (`"binary_crossentropy"`,
            `"kerasloss>binary_focal_loss"`), a `keras.losses.Loss`, or a function of
            `(y_true, y_pred)` returning one value per sample that a saved model can load
            back: a Keras built-in or one registered with
            `keras.saving.register_keras_serializable`.
        weights: one finite real weight per loss; `None` weighs every loss 1.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (Keras' floatx by default).

    Raises:
        ValueError: if `losses` is empty, a name is unknown, a function is neither
            registered nor a Keras built-in, or `weights` has a different length or a
            non-finite entry.
        TypeError: if `losses` is a single loss rather than a list, or a loss or
            `weights` is of the wrong kind.

    Example:
        >>> loss = CombinedLoss(["binary_crossentropy", "mean_squared_error"], [0.8, 0.2])
        >>> print(float(loss([[1.0, 0.0]], [[0.9, 0.2]])))  # 0.8 * 0.1643 + 0.2 * 0.025
        0.1364

    Reference: Keras' `loss_weights` in `Model.compile`, which weighs the losses of
    several outputs; this weighs several losses of one output.
    """

    def __init__(
        self,
        losses: Sequence[str | dict[str, Any] | keras.losses.Loss | _LossFn],
        weights: Sequence[float] | None = None,
        *,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "combined_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(losses, (str, keras.losses.Loss)) or callable(losses):
            raise TypeError("`losses` must be a list of losses; wrap a single loss in a list.")
        losses = list(losses)
        if not losses:
            raise ValueError("`losses` must hold at least one loss; got an empty list.")
        if weights is None:
            weights = [1.0] * len(losses)
        if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
            raise TypeError(
                f"`weights` must be a list of one real number per loss; got {weights!r}."
            )
        weights = list(weights)
        if len(weights) != len(losses):
            raise ValueError(
                f"`weights` must have one entry per loss: len(losses) = {len(losses)}, "
                f"len(weights) = {len(weights)}."
            )
        self.weights = [_checks.check_real(f"weights[{i}]", w) for i, w in enumerate(weights)]
        self.losses = [_resolve(i, loss) for i, loss in enumerate(losses)]
        # Names stay names in the config; objects and functions serialize themselves.
        self._given = losses

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        """The weighted sum of the children's per-sample values, in the loss's dtype."""
        work = working_dtype(self.dtype)
        y_true, y_pred = keras.tree.map_structure(lambda x: ops.cast(x, work), (y_true, y_pred))
        total = None
        for weight, loss in zip(self.weights, self.losses, strict=True):
            values = (
                loss.call(y_true, y_pred)
                if isinstance(loss, keras.losses.Loss)
                else loss(y_true, y_pred)
            )
            term = ops.cast(values, work) * weight
            total = term if total is None else total + term
        return ops.cast(total, self.dtype)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments: children serialized, names kept as names."""
        config = super().get_config()
        config.update(
            dtype=self.dtype,
            losses=[_serialize(loss) for loss in self._given],
            weights=list(self.weights),
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CombinedLoss:
        """The loss of `get_config`, with its children deserialized."""
        config = dict(config)
        config["losses"] = [
            loss if isinstance(loss, str) else keras.saving.deserialize_keras_object(loss)
            for loss in config["losses"]
        ]
        return cls(**config)
