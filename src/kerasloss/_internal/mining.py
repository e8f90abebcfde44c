"""Triplet mining strategies, and the sorted searches they share, all in O(B * M) memory.

Each strategy takes a distance matrix D (B, M), row = anchor, column = an entry of the
reference set (the batch itself, M = B, or a memory or gallery of M embeddings), and
the positive and negative masks (B, M) of `pairs.label_masks`, and returns one value
per anchor whose mean is the loss. An entry in neither mask (an anchor with itself, an
empty memory slot, an anchor's own copy in a memory) is never a positive or a
negative; where TensorFlow Addons falls back on the row minimum or maximum, the row is
the compared entries plus the anchor itself, at its distance to itself `self_distance`
(see `with_self`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from keras import ops

from kerasloss._internal.checks import check_real
from kerasloss._internal.dtypes import constant, cumsum, positive_part
from kerasloss._internal.masking import masked_max, masked_min
from kerasloss._internal.types import Tensor, TensorLike

MINING = ("batch_hard", "semi_hard", "batch_all")


def check_mining(mining: object) -> str:
    """One of `MINING`; ValueError naming `mining` otherwise."""
    if mining not in MINING:
        raise ValueError(f"`mining` must be one of {MINING}; got {mining!r}.")
    return str(mining)


def check_margin(margin: object) -> float:
    """A finite margin >= 0."""
    return check_real("margin", margin, low=0.0)


def sorted_by_mask(x: TensorLike, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Each row's masked entries in ascending order, first, with O(B * M) memory.

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


def prefix_length(
    sorted_rows: Tensor,
    queries: Tensor,
    predicate: Callable[[Tensor, Tensor], Tensor],
    past_end: float = float("inf"),
) -> Tensor:
    """For each query q[a, j], the length of the prefix of row a where predicate(v, q) holds.

    `predicate(v, q)` must hold on a prefix of each row of `sorted_rows` (B, M) (true,
    then false) and never for v = `past_end`; `queries` is (B, Q). A batched binary
    search made of gathers, because `keras.ops.searchsorted` takes 1-D sequences only:
    O(B * (M + Q)) memory and ceil(log2(M + 1)) steps, or 31 steps (enough for any int32
    length) when M is not known while tracing. Returns int32 counts, without gradient.
    """
    width = sorted_rows.shape[-1]
    if width is None:
        return _prefix_length_of_unknown_width(sorted_rows, queries, predicate)
    steps = max(1, math.ceil(math.log2(width + 1)))
    # Binary lifting on `last`, the index of the last entry known to satisfy the
    # predicate (-1: none yet): it only grows, by 2^k, 2^(k-1), ..., 1, while the entry
    # it would move to still satisfies it. The rows are padded with `past_end` to the
    # 2^steps - 1 entries the largest step can reach, so no index needs a clip.
    rows = ops.pad(sorted_rows, [(0, 0), (0, (1 << steps) - 1 - width)], constant_values=past_end)
    last = ops.full(ops.shape(queries), -1, dtype="int32")
    for k in reversed(range(steps)):
        candidate = last + (1 << k)
        value = ops.take_along_axis(rows, candidate, axis=-1)
        last = ops.where(predicate(value, queries), candidate, last)
    return last + 1


def _prefix_length_of_unknown_width(
    sorted_rows: Tensor, queries: Tensor, predicate: Callable[[Tensor, Tensor], Tensor]
) -> Tensor:
    """`prefix_length` for rows whose length M is known only when the graph runs."""
    size = ops.cast(ops.shape(sorted_rows)[-1], "int32")
    # As `prefix_length`, with 31 steps and without the padding: a step past the end
    # reads the last entry; if that one satisfies the predicate, all do, and the final
    # clip gives M.
    length = ops.zeros_like(queries, dtype="int32")
    for k in reversed(range(31)):
        candidate = length + (1 << k)
        value = ops.take_along_axis(sorted_rows, ops.minimum(candidate, size) - 1, axis=-1)
        length = ops.where(predicate(value, queries), candidate, length)
    return ops.minimum(length, size)


# ------------------------------------------------------------------ strategies


def with_self(
    distances: Tensor, positive: Tensor, negative: Tensor, self_distance: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """D and the masks as a row of compared entries and the anchor itself, for the fallbacks.

    TensorFlow Addons' fallbacks take the minimum or maximum of a batch's whole row,
    whose only entry outside both masks is the anchor itself on the diagonal:
    `self_distance` None leaves such a (B, B) matrix as it is. Against a reference set,
    `self_distance` (B,) is each anchor's distance to itself, d(a, a): every entry in
    neither mask (an empty memory slot, an anchor's own copy) takes that value and one
    more column holds it, in neither mask, so the row minimum and maximum are those of
    the compared entries and of the anchor itself, whatever else the matrix holds. A
    NaN embedding still reaches the loss, through its compared entries and d(a, a).
    """
    if self_distance is None:
        return distances, positive, negative
    own = ops.cast(self_distance, distances.dtype)[:, None]
    compared = ops.logical_or(positive, negative)
    distances = ops.concatenate([ops.where(compared, distances, own), own], axis=1)
    outside = ops.zeros_like(positive[:, :1])
    return (
        distances,
        ops.concatenate([positive, outside], axis=1),
        ops.concatenate([negative, outside], axis=1),
    )


def batch_hard(
    distances: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    margin: float,
    soft: bool = False,
    self_distance: Tensor | None = None,
) -> Tensor:
    """Hardest positive and hardest negative per anchor (TensorFlow Addons' TripletHardLoss).

    loss_a = max(max_p D[a, p] - min_n D[a, n] + margin, 0), or with `soft`,
    softplus(max_p D[a, p] - min_n D[a, n]) with no margin. Without positives the
    hardest positive is the row minimum, without negatives the hardest negative is the
    row maximum, as in TensorFlow Addons; every anchor counts in the mean. The row is
    the compared entries and the anchor itself (`with_self`): the minimum is then the
    anchor's distance to itself, d(a, a), as on TensorFlow Addons' diagonal.
    """
    distances, positive, negative = with_self(distances, positive, negative, self_distance)
    gap = masked_max(distances, positive) - masked_min(distances, negative)
    if soft:
        return ops.softplus(gap)  # log1p(exp(gap)) without overflow
    return positive_part(gap + constant(margin, distances.dtype))


def per_anchor_share(totals: Tensor, count: Tensor, distances: Tensor) -> Tensor:
    """totals_a * B / count: values whose mean is sum(totals) / count; zeros if count = 0."""
    dtype = distances.dtype
    batch = ops.cast(ops.shape(distances)[0], dtype)
    count = ops.cast(count, dtype)
    scale = ops.where(count > 0, batch / ops.where(count > 0, count, ops.ones_like(count)), 0)
    return totals * ops.cast(scale, dtype)


def suffix_min(x: Tensor, fill: int) -> Tensor:
    """min(x[:, j:]) for every column j of an int (B, M) tensor, in ceil(log2(M)) steps.

    A Hillis-Steele scan: each step takes the minimum with the rows shifted left by 1,
    2, 4, ... (padded with `fill`). Elementwise work only: on XLA's CPU backend each
    gather of a (B, M) search costs about as much as the sort. 31 steps (any int32
    length) when M is not known while tracing.
    """
    width = x.shape[-1]
    steps = max(1, math.ceil(math.log2(width))) if width is not None else 31
    for k in range(steps):
        shift = 1 << k
        # Slices, not a pad: past the row's end a pad by `shift` would allocate it.
        fills = ops.full_like(x[:, :shift], fill)
        x = ops.minimum(x, ops.concatenate([x[:, shift:], fills], axis=1))
    return x


def semi_hard(
    distances: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    margin: float,
    self_distance: Tensor | None = None,
) -> Tensor:
    """Semi-hard negatives per (anchor, positive) pair (TensorFlow Addons' TripletSemiHardLoss).

    For every pair (a, p) the negative is the closest one farther than p,
    min{D[a, n] : D[a, n] > D[a, p]}, or, if there is none, the farthest negative
    (the row minimum, d(a, a), if a has no negatives; see `with_self`). The loss
    is the mean over all pairs of max(margin + D[a, p] - D[a, n], 0); 0 with zero
    gradient when there is no pair. Memory O(B * M), time O(B * M log M): each row is
    sorted once, positives and negatives together; two scans find every positive's
    semi-hard negative in that order, where the pairs are then summed.
    """
    distances, positive, negative = with_self(distances, positive, negative, self_distance)
    dtype = distances.dtype
    width = ops.shape(distances)[1]
    compared = ops.logical_or(positive, negative)
    inf = ops.full_like(distances, float("inf"))
    order = ops.argsort(ops.stop_gradient(ops.where(compared, distances, inf)), axis=-1)
    values = ops.take_along_axis(distances, order, axis=-1)
    # One gather for both masks: 1 for a positive, 2 for a negative, 0 for neither.
    role = ops.take_along_axis(
        ops.cast(positive, "int32") + 2 * ops.cast(negative, "int32"), order, axis=-1
    )
    keys = ops.where(role > 0, ops.stop_gradient(values), inf)
    # The negatives farther than the entry at k (ties in any order) are those at or after
    # the first run start past k, where a larger value begins: the nearest of them is
    # the first negative at or after that run start.
    index = ops.broadcast_to(ops.arange(width, dtype="int32")[None, :], ops.shape(role))
    first_negative = suffix_min(ops.where(role == 2, index, width), width)
    starts = ops.greater(keys[:, 1:], keys[:, :-1])  # run starts at 1, ..., M - 1
    nearest = suffix_min(
        ops.pad(
            ops.where(starts, first_negative[:, 1:], width), [(0, 0), (0, 1)], constant_values=width
        ),
        width,
    )
    has_farther = ops.less(nearest, width)
    farther = ops.take_along_axis(values, ops.minimum(nearest, width - 1), axis=1)
    # (v - max) + max is TensorFlow Addons' masked-minimum rounding, kept for exactness.
    row_max = ops.max(distances, axis=1, keepdims=True)
    farther = (farther - row_max) + row_max
    farthest = masked_max(distances, negative)[:, None]
    chosen = ops.where(has_farther, farther, farthest)
    mask = ops.cast(ops.equal(role, 1), dtype)
    pair_loss = positive_part((constant(margin, dtype) + (values - chosen)) * mask)
    return per_anchor_share(ops.sum(pair_loss, axis=1), ops.sum(mask), distances)


def batch_all(distances: Tensor, positive: Tensor, negative: Tensor, *, margin: float) -> Tensor:
    """Mean over every triplet with a positive loss (Hermans et al.'s "batch all", BA≠0).

    Over all (a, p, n) with p a positive and n a negative of a, the mean of
    (D[a, p] - D[a, n]) + margin over the triplets where it is > 0; 0 with zero
    gradient when there is none (pytorch-metric-learning's TripletMarginLoss with
    AvgNonZeroReducer). Memory O(B * M): the violating negatives of a pair (a, p) are a
    prefix of a's sorted negatives, so a prefix length and a prefix sum per pair suffice.
    """
    dtype = distances.dtype
    keys, values, _ = sorted_by_mask(distances, negative)
    m = constant(margin, dtype)
    zero = ops.cast(0, dtype)
    # The test is (d_ap - d_an) + margin > 0 evaluated as written, as the reference does:
    # rearranged (d_an < d_ap + margin) it would count exact ties differently.
    violated = prefix_length(
        keys, ops.stop_gradient(distances), lambda value, query: (query - value) + m > zero
    )
    violated = ops.where(positive, violated, ops.zeros_like(violated))
    # The violating negatives of (a, p) are the first violated[a, p] of a's sorted row:
    # their distances sum to a prefix sum, gathered per pair.
    prefix = cumsum(values, axis=1)
    prefix = ops.concatenate([ops.zeros_like(prefix[:, :1]), prefix], axis=1)
    count = ops.cast(violated, dtype)
    totals = ops.sum(count * (distances + m), axis=1) - ops.sum(
        ops.take_along_axis(prefix, violated, axis=1), axis=1
    )
    return per_anchor_share(totals, ops.sum(count), distances)


STRATEGIES: dict[str, Callable[..., Tensor]] = {
    "batch_hard": batch_hard,
    "semi_hard": semi_hard,
    "batch_all": batch_all,
}
