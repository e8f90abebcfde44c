"""Regression losses: the pinball (quantile) loss, for one quantile or several at once.

The function returns one value per sample, (B,) for (B, Q) predictions and (B, T) for
(B, T, Q) ones, and its class twin adds reduction, `sample_weight` and serialization.
It follows kerasloss' precision policy (`kerasloss._internal.dtypes`): float16 and
bfloat16 inputs are computed in float32 and the loss is returned in the input's dtype,
float64 stays float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import mean, to_working
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["PinballLoss", "pinball_loss"]


def _check_tau(tau: object) -> float | list[float]:
    """One quantile level in [0, 1], or a non-empty list of them (one per output column)."""
    if isinstance(tau, np.ndarray) and tau.ndim == 0:
        tau = tau.item()
    if isinstance(tau, (str, bytes, dict)):
        raise TypeError(
            f"`tau` must be a real number in [0, 1] or a list of them; got {tau!r} "
            f"({type(tau).__name__})."
        )
    if isinstance(tau, (Sequence, np.ndarray)):
        levels = np.asarray(tau, dtype=object)
        if levels.ndim != 1 or levels.size == 0:
            raise ValueError(
                f"`tau` must be a real number in [0, 1] or a non-empty flat list of them, "
                f"one per output column; got shape {levels.shape}."
            )
        return [_checks.check_real("tau", level, low=0.0, high=1.0) for level in levels]
    return _checks.check_real("tau", tau, low=0.0, high=1.0)


def _paired(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """y_true and y_pred of the same rank, y_true's last axis 1 or y_pred's.

    (B,) predictions are one value per sample, read as (B, 1). A target without the
    last axis, or with a last axis of 1, is the one target of every output column.
    """
    if len(y_pred.shape) == 0:
        raise ValueError("`y_pred` must have shape (batch_size, Q) or (batch_size,); got ().")
    if len(y_pred.shape) == 1:
        y_pred = ops.expand_dims(y_pred, -1)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    lead_ok = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b
        for a, b in zip(true_shape[:-1], pred_shape[:-1], strict=True)
    )
    last = true_shape[-1] if true_shape else None
    if not lead_ok or last not in (1, None, pred_shape[-1]):
        raise ValueError(
            f"`y_true` must have shape {pred_shape} (one target per output column), "
            f"{(*pred_shape[:-1], 1)} or {pred_shape[:-1]} (one target for every column) to "
            f"match `y_pred` of shape {pred_shape}; got shape {true_shape}."
        )
    return y_true, y_pred


@register
def pinball_loss(
    y_true: TensorLike, y_pred: TensorLike, *, tau: float | list[float] = 0.5
) -> Tensor:
    """Pinball (quantile) loss, averaged over the last axis of each sample.

    Minimising it makes each output column estimate the `tau`-quantile of the target
    given the inputs; `tau=0.5` is half the absolute error (the median). With a list
    `tau=[0.1, 0.5, 0.9]`, a (B, 3) output predicts three quantiles of the same target:
    pass the target as (B, 1) (or (B,)) and it is compared with every column. This is
    TensorFlow Addons' `pinball_loss` for (B, Q) inputs; (B,) inputs are one value per
    sample, and (B, T, Q) inputs give (B, T), whose mean over T is Addons' value.

    Formula:

    ```python
    d = y_true - y_pred                             # y_true (..., 1) broadcasts over Q
    loss = mean_q(where(d >= 0, tau_q * d, (tau_q - 1) * d))
         = mean_q(max(tau_q * d, (tau_q - 1) * d))
    ```

    At d = 0 the gradient with respect to y_pred is -tau_q on every backend.

    Args:
        y_true: targets, shape (B, Q), or (B, 1) or (B,) for one target shared by the Q
            output columns; (B, T, ...) likewise.
        y_pred: predictions, shape (B, Q) or (B,); (B, T, Q) for sequences.
        tau: the quantile level in [0, 1], or a list of Q levels, one per column of
            `y_pred`.

    Returns:
        The loss per sample, shape (B,) (or (B, T) for (B, T, Q) inputs), in `y_pred`'s
        dtype (16-bit inputs are computed in float32).

    Raises:
        ValueError: if a level of `tau` is outside [0, 1] or not finite, a list `tau` is
            empty or does not have one level per column of `y_pred`, or `y_true` does not
            pair with `y_pred`'s shape.
        TypeError: if `tau` is not a real number or a list of them.

    Example:
        >>> loss = pinball_loss([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], tau=0.1)
        >>> print(keras.ops.convert_to_numpy(loss))  # 0.9 * 1, 0.9 * 1, 0, 0.1 * 1
        [0.9 0.9 0.  0.1]
        >>> three = pinball_loss([[1.0]], [[0.0, 1.0, 3.0]], tau=[0.1, 0.5, 0.9])
        >>> print(keras.ops.convert_to_numpy(three))  # (0.1 * 1 + 0 + 0.1 * 2) / 3
        [0.1]

    Reference: Koenker & Bassett, "Regression Quantiles", Econometrica 46(1), 1978.
    """
    tau = _check_tau(tau)
    y_pred, dtype = to_working(y_pred)
    y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
    y_true, y_pred = _paired(y_true, y_pred)
    if isinstance(tau, list) and len(tau) != y_pred.shape[-1]:
        raise ValueError(
            f"`tau` must have one level per column of `y_pred` ({y_pred.shape[-1]}); got "
            f"{len(tau)} levels, {tau}."
        )
    # Both slopes as tensors of the working dtype: a Python float would be float32 on
    # torch, and `tau - 1` is formed in float64 before it is rounded once.
    slope = ops.convert_to_tensor(np.asarray(tau, np.float64), dtype=y_pred.dtype)
    below = ops.convert_to_tensor(np.asarray(tau, np.float64) - 1.0, dtype=y_pred.dtype)
    delta = y_true - y_pred
    # `where`, not `maximum`: the same subgradient at d = 0 on every backend (Keras'
    # `maximum` splits or picks a side depending on the backend), and a NaN stays NaN.
    pinball = ops.where(delta >= 0, slope * delta, below * delta)
    return ops.cast(mean(pinball, axis=-1), dtype)


@register
class PinballLoss(PerSampleLoss):
    """Pinball (quantile) loss, averaged over the last axis of each sample.

    Minimising it makes each output column estimate the `tau`-quantile of the target;
    with a list `tau=[0.1, 0.5, 0.9]` one (B, 3) output predicts three quantiles of a
    target given as (B, 1), which every column is compared with. This is TensorFlow
    Addons' `PinballLoss` for (B, Q) inputs.

    Formula:

    ```python
    d = y_true - y_pred                             # y_true (..., 1) broadcasts over Q
    loss = mean_q(max(tau_q * d, (tau_q - 1) * d))  # gradient -tau_q at d = 0
    ```

    Args:
        tau: the quantile level in [0, 1], or a list of levels, one per output column.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if a level of `tau` is outside [0, 1] or not finite, or a list `tau`
            is empty or not flat; when called, if a list `tau` does not have one level
            per column of `y_pred` or `y_true` does not pair with `y_pred`.
        TypeError: if `tau` is not a real number or a list of them.

    Example:
        >>> loss = PinballLoss(tau=[0.1, 0.9])
        >>> y_true = [[1.0], [1.0]]  # one target, two quantiles predicted per sample
        >>> y_pred = [[0.0, 2.0], [2.0, 0.0]]  # row 1 on the right sides, row 2 not
        >>> print(float(loss(y_true, y_pred)))  # ((0.1 + 0.1) / 2 + (0.9 + 0.9) / 2) / 2
        0.5

    Reference: Koenker & Bassett, "Regression Quantiles", Econometrica 46(1), 1978.
    """

    def __init__(
        self,
        *,
        tau: float | list[float] = 0.5,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "pinball_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            pinball_loss, name=name, reduction=reduction, dtype=dtype, tau=_check_tau(tau)
        )
