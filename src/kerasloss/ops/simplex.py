"""Projections of scores onto the probability simplex: sparsemax.

Like softmax, sparsemax maps a vector of scores to probabilities; unlike softmax, it
gives exactly zero to the scores far enough below the largest, so its output is
sparse. It follows kerasloss' precision policy (`kerasloss._internal.dtypes`): float16
and bfloat16 inputs are computed in float32 and the result is returned in the input's
dtype, float64 stays float64 on every backend.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kerasloss._internal.dtypes import constant, cumsum, to_working
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["sparsemax"]


def _check_axis(axis: object, rank: int) -> int:
    """`axis` as an index in [0, rank); TypeError or ValueError naming `axis` otherwise."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an integer; got {axis!r} ({type(axis).__name__}).")
    if rank == 0:
        raise ValueError("`logits` must have at least one axis; got a scalar.")
    if not -rank <= axis < rank:
        raise ValueError(
            f"`axis` must be in [{-rank}, {rank - 1}] for `logits` of rank {rank}; got {axis}."
        )
    return int(axis) % rank


def _sparsemax_last_axis(z: Tensor) -> Tensor:
    """sparsemax over the last axis of float z (known length), in z's dtype."""
    size = z.shape[-1]
    # The projection does not change when a constant is added to a row: subtracting the
    # row's maximum puts the largest score at 0, so cumulative sums and the threshold
    # stay small (exact at logits of +-1e4 in float32). No gradient is lost by stopping
    # it here: the Jacobian's rows sum to 0, so a shift common to the row contributes 0.
    z = z - ops.stop_gradient(ops.max(z, axis=-1, keepdims=True))
    # The support size k(z) from the sorted scores; the sort only decides which classes
    # are in the support, so no gradient flows through it.
    z_sorted = -ops.sort(-ops.stop_gradient(z), axis=-1)
    partial_sums = cumsum(z_sorted, axis=-1)
    rank = ops.arange(1, size + 1, dtype=z.dtype)
    in_support = 1.0 + rank * z_sorted > partial_sums
    # k >= 1 on every finite row (the largest score, 0 after the shift, always passes);
    # the floor keeps the gather in range on a row of NaN, which is set to NaN below.
    k = ops.maximum(ops.sum(ops.cast(in_support, "int32"), axis=-1, keepdims=True), 1)
    threshold = (ops.take_along_axis(partial_sums, k - 1, axis=-1) - 1.0) / ops.cast(k, z.dtype)
    support = z > threshold
    # The threshold again, as a sum over the support in the original order: its
    # gradient is the paper's Jacobian, diag(s) - s s^T / |S|, with no sort to
    # differentiate. `where`, not a product with the support: a class outside it may
    # hold -inf.
    total = ops.sum(ops.where(support, z, ops.zeros_like(z)), axis=-1, keepdims=True)
    tau = (total - 1.0) / ops.sum(ops.cast(support, z.dtype), axis=-1, keepdims=True)
    gap = z - tau
    p = ops.where(support & (gap > 0), gap, ops.zeros_like(gap))
    # A NaN score would otherwise just fall out of the support; the whole row is NaN.
    has_nan = ops.any(ops.isnan(z), axis=-1, keepdims=True)
    return ops.where(has_nan, constant(float("nan"), z.dtype), p)


def sparsemax(logits: TensorLike, axis: int = -1) -> Tensor:
    """Sparsemax: the Euclidean projection of scores onto the probability simplex.

    The output is the probability vector closest to the scores: a row sums to 1, and
    classes scored more than a threshold below the best get exactly 0. Computed with a
    sort and cumulative sums (O(C log C) per row, no loop over classes); its gradient is
    the paper's Jacobian, so it can be trained through like softmax.

    Formula:

    ```python
    # per row z = logits along `axis`, z_(1) >= z_(2) >= ... sorted
    k = max{j : 1 + j * z_(j) > z_(1) + ... + z_(j)}        # the support size
    tau = (z_(1) + ... + z_(k) - 1) / k
    sparsemax(z) = max(z - tau, 0)       # = argmin_{p in simplex} ||p - z||^2
    # Jacobian: d p / d z = diag(s) - s s^T / k, s the 0/1 indicator of p > 0
    ```

    A score of -inf gets 0 (a class masked out); a row with a NaN is NaN; a row whose
    largest score is +inf, or whose scores are all -inf, is NaN too.

    Keras 3's own `keras.ops.sparsemax` differs (in Keras 3.15 its rows with two or
    more classes in the support do not sum to 1). Because the names are the same, a
    model saved with `Dense(C, activation=kerasloss.ops.sparsemax)` is stored as the
    activation "sparsemax" and reloads with Keras' function: keep this one out of
    saved models, for example apply it to the logits the model predicts.

    Args:
        logits: scores, a float tensor (integers become Keras' float type) with a known
            length along `axis`.
        axis: the axis of the classes.

    Returns:
        The probabilities, the shape of `logits`, in `logits`' dtype (16-bit inputs are
        computed in float32 and cast back).

    Raises:
        TypeError: if `axis` is not an integer.
        ValueError: if `logits` is a scalar, `axis` is out of range, or the length
            along `axis` is unknown.

    Example:
        >>> p = sparsemax([[1.0, 0.8, 0.1], [3.0, 1.0, 0.0]])
        >>> print(keras.ops.convert_to_numpy(p))  # tau = 0.4, then tau = 2
        [[0.6 0.4 0. ]
         [1.  0.  0. ]]
        >>> print(keras.ops.convert_to_numpy(keras.ops.sum(p, axis=-1)))
        [1. 1.]

    Reference: Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of
    Attention and Multi-Label Classification", ICML 2016.
    """
    x, dtype = to_working(logits)
    rank = len(x.shape)
    axis = _check_axis(axis, rank)
    if x.shape[axis] is None:
        raise ValueError(
            f"`logits` must have a known length along `axis` ({axis}); got shape {tuple(x.shape)}."
        )
    last = rank - 1
    if axis != last:
        x = ops.moveaxis(x, axis, last)
    p = _sparsemax_last_axis(x)
    if axis != last:
        p = ops.moveaxis(p, last, axis)
    return ops.cast(p, dtype)
