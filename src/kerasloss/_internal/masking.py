"""Reductions over masked entries, finite in value and gradient on every backend.

Masked-out entries are replaced by finite values (never -inf) before they reach a max,
min or exp, so an empty row or an overflowing unselected entry cannot turn a zero
gradient into NaN.
"""

from __future__ import annotations

from keras import ops

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

    Entries outside the mask never enter an `exp`: each masked-out entry is replaced by
    a finite value *before* the `exp`, and again after it (a `where` on both sides), so
    an overflowing `exp` of an unselected entry cannot turn its zero gradient into NaN.
    Rows with nothing in the mask (`nonempty` False) give 0, with zero gradient.
    """
    zero = ops.zeros_like(x)
    masked = ops.where(mask, x, ops.min(x, axis=-1, keepdims=True))
    shift = ops.stop_gradient(ops.max(masked, axis=-1, keepdims=True))
    centred = ops.where(mask, x - shift, zero)  # <= 0 where selected
    total = ops.sum(ops.where(mask, ops.exp(centred), zero), axis=-1)
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
    ref_bad = ops.sum(nonfinite_part(ref), axis=-1)[None, :]
    in_pairs = ops.where(paired, nan_part(matrix) + ref_bad, ops.zeros_like(matrix))
    return values + ops.sum(in_pairs, axis=-1) + ops.sum(nonfinite_part(embeddings), axis=-1)
