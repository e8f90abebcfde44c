"""Pair losses on labelled embeddings: contrastive, multi-similarity and lifted structure.

Each loss compares every anchor (a row of the batch) with a reference set, the batch
itself unless `ref_embeddings` and `ref_labels` are given, through one (B, M) matrix of
distances or cosine similarities and the positive and negative masks of
`kerasloss._internal.pairs`: memory is O(B M), with no (B, M, M) tensor. The per-anchor
values average to pytorch-metric-learning's loss with its default reducer. Each loss
is computed by one `_*_from_pairs` function of those `Pairs`, which the public function
and the `PairLoss` class share, so the same formula also runs against a memory of
past batches.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasloss._internal import distances as _distances
from kerasloss._internal.base import PairLoss
from kerasloss._internal.checks import check_real
from kerasloss._internal.dtypes import constant, positive_part
from kerasloss._internal.masking import keep_nonfinite, masked_logsumexp
from kerasloss._internal.pairs import Pairs, reference_pairs
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = [
    "ContrastiveLoss",
    "LiftedStructureLoss",
    "MultiSimilarityLoss",
    "contrastive_loss",
    "lifted_structure_loss",
    "multi_similarity_loss",
]

# Cosine similarities lie in [-1, 1] (a rounding beyond it is far below 1): a fill of
# +-3 can never be a row's max or min while the row has a selected entry.
_COSINE_FILL = 3.0


# ------------------------------------------------------------------ shared pieces


def _margin_hyper(pos_margin: object, neg_margin: object, distance: object) -> dict[str, Any]:
    """The validated hyper-parameters of the contrastive and lifted structure losses."""
    return {
        "pos_margin": check_real("pos_margin", pos_margin, low=0.0),
        "neg_margin": check_real("neg_margin", neg_margin, low=0.0),
        "distance": _distances.check_distance(distance),
    }


def _check_positive(name: str, value: object) -> float:
    """A finite real number > 0; TypeError or ValueError naming `name` otherwise."""
    number = check_real(name, value)
    if number <= 0:
        raise ValueError(f"`{name}` must be > 0; got {number}.")
    return number


def _pair_distances(pairs: Pairs, distance: str) -> Tensor:
    """d(anchor i, reference j), (B, M), in the working dtype (exact 0 diagonal on a batch)."""
    return _distances.pairwise_distances(
        pairs.embeddings, distance, None if pairs.same else pairs.ref
    )


def _pair_similarities(pairs: Pairs) -> Tensor:
    """cos(anchor i, reference j), (B, M), in the working dtype; 0 for a zero embedding."""
    return _distances.cosine_similarities(pairs.embeddings, None if pairs.same else pairs.ref)


def _keep_nan(values: Tensor, matrix: Tensor, pairs: Pairs) -> Tensor:
    """`values`, NaN for each anchor whose embedding or a paired reference is NaN or
    infinite, or whose paired entry of `matrix` is NaN (`masking.keep_nonfinite`)."""
    paired = ops.logical_or(pairs.positive, pairs.negative)
    return keep_nonfinite(values, matrix, paired, pairs.embeddings, pairs.ref)


def _log_one_plus_sum_exp(x: Tensor, mask: Tensor) -> Tensor:
    """log(1 + sum_{j: mask_j} exp(x_j)) over the last axis: 0 on an empty row, finite.

    The shift s >= 0 is at least every selected entry, so no `exp` overflows and the 1
    is exp(-s); log1p keeps the digits of a sum far below 1 (easy pairs with a large
    alpha or beta), where log(1 + sum) would round it to 0.
    """
    zero = ops.zeros_like(x)
    shift = ops.stop_gradient(positive_part(ops.max(ops.where(mask, x, zero), axis=-1)))
    terms = ops.where(mask, ops.exp(ops.where(mask, x - shift[:, None], zero)), zero)
    # shift > 0 comes from a selected entry, whose term is exp(0) = 1: the sum is >= 1
    # and the argument of log1p > 0; with shift = 0 it is the plain sum.
    return shift + ops.log1p(ops.sum(terms, axis=-1) + ops.expm1(-shift))


def _count_share(terms: Tensor) -> Tensor:
    """Each row's sum of `terms` over the count of non-zero terms in the matrix (1 if none)."""
    count = ops.sum(ops.cast(terms > 0, terms.dtype))
    return ops.sum(terms, axis=-1) / ops.where(count > 0, count, ops.ones_like(count))


# ------------------------------------------------------------------ contrastive


def _contrastive_from_pairs(
    pairs: Pairs, *, pos_margin: float, neg_margin: float, distance: str
) -> Tensor:
    """Per-anchor contrastive values, (B,) in `pairs.dtype`, against any reference set."""
    d = _pair_distances(pairs, distance)
    zero = ops.zeros_like(d)
    pos_terms = ops.where(pairs.positive, positive_part(d - constant(pos_margin, d.dtype)), zero)
    neg_terms = ops.where(pairs.negative, positive_part(constant(neg_margin, d.dtype) - d), zero)
    # Each side is averaged over its non-zero pair terms in the whole batch; anchor i
    # takes B times its share, so the mean over the anchors is that average.
    anchors = ops.cast(ops.shape(d)[0], d.dtype)
    values = anchors * (_count_share(pos_terms) + _count_share(neg_terms))
    return ops.cast(_keep_nan(values, d, pairs), pairs.dtype)


@register
def contrastive_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    distance: str = "euclidean",
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Tensor:
    """Contrastive loss over every pair of a batch of labelled embeddings.

    Positive pairs (same label) are pulled within `pos_margin` of each other, negative
    pairs (different labels) pushed beyond `neg_margin`. Each side is averaged over its
    pairs whose term is non-zero, and the two averages are added: pytorch-metric-learning's
    `ContrastiveLoss` with its default `AvgNonZeroReducer`.

    Formula:

    ```python
    # d(i, j): distance from anchor i to reference j; P, N: the positive and negative
    # pairs (i, j), over the whole batch (an anchor is never its own positive)
    pos = [max(d(i, j) - pos_margin, 0) for (i, j) in P]
    neg = [max(neg_margin - d(i, j), 0) for (i, j) in N]
    loss = sum(pos) / max(count(pos > 0), 1) + sum(neg) / max(count(neg > 0), 1)
    # distance="euclidean":         d = ||a - b||
    # distance="squared_euclidean": d = ||a - b||^2
    # distance="cosine":            d = 1 - cos(a, b)
    ```

    The loss couples the batch. The value of anchor i is B times its share of it,
    `B * (sum_j pos(i, j) / count(pos > 0) + sum_j neg(i, j) / count(neg > 0))`, so
    the mean over the anchors is the loss. In pytorch-metric-learning's terms,
    "euclidean" and "squared_euclidean" are `LpDistance(normalize_embeddings=False)`
    with `power=1` and `power=2`; "cosine" with margins (m_p, m_n) equals its
    `CosineSimilarity()` with `pos_margin=1 - m_p, neg_margin=1 - m_n`.

    Degenerate batches give finite values and finite gradients: an anchor without
    positives (or negatives) has no term of that side; a one-class batch gives the
    positive average only, an all-singleton batch the negative average only, and a
    batch with every term zero gives 0. All-identical embeddings are at distance 0
    (gradient 0 there, as in pytorch-metric-learning): the loss is `neg_margin` when
    there is a negative pair. A zero vector is at cosine distance 1 from everything.
    The count of non-zero terms is sensitive at 0: with `pos_margin=0`, a positive pair
    of two copies of one embedding (other than an anchor with itself) may compute to a
    distance of rounding size and then counts, as in pytorch-metric-learning. One difference
    from it: with at most one positive and one negative pair in the whole batch (only
    possible against a reference set) it returns 0; this computes their terms.

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly.
        y_pred: embeddings, shape (B, D).
        pos_margin: distance under which a positive pair costs nothing, a finite
            number >= 0.
        neg_margin: distance beyond which a negative pair costs nothing, a finite
            number >= 0.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        ref_embeddings: optional reference embeddings (M, D) to pair the anchors with
            instead of the batch (a gallery, a memory of past batches). Every reference
            of the same label is a positive, the anchor's own copy included.
        ref_labels: the labels of `ref_embeddings`, shape (M,) or (M, 1); given
            together with them.

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        TypeError: if a margin is not a real number.
        ValueError: if a margin is negative or not finite, `distance` is unknown, a
            shape is wrong (labels not (B,) or (B, 1), embeddings not 2-D, sizes that
            differ), or only one of `ref_embeddings` and `ref_labels` is given.

    Example:
        >>> labels = [0, 0, 1]
        >>> points = [[0.0, 0.0], [0.0, 0.5], [0.0, 1.25]]
        >>> values = contrastive_loss(labels, points)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.75 1.125 0.375]
        >>> print(float(keras.ops.mean(values)))  # 0.5 + 0.25
        0.75

        The positive pair (0, 1) is at distance 0.5, counted from both ends: average
        0.5. Of the negative pairs only (1, 2) is within the margin, at 0.75, also
        counted twice: average 1 - 0.75 = 0.25.

    Reference: Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an
    Invariant Mapping", CVPR 2006.
    """
    hyper = _margin_hyper(pos_margin, neg_margin, distance)
    return _contrastive_from_pairs(
        reference_pairs(y_true, y_pred, ref_embeddings, ref_labels), **hyper
    )


@register
class ContrastiveLoss(PairLoss):
    """Contrastive loss over every pair of each batch of labelled embeddings.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction the value is pytorch-metric-learning's `ContrastiveLoss` (its
    `AvgNonZeroReducer`): positive pairs pulled within `pos_margin`, negative pairs
    pushed beyond `neg_margin`, each side averaged over its non-zero pair terms.

    Formula:

    ```python
    # d(i, j): distance from anchor i to reference j; P, N: the positive and negative
    # pairs (i, j), over the whole batch (an anchor is never its own positive)
    pos = [max(d(i, j) - pos_margin, 0) for (i, j) in P]
    neg = [max(neg_margin - d(i, j), 0) for (i, j) in N]
    loss = sum(pos) / max(count(pos > 0), 1) + sum(neg) / max(count(neg > 0), 1)
    # distance="euclidean":         d = ||a - b||
    # distance="squared_euclidean": d = ||a - b||^2
    # distance="cosine":            d = 1 - cos(a, b)
    ```

    `reduction=None` gives each anchor's value v_i = B * (its share of the loss), whose
    mean is the loss; `sample_weight` w gives sum_i w_i v_i / B. A one-class or an
    all-singleton batch, identical or zero embeddings give finite values and gradients
    (`contrastive_loss` lists the values).

    Args:
        pos_margin: distance under which a positive pair costs nothing, a finite
            number >= 0.
        neg_margin: distance beyond which a negative pair costs nothing, a finite
            number >= 0.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        per_replica: False (the default) mines each batch whole: in a data-parallel step
            the replicas gather their embeddings and labels, so the loss and gradients
            equal one device's on the global batch. True mines within each replica's
            slice only. See docs/distributed.md.
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`.

    Raises:
        TypeError: if a margin is not a real number.
        ValueError: if a margin is negative or not finite or `distance` is unknown;
            when called, if `y_true` is not (B,) or (B, 1) or `y_pred` is not (B, D).

    Example:
        >>> labels = [0, 0, 1]
        >>> points = [[0.0, 0.0], [0.0, 0.5], [0.0, 1.25]]
        >>> print(float(ContrastiveLoss()(labels, points)))  # 0.5 + (1 - 0.75)
        0.75
        >>> loss = ContrastiveLoss(neg_margin=0.5)
        >>> print(float(loss(labels, points)))  # no negative pair within 0.5
        0.5

    Reference: Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an
    Invariant Mapping", CVPR 2006.
    """

    def __init__(
        self,
        *,
        pos_margin: float = 0.0,
        neg_margin: float = 1.0,
        distance: str = "euclidean",
        per_replica: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "contrastive_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            contrastive_loss,
            _contrastive_from_pairs,
            name=name,
            reduction=reduction,
            dtype=dtype,
            per_replica=per_replica,
            **_margin_hyper(pos_margin, neg_margin, distance),
        )


# ------------------------------------------------------------------ multi-similarity


def _multi_similarity_hyper(
    alpha: object, beta: object, base: object, mining_epsilon: object
) -> dict[str, Any]:
    """The validated hyper-parameters of `multi_similarity_loss`, shared with its class."""
    return {
        "alpha": _check_positive("alpha", alpha),
        "beta": _check_positive("beta", beta),
        "base": check_real("base", base),
        "mining_epsilon": check_real("mining_epsilon", mining_epsilon, low=0.0, allow_none=True),
    }


def _hard_pairs(
    s: Tensor, positive: Tensor, negative: Tensor, epsilon: float
) -> tuple[Tensor, Tensor]:
    """The multi-similarity miner: positives less similar than the most similar negative
    plus epsilon, negatives more similar than the least similar positive minus epsilon.

    The extremes are plain masked max / min with a fill no cosine reaches, so they are
    the entries themselves, bit for bit: the comparisons are pytorch-metric-learning's
    own. An anchor with no negative keeps no positive, and the reverse.
    """
    s = ops.stop_gradient(s)
    fill = ops.full_like(s, _COSINE_FILL)
    hardest_negative = ops.max(ops.where(negative, s, -fill), axis=-1, keepdims=True)
    hardest_positive = ops.min(ops.where(positive, s, fill), axis=-1, keepdims=True)
    eps = constant(epsilon, s.dtype)
    has_positive = ops.any(positive, axis=-1, keepdims=True)
    has_negative = ops.any(negative, axis=-1, keepdims=True)
    hard_positive = ops.logical_and(positive, s - eps < hardest_negative)
    hard_negative = ops.logical_and(negative, s + eps > hardest_positive)
    return (
        ops.logical_and(hard_positive, has_negative),
        ops.logical_and(hard_negative, has_positive),
    )


def _multi_similarity_from_pairs(
    pairs: Pairs, *, alpha: float, beta: float, base: float, mining_epsilon: float | None
) -> Tensor:
    """Per-anchor multi-similarity values, (B,) in `pairs.dtype`, against any reference set."""
    s = _pair_similarities(pairs)
    positive, negative = pairs.positive, pairs.negative
    if mining_epsilon is not None:
        positive, negative = _hard_pairs(s, positive, negative, mining_epsilon)
    a, b, lam = (constant(v, s.dtype) for v in (alpha, beta, base))
    pos = _log_one_plus_sum_exp(a * (lam - s), positive) / a
    neg = _log_one_plus_sum_exp(b * (s - lam), negative) / b
    return ops.cast(_keep_nan(pos + neg, s, pairs), pairs.dtype)


@register
def multi_similarity_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    mining_epsilon: float | None = None,
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Tensor:
    """Multi-similarity loss of a batch of labelled embeddings, on cosine similarities.

    Each anchor's positives are weighted by a soft maximum of how far their similarity
    falls below `base`, its negatives by how far theirs rises above it; `alpha` and
    `beta` set how sharply the hardest pairs dominate. With `mining_epsilon`, only the
    pairs the paper's mining step keeps enter the sums. This is pytorch-metric-learning's
    `MultiSimilarityLoss` (mean over the anchors), and with `mining_epsilon=e` its loss
    on the pairs of `MultiSimilarityMiner(epsilon=e)`.

    Formula:

    ```python
    # S[i, j]: cosine similarity of anchor i and reference j; P_i, N_i: the positives
    # and negatives of anchor i (never i itself)
    loss_i = (log(1 + sum_{p in P_i} exp(alpha * (base - S[i, p]))) / alpha
              + log(1 + sum_{n in N_i} exp(beta * (S[i, n] - base))) / beta)
    loss = mean_i loss_i
    # mining_epsilon=e keeps, per anchor, only
    #   the positives p with S[i, p] - e < max_{n in N_i} S[i, n]
    #   the negatives n with S[i, n] + e > min_{p in P_i} S[i, p]
    ```

    Each anchor's value is its own term loss_i. Degenerate batches give finite values
    and gradients: a side with no pair contributes 0, so a one-class batch gives only
    the positive terms and an all-singleton batch only the negative terms; with
    `mining_epsilon`, an anchor that lacks positives or negatives keeps no pair at all
    and gives 0 (so do both degenerate batches). All-identical embeddings have S = 1:
    log(1 + |P_i| exp(alpha (base - 1))) / alpha + log(1 + |N_i| exp(beta (1 - base))) / beta.
    A zero vector has similarity 0 with everything.

    One difference from pytorch-metric-learning: when at most one positive and at most
    one negative pair are left in the whole batch (after mining, or against a reference
    set), it returns 0; this computes those pairs' terms.

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly.
        y_pred: embeddings, shape (B, D); only their directions matter.
        alpha: the sharpness of the positive terms, a finite number > 0.
        beta: the sharpness of the negative terms, a finite number > 0.
        base: the similarity the positive and negative terms are measured from, a
            finite number.
        mining_epsilon: None (every pair), or the mining margin, a finite number >= 0.
        ref_embeddings: optional reference embeddings (M, D) to pair the anchors with
            instead of the batch. Every reference of the same label is a positive, the
            anchor's own copy included.
        ref_labels: the labels of `ref_embeddings`, shape (M,) or (M, 1); given
            together with them.

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        TypeError: if `alpha`, `beta`, `base` or `mining_epsilon` is not a real number.
        ValueError: if `alpha` or `beta` is not > 0, a hyper-parameter is not finite,
            `mining_epsilon` is negative, a shape is wrong, or only one of
            `ref_embeddings` and `ref_labels` is given.

    Example:
        >>> labels = [0, 0, 1]
        >>> vectors = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]  # cosines 0.8, 0.0, 0.6
        >>> values = multi_similarity_loss(labels, vectors)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.2187 0.3189 0.1001]

        The first anchor: log(1 + exp(2 (0.5 - 0.8))) / 2 = 0.2187 for its positive, and
        log(1 + exp(50 (0.0 - 0.5))) / 50, about 3e-13, for its negative. The second adds
        log(1 + exp(50 (0.6 - 0.5))) / 50 = 0.1001 for its negative.

    Reference: Wang, Han, Huang, Dong and Scott, "Multi-Similarity Loss with General
    Pair Weighting for Deep Metric Learning", CVPR 2019.
    """
    hyper = _multi_similarity_hyper(alpha, beta, base, mining_epsilon)
    return _multi_similarity_from_pairs(
        reference_pairs(y_true, y_pred, ref_embeddings, ref_labels), **hyper
    )


@register
class MultiSimilarityLoss(PairLoss):
    """Multi-similarity loss of each batch of labelled embeddings, on cosine similarities.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction the value is pytorch-metric-learning's `MultiSimilarityLoss`, and
    with `mining_epsilon=e` its loss on the pairs of `MultiSimilarityMiner(epsilon=e)`.

    Formula:

    ```python
    # S[i, j]: cosine similarity of anchor i and reference j; P_i, N_i: the positives
    # and negatives of anchor i (never i itself)
    loss_i = (log(1 + sum_{p in P_i} exp(alpha * (base - S[i, p]))) / alpha
              + log(1 + sum_{n in N_i} exp(beta * (S[i, n] - base))) / beta)
    loss = mean_i loss_i
    # mining_epsilon=e keeps, per anchor, only
    #   the positives p with S[i, p] - e < max_{n in N_i} S[i, n]
    #   the negatives n with S[i, n] + e > min_{p in P_i} S[i, p]
    ```

    `reduction=None` gives each anchor's term loss_i. A side with no pair contributes
    0; with mining, an anchor lacking positives or negatives gives 0. Identical or zero
    embeddings give finite values and gradients (`multi_similarity_loss` lists them).

    Args:
        alpha: the sharpness of the positive terms, a finite number > 0.
        beta: the sharpness of the negative terms, a finite number > 0.
        base: the similarity the terms are measured from, a finite number.
        mining_epsilon: None (every pair), or the mining margin, a finite number >= 0.
        per_replica: False (the default) mines each batch whole: in a data-parallel step
            the replicas gather their embeddings and labels, so the loss and gradients
            equal one device's on the global batch. True mines within each replica's
            slice only. See docs/distributed.md.
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`.

    Raises:
        TypeError: if `alpha`, `beta`, `base` or `mining_epsilon` is not a real number.
        ValueError: if `alpha` or `beta` is not > 0, a hyper-parameter is not finite or
            `mining_epsilon` is negative; when called, if `y_true` is not (B,) or (B, 1)
            or `y_pred` is not (B, D).

    Example:
        >>> labels = [0, 0, 1]
        >>> vectors = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]  # cosines 0.8, 0.0, 0.6
        >>> loss = MultiSimilarityLoss(mining_epsilon=0.25, reduction=None)
        >>> print(keras.ops.convert_to_numpy(loss(labels, vectors)))
        [0.0 0.3189 0.0]

        Only the second anchor keeps pairs: its positive (0.8 - 0.25 < 0.6) and its
        negative (0.6 + 0.25 > 0.8). The first anchor's negative, at similarity 0.0,
        is too easy to keep its positive or itself; the third has no positive.

    Reference: Wang, Han, Huang, Dong and Scott, "Multi-Similarity Loss with General
    Pair Weighting for Deep Metric Learning", CVPR 2019.
    """

    def __init__(
        self,
        *,
        alpha: float = 2.0,
        beta: float = 50.0,
        base: float = 0.5,
        mining_epsilon: float | None = None,
        per_replica: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "multi_similarity_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            multi_similarity_loss,
            _multi_similarity_from_pairs,
            name=name,
            reduction=reduction,
            dtype=dtype,
            per_replica=per_replica,
            **_multi_similarity_hyper(alpha, beta, base, mining_epsilon),
        )


# ------------------------------------------------------------------ lifted structure


def _lifted_structure_from_pairs(
    pairs: Pairs, *, pos_margin: float, neg_margin: float, distance: str
) -> Tensor:
    """Per-anchor lifted structure values, (B,) in `pairs.dtype`, against any reference set."""
    d = _pair_distances(pairs, distance)
    has_positive = ops.any(pairs.positive, axis=-1)
    has_negative = ops.any(pairs.negative, axis=-1)
    pos = masked_logsumexp(d - constant(pos_margin, d.dtype), pairs.positive, has_positive)
    neg = masked_logsumexp(constant(neg_margin, d.dtype) - d, pairs.negative, has_negative)
    return ops.cast(_keep_nan(positive_part(pos + neg), d, pairs), pairs.dtype)


@register
def lifted_structure_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    distance: str = "euclidean",
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Tensor:
    """Generalized lifted structure loss of a batch of labelled embeddings.

    Per anchor, a soft maximum of its positive distances and a soft minimum of its
    negative distances, in a hinge: the loss is zero once every positive is well
    inside and every negative well outside the margins. pytorch-metric-learning's
    `GeneralizedLiftedStructureLoss` (mean over the anchors).

    Formula:

    ```python
    # d(i, j): distance from anchor i to reference j; P_i, N_i: the positives and
    # negatives of anchor i (never i itself); an empty log-sum-exp counts as 0
    loss_i = max(0, log(sum_{p in P_i} exp(d(i, p) - pos_margin))
                    + log(sum_{n in N_i} exp(neg_margin - d(i, n))))
    loss = mean_i loss_i
    # distance="euclidean":         d = ||a - b||
    # distance="squared_euclidean": d = ||a - b||^2
    # distance="cosine":            d = 1 - cos(a, b)
    ```

    Each anchor's value is its own term loss_i. In pytorch-metric-learning's terms,
    "euclidean" and "squared_euclidean" are `LpDistance(normalize_embeddings=False)`
    with `power=1` and `power=2`; "cosine" with margins (m_p, m_n) equals its
    `CosineSimilarity()` with `pos_margin=1 - m_p, neg_margin=1 - m_n`.

    Degenerate batches give finite values and gradients: an anchor without positives
    (or negatives) has no term of that side, one with neither gives 0. A one-class
    batch gives max(0, log sum_p exp(d(i, p) - pos_margin)), an all-singleton batch
    max(0, log sum_n exp(neg_margin - d(i, n))). All-identical embeddings (d = 0,
    gradient 0) give max(0, log |P_i| - pos_margin + log |N_i| + neg_margin). A zero
    vector is at cosine distance 1 from everything. One difference from
    pytorch-metric-learning: with at most one positive and one negative pair in the
    whole batch (only possible against a reference set) it returns 0; this computes
    their terms.

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly.
        y_pred: embeddings, shape (B, D).
        pos_margin: subtracted from the positive distances, a finite number >= 0.
        neg_margin: the distance negatives are pushed beyond, a finite number >= 0.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        ref_embeddings: optional reference embeddings (M, D) to pair the anchors with
            instead of the batch. Every reference of the same label is a positive, the
            anchor's own copy included.
        ref_labels: the labels of `ref_embeddings`, shape (M,) or (M, 1); given
            together with them.

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        TypeError: if a margin is not a real number.
        ValueError: if a margin is negative or not finite, `distance` is unknown, a
            shape is wrong, or only one of `ref_embeddings` and `ref_labels` is given.

    Example:
        >>> labels = [0, 0, 1]
        >>> points = [[0.0, 0.0], [0.0, 0.5], [0.0, 1.25]]
        >>> values = lifted_structure_loss(labels, points)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.25 0.75 0.7241]

        The first anchor: its positive at 0.5 and its negative at 1.25 give
        0.5 + (1 - 1.25) = 0.25. The third has no positive: log(exp(1 - 1.25) +
        exp(1 - 0.75)) = 0.7241.

    Reference: Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv:1703.07737, 2017 (the generalized form); Oh Song, Xiang,
    Jegelka and Savarese, "Deep Metric Learning via Lifted Structured Feature
    Embedding", CVPR 2016.
    """
    hyper = _margin_hyper(pos_margin, neg_margin, distance)
    return _lifted_structure_from_pairs(
        reference_pairs(y_true, y_pred, ref_embeddings, ref_labels), **hyper
    )


@register
class LiftedStructureLoss(PairLoss):
    """Generalized lifted structure loss of each batch of labelled embeddings.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction the value is pytorch-metric-learning's
    `GeneralizedLiftedStructureLoss`: per anchor, a soft maximum of the positive
    distances and a soft minimum of the negative distances in a hinge.

    Formula:

    ```python
    # d(i, j): distance from anchor i to reference j; P_i, N_i: the positives and
    # negatives of anchor i (never i itself); an empty log-sum-exp counts as 0
    loss_i = max(0, log(sum_{p in P_i} exp(d(i, p) - pos_margin))
                    + log(sum_{n in N_i} exp(neg_margin - d(i, n))))
    loss = mean_i loss_i
    # distance="euclidean":         d = ||a - b||
    # distance="squared_euclidean": d = ||a - b||^2
    # distance="cosine":            d = 1 - cos(a, b)
    ```

    `reduction=None` gives each anchor's term loss_i. A side with no pair contributes
    0; identical or zero embeddings give finite values and gradients
    (`lifted_structure_loss` lists the values).

    Args:
        pos_margin: subtracted from the positive distances, a finite number >= 0.
        neg_margin: the distance negatives are pushed beyond, a finite number >= 0.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        per_replica: False (the default) mines each batch whole: in a data-parallel step
            the replicas gather their embeddings and labels, so the loss and gradients
            equal one device's on the global batch. True mines within each replica's
            slice only. See docs/distributed.md.
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`.

    Raises:
        TypeError: if a margin is not a real number.
        ValueError: if a margin is negative or not finite or `distance` is unknown;
            when called, if `y_true` is not (B,) or (B, 1) or `y_pred` is not (B, D).

    Example:
        >>> labels = [0, 0, 1]
        >>> points = [[0.0, 0.0], [0.0, 0.5], [0.0, 1.25]]
        >>> print(float(LiftedStructureLoss()(labels, points)))  # (0.25 + 0.75 + 0.7241) / 3
        0.5747

        The anchors' terms are 0.5 + (1 - 1.25), 0.5 + (1 - 0.75) and, for the third,
        which has no positive, log(exp(1 - 1.25) + exp(1 - 0.75)).

    Reference: Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv:1703.07737, 2017 (the generalized form); Oh Song, Xiang,
    Jegelka and Savarese, "Deep Metric Learning via Lifted Structured Feature
    Embedding", CVPR 2016.
    """

    def __init__(
        self,
        *,
        pos_margin: float = 0.0,
        neg_margin: float = 1.0,
        distance: str = "euclidean",
        per_replica: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "lifted_structure_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            lifted_structure_loss,
            _lifted_structure_from_pairs,
            name=name,
            reduction=reduction,
            dtype=dtype,
            per_replica=per_replica,
            **_margin_hyper(pos_margin, neg_margin, distance),
        )
