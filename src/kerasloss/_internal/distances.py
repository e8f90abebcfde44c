"""Distances between embeddings: the pieces the metric-learning losses and layers share.

Every function takes Keras tensors (or arrays), uses only `keras.ops`, and has a finite
gradient everywhere, including at identical or all-zero embeddings. They return the
input's dtype; 16-bit inputs are computed in float32 (`dtypes.to_working`), because a
squared norm or a Gram product of a few dozen 16-bit values loses most of its digits.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal.dtypes import mean, positive_part, to_working
from kerasloss._internal.types import Tensor, TensorLike

DISTANCES = ("euclidean", "squared_euclidean", "cosine")

# Below this norm an embedding is treated as the zero vector by `l2_normalize`.
NORM_FLOOR = 1e-12

# `pairwise_squared_euclidean` rounds each coordinate, scaled into [-1, 1], to a
# multiple of 2^-SPLIT_BITS: products and sums of such numbers are exact in float32 (see
# there). 11 bits: every partial sum stays below 2^24 units of 2^-22 for D up to 2^20.
SPLIT_BITS = 11


def check_distance(distance: object) -> str:
    """One of `DISTANCES`; ValueError naming `distance` otherwise."""
    if distance not in DISTANCES:
        raise ValueError(f"`distance` must be one of {DISTANCES}; got {distance!r}.")
    return str(distance)


def safe_sqrt(x: TensorLike) -> Tensor:
    """sqrt(x) for x >= 0, with value 0 and gradient 0 where x <= 0.

    The derivative of sqrt is infinite at 0 and the chain rule then gives 0 * inf = NaN;
    the inner `where` keeps the sqrt's argument away from 0 on the masked entries.
    """
    x = ops.convert_to_tensor(x)
    positive = x > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, x, ops.ones_like(x))), 0)


def l2_normalize(x: TensorLike, axis: int = -1) -> Tensor:
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


def row_squared_euclidean(a: TensorLike, b: TensorLike) -> Tensor:
    """||a_i - b_i||^2 for each row i: shape (B,) from two (B, D) tensors."""
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b, dtype=a.dtype)
    return ops.sum(ops.square(a - b), axis=-1)


def _is_unit(unit: Tensor) -> Tensor:
    """1 for the rows of `l2_normalize`'s output that are unit vectors, 0 for zero rows."""
    return ops.cast(ops.sum(ops.square(unit), axis=-1) > 0.5, unit.dtype)


def _cosine_from_units(squared: Tensor, is_unit_a: Tensor, is_unit_b: Tensor) -> Tensor:
    """1 - a.b for a, b each a unit or a zero vector, from ||a - b||^2.

    For unit vectors 1 - a.b = ||a - b||^2 / 2, which keeps the digits of a small angle
    that 1 - a.b loses to the 1 (and to the rounding of ||a|| around 1). A zero vector
    is at distance 1 from everything, as with 1 - a.b: the two other terms add 1/2 for
    each zero vector of the pair.
    """
    return 0.5 * squared + (0.5 - 0.5 * is_unit_a) + (0.5 - 0.5 * is_unit_b)


def row_distance(a: TensorLike, b: TensorLike, distance: str) -> Tensor:
    """d(a_i, b_i) for each row i with one of `DISTANCES` (cosine: 1 - cosine similarity)."""
    if distance == "squared_euclidean":
        return row_squared_euclidean(a, b)
    if distance == "euclidean":
        return safe_sqrt(row_squared_euclidean(a, b))
    a = l2_normalize(a)
    b = l2_normalize(ops.convert_to_tensor(b, dtype=a.dtype))
    return _cosine_from_units(row_squared_euclidean(a, b), _is_unit(a), _is_unit(b))


def gram(x: Tensor) -> Tensor:
    """x x^T, (B, B); `einsum` keeps float64 on every backend, `matmul` not on torch."""
    return ops.einsum("id,jd->ij", x, x)


def _pair_sums(row: Tensor) -> Tensor:
    """row_i + row_j for all pairs, (B, B), from (B,)."""
    return row[:, None] + row[None, :]


def pairwise_squared_euclidean(x: TensorLike) -> Tensor:
    """||x_i - x_j||^2 for all pairs, (B, B), accurate for near-identical rows, O(B^2) memory.

    The Gram form n_i + n_j - 2 x_i.x_j loses the digits of a small distance to the
    rounding of the large norms (2e-5 absolute in d for unit vectors 1 degree apart, D =
    128, in float32). Differences x_i - x_j keep them, but even in chunks of the feature
    axis they cost 5 to 90 times the Gram form (forward and backward, B = 256 and 1024,
    compiled on JAX and TensorFlow, eager on torch). This is a Gram form whose cancelling
    part is exact, at 1.3 to 3.5 times the Gram form's cost (measured by
    tests/test_geometry.py::test_timing_of_the_distance_forms):

    1. y = (x - mean(x)) / R, with R = max_i ||x_i - mean(x)||: distances change by the
       translation and the scale only, and every ||y_i|| <= 1.
    2. y = h + l, h = round(2^11 y) / 2^11. Products and partial sums of h are
       multiples of 2^-22 below 4, so h h^T and the squared norms of h are exact in
       float32 in any summation order (for D up to 2^20), and ||h_i - h_j||^2 cancels
       without error.
    3. ||y_i - y_j||^2 = ||h_i - h_j||^2 + (l_i - l_j).(s_i - s_j), s = y + h, where the
       second term comes from one Gram-like product l s^T of small l (|l| <= 2^-12).

    Error bound, for the distance d = ||x_i - x_j|| from the returned value, with u the
    unit roundoff of the computing dtype (2^-24 in float32) and D <= 2^20 the embedding
    size, to first order in u:

        |d_computed - d| <= min(sqrt(e), e / d) + 4 u R + 3 u d,
        e = 2^-12 (9 D + 27) sqrt(D) u R^2,     R = max_i ||x_i - mean(x)||

    e bounds the error of the squared distance from the products with l; 4 u R is the
    rounding of the translation and the scale, 3 u d that of the last products and the
    square root. R <= 2 max_i ||x_i||. For D = 128 in float32, e = 1.9e-7 R^2, against
    about 4 D u max_i ||x_i||^2 = 3.1e-5 max_i ||x_i||^2 for the Gram form.
    Measured, on every backend (the errors stay within a third of the bound): unit
    vectors 1 degree apart (d = 0.0175) have a relative error below 1e-6 in d, the
    Gram form's 1.2e-3; pairs 0.001 degree apart (d = 1.7e-5 |x|) spread over the sphere
    are not resolved: they come out within 1.8e-5 |x| absolute, often as 0 (the Gram form:
    8.7e-4 |x|); a batch that tight around its mean (R small) is resolved, to 1.3e-7
    relative. Only differences x_i - x_j would resolve the spread-out pairs.

    The diagonal is exactly 0, every entry is >= 0, and the matrix is exactly symmetric.
    16-bit inputs are computed in float32 and the result is cast back. The exact part
    needs matrix products that round as float32 does (or TF32, which holds the 11-bit h
    exactly); JAX's default on TPU multiplies float32 in bfloat16 passes, which neither
    this nor the Gram form survives without `jax.default_matmul_precision("highest")`.

    Reference: the exact part is the splitting of Ozaki, Ogita, Oishi and Rump,
    "Error-free transformations of matrix multiplication by using fast routines of
    matrix multiplication and its applications", Numerical Algorithms 59(1), 2012.
    """
    x, dtype = to_working(x)
    # The translation and the scale are constants of the batch: no gradient through them
    # (the distances do not depend on them).
    y = x - ops.stop_gradient(mean(x, axis=0))[None, :]
    squared_norms = ops.sum(ops.square(y), axis=-1)
    radius = ops.stop_gradient(ops.sqrt(ops.max(squared_norms)))
    # An all-equal batch (radius 0) has no scale to remove.
    radius = ops.where(radius > 0, radius, ops.ones_like(radius))
    y = y / radius
    grid = float(2**SPLIT_BITS)
    high = ops.stop_gradient(ops.round(y * grid) / grid)
    low = y - high  # exact
    high_squared = _pair_sums(ops.sum(ops.square(high), axis=-1)) - 2 * gram(high)  # exact
    plus = y + high
    cross = ops.einsum("id,jd->ij", low, plus)
    rest = _pair_sums(ops.sum(low * plus, axis=-1)) - (cross + ops.transpose(cross))
    squared = positive_part(high_squared + rest) * ops.square(radius)
    off_diagonal = 1 - ops.eye(ops.shape(x)[0], dtype=x.dtype)
    return ops.cast(squared * off_diagonal, dtype)


def pairwise_distances(x: TensorLike, distance: str) -> Tensor:
    """All-pairs distances (B, B) between the rows of x (B, D), with one of `DISTANCES`.

    "euclidean" and "squared_euclidean" come from `pairwise_squared_euclidean` (see its
    error bound) and have an exact 0 diagonal. "cosine" is 1 - cos(x_i, x_j) =
    ||u_i - u_j||^2 / 2 for the unit vectors u, from the same function, so a small angle
    keeps its digits; its diagonal is 0, and 1 for a zero embedding, which is at
    distance 1 from everything (TensorFlow Addons' "angular" distance does the same).
    """
    x, dtype = to_working(x)
    if distance == "cosine":
        unit = l2_normalize(x)
        is_unit = _is_unit(unit)
        cosine = _cosine_from_units(
            pairwise_squared_euclidean(unit), is_unit[:, None], is_unit[None, :]
        )
        return ops.cast(cosine, dtype)
    squared = pairwise_squared_euclidean(x)
    return ops.cast(squared if distance == "squared_euclidean" else safe_sqrt(squared), dtype)
