"""Reductions over masked entries, finite in value and gradient on every backend.

Masked-out entries are replaced by finite values (never -inf) before they reach a max,
min or exp, so an empty row or an overflowing unselected entry cannot turn a zero
gradient into NaN.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal.dtypes import constant, largest
from kerasloss._internal.types import Tensor, TensorLike


def label_masks(labels: TensorLike) -> tuple[Tensor, Tensor]:
    """Positive and negative masks (B, B), bool, from labels of shape (B,).

    `positive[a, p]`: same label and p != a (an anchor is not its own positive).
    `negative[a, n]`: a different label. Labels are compared exactly, so integer ids
    that arrive as floats still match.
    """
    labels = ops.convert_to_tensor(labels)
    same = ops.equal(labels[:, None], labels[None, :])
    index = ops.arange(ops.shape(labels)[0])
    not_self = ops.not_equal(index[:, None], index[None, :])
    return ops.logical_and(same, not_self), ops.logical_not(same)


def masked_max(x: TensorLike, mask: TensorLike, axis: int = -1) -> Tensor:
    """max of x over `mask` along `axis`; the minimum of the whole row where `mask` is empty.

    Written as max((x - m) * mask) + m with m the row minimum: no -inf fill, and every
    entry has a finite gradient (TensorFlow Addons' `masked_maximum` is the same
    expression, which keeps its fallback).
    """
    x = ops.convert_to_tensor(x)
    mask = ops.cast(mask, x.dtype)
    low = ops.min(x, axis=axis, keepdims=True)
    return ops.squeeze(ops.max((x - low) * mask, axis=axis, keepdims=True) + low, axis)


def masked_min(x: TensorLike, mask: TensorLike, axis: int = -1) -> Tensor:
    """min of x over `mask` along `axis`; the maximum of the whole row where `mask` is empty."""
    x = ops.convert_to_tensor(x)
    mask = ops.cast(mask, x.dtype)
    high = ops.max(x, axis=axis, keepdims=True)
    return ops.squeeze(ops.min((x - high) * mask, axis=axis, keepdims=True) + high, axis)


def masked_logsumexp(x: Tensor, mask: Tensor, nonempty: Tensor) -> Tensor:
    """log sum_{j: mask_j} exp(x_j) over the last axis, finite in value and gradient.

    Entries outside the mask never enter an `exp` with their own value: the shift is
    the maximum over the mask (the others filled with the dtype's lowest value), and
    after the shift they are replaced by -64. Its `exp`, 1.6e-28, is a normal number in
    float32 and float64 (16-bit inputs are computed in float32), adds less than
    C * 2e-28 to a sum that is at least 1 (below float64's rounding), and keeps the `exp`
    off the denormal and underflow paths that torch's CPU kernel takes 5 to 15 times
    longer on. Two `where` over (B, C): each is one more pass, a kernel on torch eager.
    Rows with nothing in the mask (`nonempty` False) give 0, with zero gradient.
    """
    shift = ops.stop_gradient(
        ops.max(ops.where(mask, x, constant(-largest(x.dtype), x.dtype)), axis=-1, keepdims=True)
    )
    centred = ops.where(mask, x - shift, constant(-64.0, x.dtype))  # <= 0 where selected
    total = ops.sum(ops.exp(centred), axis=-1)
    # `total` >= 1 on a non-empty row (its maximum adds exp(0)); an empty row takes log 1.
    value = ops.log(ops.where(nonempty, total, ops.ones_like(total))) + ops.squeeze(shift, -1)
    return ops.where(nonempty, value, ops.zeros_like(value))


def first_argmax(x: Tensor) -> Tensor:
    """argmax over the last axis that takes the first index on ties, on every backend.

    `tf.math.argmax` does not promise which index wins a tie, so the index is the
    smallest position that holds the maximum.
    """
    num_classes = x.shape[-1]
    is_max = ops.equal(x, ops.max(x, axis=-1, keepdims=True))
    positions = ops.arange(num_classes, dtype="int32")
    first = ops.min(ops.where(is_max, positions, num_classes), axis=-1)
    # A row of NaN has no maximum; keep its index in range so the gather stays defined.
    return ops.minimum(first, num_classes - 1)


def nonfinite_part(x: Tensor) -> Tensor:
    """0 where x is finite, NaN where it is NaN or infinite, with zero gradient.

    Added to a loss, it makes a bad input show in the value. A `where` with a NaN
    constant, because the arithmetic forms do not survive every compiler: XLA may fold
    0 * x to 0, and its CPU min and max may drop a NaN.
    """
    x = ops.convert_to_tensor(x)
    return ops.where(ops.isfinite(x), ops.zeros_like(x), ops.full_like(x, float("nan")))


def row_nonfinite(x: Tensor) -> Tensor:
    """Per row of x (..., C): 0 where every entry is finite, NaN otherwise; zero gradient.

    The same as `ops.sum(nonfinite_part(x), axis=-1)` in one pass over x and a `where`
    on the rows only: a row's sum is NaN or infinite exactly when an entry is (the
    scale 2^-100 keeps the sum of finite entries, up to 2^128 each, from overflowing).
    """
    x = ops.convert_to_tensor(x)
    rows = ops.sum(x * constant(2.0**-100, x.dtype), axis=-1)
    return ops.where(ops.isfinite(rows), ops.zeros_like(rows), ops.full_like(rows, float("nan")))


def nan_part(x: Tensor) -> Tensor:
    """0 where x is a number (infinities included), NaN where it is NaN; zero gradient."""
    x = ops.convert_to_tensor(x)
    return ops.where(ops.isnan(x), ops.full_like(x, float("nan")), ops.zeros_like(x))


def keep_nonfinite(
    values: Tensor, matrix: Tensor, paired: Tensor, embeddings: Tensor, ref: Tensor
) -> Tensor:
    """`values` (B,), NaN for each anchor whose embedding or a paired reference embedding
    is not finite, or a paired entry of `matrix` (B, M) is NaN.

    Hinges, clips and masks written with `where` map a NaN to 0, so a bad embedding
    could vanish from a batch loss. Only the references paired with an anchor are
    looked at: the others (an unfilled memory slot) may hold anything. An infinite
    distance between finite embeddings is a value, not an error, and stays as it is.
    """
    ref_bad = row_nonfinite(ref)[None, :]
    in_pairs = ops.where(paired, nan_part(matrix) + ref_bad, ops.zeros_like(matrix))
    return values + ops.sum(in_pairs, axis=-1) + row_nonfinite(embeddings)
