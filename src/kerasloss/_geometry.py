"""Distances between embeddings: the pieces the metric-learning losses and layers share.

Every function takes Keras tensors (or arrays), uses only `keras.ops`, and has a finite
gradient everywhere, including at identical or all-zero embeddings. They compute in the
input's dtype; callers cast float16 and bfloat16 inputs to `working_dtype` (float32) first
and cast the loss back, because a squared norm or a Gram product of a few dozen 16-bit
values loses most of its digits.
"""

from __future__ import annotations

import keras
from keras import ops

DISTANCES = ("euclidean", "squared_euclidean", "cosine")

# Below this norm an embedding is treated as the zero vector by `l2_normalize`.
NORM_FLOOR = 1e-12


def check_distance(distance) -> str:
    if distance not in DISTANCES:
        raise ValueError(f"`distance` must be one of {DISTANCES}; got {distance!r}.")
    return distance


def working_dtype(dtype) -> str:
    """The dtype to compute distances in: float32 for 16-bit inputs, the input's otherwise."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def safe_sqrt(x):
    """sqrt(x) for x >= 0, with value 0 and gradient 0 where x <= 0.

    The derivative of sqrt is infinite at 0 and the chain rule then gives 0 * inf = NaN;
    the inner `where` keeps the sqrt's argument away from 0 on the masked entries.
    """
    x = ops.convert_to_tensor(x)
    positive = x > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, x, ops.ones_like(x))), 0)


def l2_normalize(x, axis=-1):
    """x / max(||x||, NORM_FLOOR) along `axis`: a zero row stays zero, with a finite gradient."""
    x = ops.convert_to_tensor(x)
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    floor = ops.cast(NORM_FLOOR**2, x.dtype)
    return x * ops.rsqrt(ops.maximum(squared, floor))


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


def pairwise_squared_euclidean(x):
    """||x_i - x_j||^2 for all pairs, (B, B), from the Gram matrix.

    Rounding can make an entry of n_i + n_j - 2 x_i.x_j slightly negative: it is clamped to
    0, and the diagonal is set to exactly 0.
    """
    x = ops.convert_to_tensor(x)
    squared = ops.sum(ops.square(x), axis=-1)
    gram = ops.matmul(x, ops.transpose(x))
    distances = ops.maximum(squared[:, None] + squared[None, :] - 2 * gram, 0)
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
        return ops.maximum(1 - ops.matmul(unit, ops.transpose(unit)), 0)
    squared = pairwise_squared_euclidean(x)
    return squared if distance == "squared_euclidean" else safe_sqrt(squared)
