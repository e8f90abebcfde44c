"""Distances between embeddings: the pieces the metric-learning losses and layers share.

Every function takes Keras tensors (or arrays), uses only `keras.ops`, and has a finite
gradient everywhere, including at identical or all-zero embeddings. They compute in the
input's dtype; callers cast float16 and bfloat16 inputs to `dtypes.working_dtype` (float32) first
and cast the loss back, because a squared norm or a Gram product of a few dozen 16-bit
values loses most of its digits.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal.dtypes import positive_part

DISTANCES = ("euclidean", "squared_euclidean", "cosine")

# Below this norm an embedding is treated as the zero vector by `l2_normalize`.
NORM_FLOOR = 1e-12


def check_distance(distance: object) -> str:
    """One of `DISTANCES`; ValueError naming `distance` otherwise."""
    if distance not in DISTANCES:
        raise ValueError(f"`distance` must be one of {DISTANCES}; got {distance!r}.")
    return str(distance)


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


def pairwise_squared_euclidean(x):
    """||x_i - x_j||^2 for all pairs, (B, B), from the Gram matrix.

    Rounding can make an entry of n_i + n_j - 2 x_i.x_j slightly negative: it is clamped to
    0, and the diagonal is set to exactly 0.
    """
    x = ops.convert_to_tensor(x)
    squared = ops.sum(ops.square(x), axis=-1)
    distances = positive_part(squared[:, None] + squared[None, :] - 2 * gram(x))
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
        return positive_part(1 - gram(unit))
    squared = pairwise_squared_euclidean(x)
    return squared if distance == "squared_euclidean" else safe_sqrt(squared)
