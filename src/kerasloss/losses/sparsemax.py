"""The sparsemax loss: the loss whose gradient is sparsemax(z) - q.

It is to `kerasloss.ops.sparsemax` what cross-entropy from logits is to softmax. It
follows kerasloss' precision policy (`kerasloss._internal.dtypes`): float16 and
bfloat16 inputs are computed in float32 and the loss is returned in the input's dtype,
float64 stays float64 on every backend.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant, is_float, to_working, unit_roundoff
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike
from kerasloss.ops import sparsemax

__all__ = ["SparsemaxLoss", "sparsemax_loss"]

_TARGETS_HINT = (
    " `y_true` holds either one target distribution per sample, the shape of `y_pred` "
    "(one-hot, smoothed, or multi-hot rows divided by their sum), or one integer class "
    "id per sample, the shape of `y_pred` without its last axis (or with a last axis of 1)."
)


def _is_class_ids(y_true: Tensor, y_pred: Tensor) -> bool:
    """Whether `y_true` holds class ids (one fewer axis, or a last axis of 1)."""
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if true_rank == pred_rank - 1:
        return True
    return true_rank == pred_rank and y_true.shape[-1] == 1 and y_pred.shape[-1] != 1


def _tolerance(y_true: TensorLike, given_dtype: str, num_classes: int) -> float:
    """How far a row of `y_true` may sum from 1: rounding, not a different target.

    1e-3, or C units of the coarsest dtype the targets passed through (float16 or
    bfloat16 targets with many classes).
    """
    dtype = given_dtype
    true_dtype = getattr(y_true, "dtype", None)
    if true_dtype is not None and is_float(true_dtype):
        coarser = unit_roundoff(true_dtype) > unit_roundoff(dtype)
        dtype = keras.backend.standardize_dtype(true_dtype) if coarser else dtype
    return max(1e-3, num_classes * unit_roundoff(dtype))


def _check_ids(values: np.ndarray, num_classes: int) -> None:
    """Known class ids are whole numbers in [0, C); NaN is let through to the loss."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return
    bad = ~np.isfinite(values) | (values != np.round(values))
    if np.any(bad | (values < 0) | (values >= num_classes)):
        raise ValueError(
            f"`y_true` holds class ids, which must be whole numbers in [0, {num_classes - 1}] "
            f"for y_pred with {num_classes} classes; got values from {values.min():g} to "
            f"{values.max():g}.{_TARGETS_HINT}"
        )


def _check_distributions(values: np.ndarray, tolerance: float) -> None:
    """Known target rows are >= 0 and sum to 1; rows holding NaN are let through."""
    values = values.astype(np.float64).reshape(-1, values.shape[-1])
    values = values[~np.any(np.isnan(values), axis=-1)]
    if values.size == 0:
        return
    sums = values.sum(axis=-1)
    if np.any(values < -tolerance) or np.any(np.abs(sums - 1.0) > tolerance):
        raise ValueError(
            "`y_true` rows must be probability distributions (entries >= 0 that sum to 1); "
            f"got entries from {values.min():g} to {values.max():g} and row sums from "
            f"{sums.min():g} to {sums.max():g}.{_TARGETS_HINT}"
        )


def _known(x: Tensor) -> np.ndarray | None:
    """The values of x (a float32 or float64 tensor: NumPy has no bfloat16) if known now."""
    return _checks._concrete_values(x)


def _targets(y_true: TensorLike, y_pred: Tensor, given_dtype: str) -> tuple[Tensor, Tensor]:
    """The target distributions q (y_pred's shape and dtype) and, per row, whether they
    are valid: the loss of an invalid row is NaN where it was not refused."""
    if len(y_pred.shape) < 2:
        # A (B,) y_pred would be read as one sample of B classes, and (B,) ids as its target.
        raise ValueError(
            "`y_pred` must hold one row of logits per sample, shape (batch_size, C) or "
            f"(..., C); got shape {tuple(y_pred.shape)}."
        )
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    given = y_true
    y_true = ops.convert_to_tensor(y_true)
    if _is_class_ids(y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, axis=-1)
        _checks.check_same_shape(y_true, y_pred[..., 0], hint=_TARGETS_HINT)
        ids = ops.cast(y_true, y_pred.dtype)
        known = _known(ids)
        if known is not None:
            _check_ids(known, num_classes)
        in_range = (ids >= 0) & (ids < num_classes) & (ids == ops.round(ids))
        safe = ops.where(in_range, ids, ops.zeros_like(ids))
        q = ops.one_hot(ops.cast(safe, "int32"), num_classes, dtype=y_pred.dtype)
        return q, in_range
    _checks.check_same_shape(y_true, y_pred, hint=_TARGETS_HINT)
    tolerance = _tolerance(given, given_dtype, num_classes)
    # Only arrays and lists are refused: Keras' torch backend builds a model by calling
    # its losses on tensors of ones when some part of the model cannot run on torch's
    # "meta" device, and ones are not distributions. Tensors get the NaN below.
    q = ops.cast(y_true, y_pred.dtype)
    known = None if ops.is_tensor(given) else _known(q)
    if known is not None:
        _check_distributions(known, tolerance)
    sums_to_one = ops.abs(ops.sum(q, axis=-1) - 1.0) <= tolerance
    valid = sums_to_one & ops.all(q >= -tolerance, axis=-1)
    return q, valid


@register
def sparsemax_loss(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """Sparsemax loss from logits (Martins & Astudillo 2016), one value per sample.

    The loss of `kerasloss.ops.sparsemax` as cross-entropy is the loss of softmax: its
    gradient with respect to the logits is sparsemax(z) - q, and it is 0 exactly when
    sparsemax(z) = q. It is TensorFlow Addons' `sparsemax_loss` (one-hot or probability
    targets) and optax's `multiclass_sparsemax_loss` (integer class ids), and takes both.

    Formula:

    ```python
    # per sample: z = y_pred (logits), q = y_true (a distribution, or one_hot(id))
    p = sparsemax(z)                  # support S = {j : p_j > 0}, threshold tau
    loss = sum_j p_j * (z_j - p_j / 2) - sum_j q_j * z_j + ||q||^2 / 2
         = 1/2 sum_{j in S} (z_j^2 - tau^2) - q . z + ||q||^2 / 2      # the paper's form
    # one id y: loss = sum_j p_j * (z_j - z_y) + (1 - ||p||^2) / 2     # optax's form
    ```

    There is no `from_logits`: the loss is defined on logits only (sparsemax has no
    inverse to recover them from probabilities). TensorFlow Addons' `SparsemaxLoss`
    accepted `from_logits=True` only; drop the argument.

    Computed with the largest logit of each row subtracted (the value does not change
    for targets that sum to 1), so logits of +-1e4 in float32 give the exact loss. A
    logit of -inf masks a class out: 0 for it if its target is 0, +inf if not (as
    TensorFlow Addons). Targets must be distributions: TensorFlow Addons took any
    labels, but with rows that do not sum to 1 adding c to every logit changes the loss
    by c * (1 - sum(q)), so training diverges. Such rows raise a ValueError when `y_true`
    is a NumPy array or a list, and give NaN for a tensor (the `Loss` class and `fit`
    pass tensors). Class ids outside [0, C) raise a ValueError when their values are
    known, and give NaN inside a compiled step. A NaN in a sample's logits or targets
    gives NaN for that sample.

    Args:
        y_true: targets, either distributions of shape (B, C), or (..., C) (one-hot
            labels, smoothed labels, multi-hot labels divided by their row sums), or
            integer class ids of shape (B,) or (B, 1) (or y_pred's shape without its
            last axis).
        y_pred: logits, shape (B, C), or (..., C).

    Returns:
        The loss per sample, shape (B,) (or y_pred's shape without its last axis), >= 0,
        in `y_pred`'s dtype (16-bit inputs are computed in float32 and cast back).

    Raises:
        ValueError: if `y_pred` has fewer than 2 axes, the shapes do not pair, the
            number of classes is unknown,
            targets given as an array or list are not distributions (entries >= 0, rows
            summing to 1 up to rounding), or known class ids are not in [0, C).

    Example:
        >>> logits = [[1.0, 0.8, 0.1], [3.0, 1.0, 0.0]]  # sparsemax: [0.6, 0.4, 0], [1, 0, 0]
        >>> loss = sparsemax_loss([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], logits)
        >>> print(keras.ops.convert_to_numpy(loss))  # 0.4 * (0.8 - 1) + (1 - 0.52) / 2; 3 - 1
        [0.16 2.  ]
        >>> print(keras.ops.convert_to_numpy(sparsemax_loss([0, 1], logits)))
        [0.16 2.  ]

    Reference: Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of
    Attention and Multi-Label Classification", ICML 2016; TensorFlow Addons'
    `tfa.losses.sparsemax_loss`; optax's `multiclass_sparsemax_loss`.
    """
    z, dtype = to_working(y_pred)
    q, valid = _targets(y_true, z, dtype)
    top = ops.stop_gradient(ops.max(z, axis=-1, keepdims=True))
    z = z - top
    p = sparsemax(z)
    zero = ops.zeros_like(z)
    # A class with p_j = 0 or q_j = 0 adds nothing, even at z_j = -inf (where a product
    # would be 0 * inf = NaN): its logit is replaced before the product, not after, so
    # its gradient stays 0 too.
    on_p = ops.not_equal(p, 0.0)
    on_q = ops.not_equal(q, 0.0)
    from_p = ops.sum(ops.where(on_p, p * (ops.where(on_p, z, zero) - 0.5 * p), zero), axis=-1)
    from_q = ops.sum(ops.where(on_q, q * (0.5 * q - ops.where(on_q, z, zero)), zero), axis=-1)
    # Undoing the shift: q . top enters as top * sum(q), which is top for a distribution.
    shift = ops.squeeze(top, axis=-1) * (1.0 - ops.sum(q, axis=-1))
    loss = from_p + from_q + shift
    loss = ops.where(valid, loss, constant(float("nan"), z.dtype))
    return ops.cast(loss, dtype)


@register
class SparsemaxLoss(PerSampleLoss):
    """Sparsemax loss from logits (Martins & Astudillo 2016), as a `keras.losses.Loss`.

    Use it with a model that outputs logits and predicts with `kerasloss.ops.sparsemax`:
    the gradient with respect to the logits is sparsemax(z) - q. Targets are one-hot
    (or probability) rows, as TensorFlow Addons' `SparsemaxLoss`, or integer class ids,
    as optax's `multiclass_sparsemax_loss`. There is no `from_logits` argument: the loss
    is defined on logits only (TensorFlow Addons accepted `from_logits=True` only).

    Formula:

    ```python
    # per sample: z = y_pred (logits), q = y_true (a distribution, or one_hot(id))
    p = sparsemax(z)                  # support S = {j : p_j > 0}, threshold tau
    loss = sum_j p_j * (z_j - p_j / 2) - sum_j q_j * z_j + ||q||^2 / 2
         = 1/2 sum_{j in S} (z_j^2 - tau^2) - q . z + ||q||^2 / 2
    ```

    Exact at logits of +-1e4 in float32 (the largest logit of each row is subtracted
    first). Target rows that are not distributions (with them the loss is unbounded
    below) give NaN; class ids outside [0, C) raise a ValueError when their values are
    known, and give NaN inside a compiled step.

    Args:
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: when called, if the shapes do not pair or known class ids are not
            in [0, C).

    Example:
        >>> loss = SparsemaxLoss()
        >>> logits = [[1.0, 0.8, 0.1], [3.0, 1.0, 0.0]]  # sparsemax: [0.6, 0.4, 0], [1, 0, 0]
        >>> print(float(loss([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], logits)))  # (0.16 + 2) / 2
        1.08
        >>> print(float(loss([0, 1], logits)))  # the same targets as class ids
        1.08

    Reference: Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of
    Attention and Multi-Label Classification", ICML 2016; TensorFlow Addons'
    `tfa.losses.SparsemaxLoss`.
    """

    def __init__(
        self,
        *,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "sparsemax_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(sparsemax_loss, name=name, reduction=reduction, dtype=dtype)
