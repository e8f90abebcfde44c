"""Distances between embeddings: the pieces the metric-learning losses and layers share.

Every function takes Keras tensors (or arrays), uses only `keras.ops`, and has a finite
gradient everywhere, including at identical or all-zero embeddings. They return the
input's dtype; 16-bit inputs are computed in float32 (`dtypes.to_working`), because a
squared norm or a Gram product of a few dozen 16-bit values loses most of its digits.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal.dtypes import mean, to_working
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


def pairwise_squared_euclidean(x: TensorLike, ref: TensorLike | None = None) -> Tensor:
    """||x_i - r_j||^2 for all pairs, (B, M), accurate for near-identical rows, O(B M) memory.

    `r` is `ref` (M, D), a reference set such as a memory of past embeddings, or x itself
    when `ref` is None (then M = B and the diagonal is exactly 0). Everything below
    holds with the union of x and `ref` in the place of x.

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
    same = ref is None
    squared, scale = _squared_in_units(x, ref)
    # Rounding may leave a tiny negative; a NaN (from a NaN embedding, through the centre)
    # must stay NaN so that the loss shows it, which `positive_part` would turn into 0.
    squared = ops.where(squared < 0, ops.zeros_like(squared), squared) * scale
    if same:
        squared = squared * (1 - ops.eye(ops.shape(x)[0], dtype=x.dtype))
    return ops.cast(squared, dtype)


def _squared_in_units(x: Tensor, ref: TensorLike | None) -> tuple[Tensor, Tensor]:
    """(s, R^2) with s R^2 = ||x_i - r_j||^2 before the clip at 0 and the 0 diagonal.

    The body of `pairwise_squared_euclidean` (see there), in the working dtype: s may
    hold tiny negatives and its diagonal rounding, R^2 is a scalar without gradient.
    """
    same = ref is None
    r = x if same else ops.cast(ops.convert_to_tensor(ref), x.dtype)
    both = x if same else ops.concatenate([x, r], axis=0)
    # The translation and the scale are constants of the batch: no gradient through them
    # (the distances do not depend on them).
    centre = ops.stop_gradient(mean(both, axis=0))[None, :]
    y, z = x - centre, r - centre
    squared_norms = ops.sum(ops.square(y if same else ops.concatenate([y, z], axis=0)), axis=-1)
    radius = ops.stop_gradient(ops.sqrt(ops.max(squared_norms)))
    # An all-equal batch (radius 0) has no scale to remove.
    radius = ops.where(radius > 0, radius, ops.ones_like(radius))
    grid = float(2**SPLIT_BITS)

    def split(v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        v = v / radius
        high = ops.stop_gradient(ops.round(v * grid) / grid)
        return high, v - high, v + high  # v - high is exact

    high_y, low_y, plus_y = split(y)
    high_z, low_z, plus_z = (high_y, low_y, plus_y) if same else split(z)
    # 2 h h^T as (2 h) h^T: scaling by 2 commutes with every rounding, one (B, M) pass less.
    high_squared = (
        ops.sum(ops.square(high_y), axis=-1)[:, None]
        + ops.sum(ops.square(high_z), axis=-1)[None, :]
        - ops.einsum("id,jd->ij", 2 * high_y, high_z)
    )  # exact
    # ||y_i - z_j||^2 - ||h_i - h_j||^2 = (l_i - l_j).(s_i - s_j), s = y + h
    cross = ops.einsum("id,jd->ij", low_y, plus_z)
    # Same set: the second product is the transpose of the first, so the matrix comes
    # out exactly symmetric.
    cross_back = ops.transpose(cross) if same else ops.einsum("id,jd->ij", plus_y, low_z)
    rest = (
        ops.sum(low_y * plus_y, axis=-1)[:, None]
        + ops.sum(low_z * plus_z, axis=-1)[None, :]
        - (cross + cross_back)
    )
    return high_squared + rest, ops.square(radius)


def pairwise_distances(x: TensorLike, distance: str, ref: TensorLike | None = None) -> Tensor:
    """All-pairs distances (B, M) from the rows of x (B, D) to those of `ref` (M, D).

    Without `ref` the pairs are those of x itself (M = B). "euclidean" and
    "squared_euclidean" come from `pairwise_squared_euclidean` (see its error bound), with
    an exact 0 diagonal when `ref` is None. "cosine" is 1 - cos(x_i, r_j) = ||u_i - v_j||^2
    / 2 for the unit vectors u, v, from the same function, so a small angle keeps its
    digits; its diagonal is 0, and 1 for a zero embedding, which is at distance 1 from
    everything (TensorFlow Addons' "angular" distance does the same).
    """
    x, dtype = to_working(x)
    if ref is not None:
        ref = ops.cast(ops.convert_to_tensor(ref), x.dtype)
    if distance == "cosine":
        unit = l2_normalize(x)
        ref_unit = None if ref is None else l2_normalize(ref)
        is_unit = _is_unit(unit)
        ref_is_unit = is_unit if ref_unit is None else _is_unit(ref_unit)
        cosine = _cosine_from_units(
            pairwise_squared_euclidean(unit, ref_unit), is_unit[:, None], ref_is_unit[None, :]
        )
        return ops.cast(cosine, dtype)
    if distance == "squared_euclidean":
        return ops.cast(pairwise_squared_euclidean(x, ref), dtype)
    # `safe_sqrt(pairwise_squared_euclidean(x, ref))` with its clip at 0 and its 0
    # diagonal folded into the sqrt's guard: the same numbers and gradients, in fewer
    # (B, M) passes (a negative rounding, the diagonal and a NaN all give 0).
    squared, scale = _squared_in_units(x, ref)
    squared = squared * scale
    positive = squared > 0
    if ref is None:
        index = ops.arange(ops.shape(x)[0])
        positive = ops.logical_and(positive, ops.not_equal(index[:, None], index[None, :]))
    return ops.cast(ops.where(positive, ops.sqrt(ops.where(positive, squared, 1)), 0), dtype)


def cosine_similarities(x: TensorLike, ref: TensorLike | None = None) -> Tensor:
    """cos(x_i, r_j) for all pairs, (B, M), in the working dtype; 0 for a zero embedding.

    The plain product of unit vectors: losses that exponentiate similarities (NT-Xent,
    SupCon, multi-similarity) need the similarity itself, whose rounding is a few units
    of the last place, not a small distance's digits.
    """
    x, _ = to_working(x)
    unit = l2_normalize(x)
    ref_unit = unit if ref is None else l2_normalize(ops.cast(ops.convert_to_tensor(ref), x.dtype))
    return ops.einsum("id,jd->ij", unit, ref_unit)
