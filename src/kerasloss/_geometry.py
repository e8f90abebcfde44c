"""Distances between embeddings: the pieces the metric-learning losses and layers share.

Every function takes Keras tensors (or arrays), uses only `keras.ops`, and has a finite
gradient everywhere, including at identical or all-zero embeddings. They compute in the
input's dtype; callers cast float16 and bfloat16 inputs to `_numerics.working_dtype` (float32) first
and cast the loss back, because a squared norm or a Gram product of a few dozen 16-bit
values loses most of its digits.
"""

from __future__ import annotations

import math

from keras import ops

DISTANCES = ("euclidean", "squared_euclidean", "cosine")

# Below this norm an embedding is treated as the zero vector by `l2_normalize`.
NORM_FLOOR = 1e-12


def check_distance(distance) -> str:
    if distance not in DISTANCES:
        raise ValueError(f"`distance` must be one of {DISTANCES}; got {distance!r}.")
    return distance


def safe_sqrt(x):
    """sqrt(x) for x >= 0, with value 0 and gradient 0 where x <= 0.

    The derivative of sqrt is infinite at 0 and the chain rule then gives 0 * inf = NaN;
    the inner `where` keeps the sqrt's argument away from 0 on the masked entries.
    """
    x = ops.convert_to_tensor(x)
    positive = x > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, x, ops.ones_like(x))), 0)


def l2_normalize(x, axis=-1):
    """x / ||x|| along `axis`; a row whose norm is below NORM_FLOOR becomes 0, gradient 0."""
    x = ops.convert_to_tensor(x)
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    # `where`, not `maximum`: Keras on torch computes maximum (and matmul) of two float64
    # tensors in float32; `where`, `einsum` and the unary ops keep float64.
    # A row below the floor becomes 0 with a zero gradient: x * rsqrt(floor) would give it
    # a gradient of 1 / NORM_FLOOR, which overflows float16 and swamps any other term.
    floor = ops.convert_to_tensor(NORM_FLOOR**2, dtype=x.dtype)
    large = squared > floor
    inverse = ops.rsqrt(ops.where(large, squared, ops.ones_like(squared)))
    return x * ops.where(large, inverse, ops.zeros_like(inverse))


def row_squared_euclidean(a, b):
    """||a_i - b_i||^2 for each row i: shape (B,) from two (B, D) tensors."""
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b, dtype=a.dtype)
    return ops.sum(ops.square(a - b), axis=-1)


def row_distance(a, b, distance):
    """d(a_i, b_i) for each row i with one of `DISTANCES` (cosine: 1 - cosine similarity)."""
    if distance == "squared_euclidean":
        return row_squared_euclidean(a, b)
    if distance == "euclidean":
        return safe_sqrt(row_squared_euclidean(a, b))
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b, dtype=a.dtype)
    return 1 - ops.sum(l2_normalize(a) * l2_normalize(b), axis=-1)


def gram(x):
    """x x^T, (B, B); `einsum` keeps float64 on every backend, `matmul` not on torch."""
    return ops.einsum("id,jd->ij", x, x)


def _clamp_at_zero(x):
    return ops.where(x > 0, x, ops.zeros_like(x))


def pairwise_squared_euclidean(x):
    """||x_i - x_j||^2 for all pairs, (B, B), from the Gram matrix.

    Rounding can make an entry of n_i + n_j - 2 x_i.x_j slightly negative: it is clamped to
    0, and the diagonal is set to exactly 0.
    """
    x = ops.convert_to_tensor(x)
    squared = ops.sum(ops.square(x), axis=-1)
    distances = _clamp_at_zero(squared[:, None] + squared[None, :] - 2 * gram(x))
    off_diagonal = 1 - ops.eye(ops.shape(x)[0], dtype=x.dtype)
    return distances * off_diagonal


def pairwise_distances(x, distance):
    """All-pairs distances (B, B) between the rows of x (B, D), with one of `DISTANCES`.

    "euclidean" and "squared_euclidean" have an exact 0 diagonal. "cosine" is
    max(1 - cos(x_i, x_j), 0); its diagonal is 1 - ||x_i||^2/||x_i||^2 as computed, which
    is 0 up to rounding (TensorFlow Addons' "angular" distance does the same).
    """
    x = ops.convert_to_tensor(x)
    if distance == "cosine":
        unit = l2_normalize(x)
        return _clamp_at_zero(1 - gram(unit))
    squared = pairwise_squared_euclidean(x)
    return squared if distance == "squared_euclidean" else safe_sqrt(squared)


# ------------------------------------------------------------------ label masks and mining


def label_masks(labels):
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


def masked_max(x, mask, axis=-1):
    """max of x over `mask` along `axis`; the minimum of the whole row where `mask` is empty.

    Written as max((x - m) * mask) + m with m the row minimum: no -inf fill, and every
    entry has a finite gradient (TensorFlow Addons' `masked_maximum` is the same
    expression, which keeps its fallback).
    """
    x = ops.convert_to_tensor(x)
    mask = ops.cast(mask, x.dtype)
    low = ops.min(x, axis=axis, keepdims=True)
    return ops.squeeze(ops.max((x - low) * mask, axis=axis, keepdims=True) + low, axis)


def masked_min(x, mask, axis=-1):
    """min of x over `mask` along `axis`; the maximum of the whole row where `mask` is empty."""
    x = ops.convert_to_tensor(x)
    mask = ops.cast(mask, x.dtype)
    high = ops.max(x, axis=axis, keepdims=True)
    return ops.squeeze(ops.min((x - high) * mask, axis=axis, keepdims=True) + high, axis)


def sorted_by_mask(x, mask):
    """Each row's masked entries in ascending order, first, with O(B^2) memory.

    Returns `(keys, values, counts)`: `keys` holds the masked entries of each row in
    ascending order followed by +inf, without gradient; `values` is x gathered in the
    same order, with gradient; `counts[a]` is the number of masked entries of row a.
    """
    x = ops.convert_to_tensor(x)
    keys = ops.stop_gradient(ops.where(mask, x, ops.full_like(x, float("inf"))))
    order = ops.argsort(keys, axis=-1)
    counts = ops.sum(ops.cast(mask, "int32"), axis=-1)
    return (
        ops.take_along_axis(keys, order, axis=-1),
        ops.take_along_axis(x, order, axis=-1),
        counts,
    )


def prefix_length(sorted_rows, queries, predicate):
    """For each query q[a, j], the length of the prefix of row a where predicate(v, q) holds.

    `predicate(v, q)` must hold on a prefix of each row of `sorted_rows` (B, M) (true,
    then false); `queries` is (B, Q). A batched binary search made of gathers, because
    `keras.ops.searchsorted` takes 1-D sequences only: O(B * (M + Q)) memory and
    ceil(log2(M + 1)) steps, or 31 steps (enough for any int32 length) when M is not
    known while tracing. Returns int32 counts, without gradient.
    """
    width = sorted_rows.shape[-1]
    steps = max(1, math.ceil(math.log2(width + 1))) if width is not None else 31
    size = ops.cast(ops.shape(sorted_rows)[-1], "int32")
    # Binary lifting: `length` only grows, by 2^k, 2^(k-1), ..., 1, while the entry it
    # would add still satisfies the predicate. A step past the end reads the last entry;
    # if that one satisfies it, all do, and the final clip gives M.
    length = ops.zeros_like(queries, dtype="int32")
    for k in reversed(range(steps)):
        candidate = length + (1 << k)
        value = ops.take_along_axis(sorted_rows, ops.minimum(candidate, size) - 1, axis=-1)
        length = ops.where(predicate(value, queries), candidate, length)
    return ops.minimum(length, size)
