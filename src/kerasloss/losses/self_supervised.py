"""Contrastive losses on cosine similarities: NT-Xent (SimCLR, InfoNCE) and SupCon.

Both compare each anchor of a batch of labelled embeddings with a reference set (the
batch itself, or `ref_embeddings` / `ref_labels`) through its cosine similarities
divided by a temperature, as a softmax over the reference set. NT-Xent scores each
positive pair against the anchor's negatives only; SupCon scores all the positives of
an anchor at once against every other entry. A self-supervised (SimCLR) batch is two
augmented views of each image, labelled by the image: with one positive per anchor the
two losses coincide.

Memory is O(B M) for B anchors and M reference embeddings (M = B for the batch itself):
one similarity matrix and its masks, never a (B, M, M) tensor.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PairLoss
from kerasloss._internal.distances import cosine_similarities
from kerasloss._internal.dtypes import constant, positive_part, unit_roundoff
from kerasloss._internal.masking import keep_nonfinite, masked_logsumexp
from kerasloss._internal.pairs import Pairs, reference_pairs
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["NTXentLoss", "SupConLoss", "nt_xent_loss", "supcon_loss"]


# --------------------------------------------------------------------------- shared pieces


def _temperature_hyper(temperature: object) -> dict[str, Any]:
    """The validated hyper-parameters of both losses: a finite temperature > 0."""
    value = _checks.check_real("temperature", temperature)
    if value <= 0:
        raise ValueError(f"`temperature` must be a finite number > 0; got {value}.")
    return {"temperature": value}


def _logits(pairs: Pairs, temperature: float) -> Tensor:
    """cos(anchor a, reference j) / temperature, (B, M), in the working dtype."""
    similarities = cosine_similarities(pairs.embeddings, None if pairs.same else pairs.ref)
    return similarities / constant(temperature, similarities.dtype)


def _softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)) to the last digit of float64, with the right gradient at 0.

    Not `ops.softplus`: torch returns x itself above x = 20, an error of 2e-9 that float64
    would show. exp only ever sees -|x|, so nothing overflows.
    """
    above = x > 0
    return positive_part(x) + ops.log1p(ops.exp(ops.where(above, -x, x)))


def _anchor_count(values: Tensor) -> Tensor:
    """The batch size B as a scalar of `values`' dtype (known only at run time on TensorFlow)."""
    return ops.cast(ops.shape(values)[0], values.dtype)


def _at_least_one(count: Tensor) -> Tensor:
    """count, or 1 where it is 0 (a divisor; `where`, as `maximum` rounds float64 on torch)."""
    return ops.where(count > 0, count, ops.ones_like(count))


def _keep_nonfinite(values: Tensor, logits: Tensor, pairs: Pairs) -> Tensor:
    """`values`, NaN for each anchor whose embedding or a paired reference is NaN or
    infinite: the products with the masks keep a NaN eagerly, but a compiled max (XLA's
    CPU reductions) may drop it before it reaches them."""
    paired = ops.logical_or(pairs.positive, pairs.negative)
    return keep_nonfinite(values, logits, paired, pairs.embeddings, pairs.ref)


# --------------------------------------------------------------------------- NT-Xent


def _nt_xent_from_pairs(pairs: Pairs, *, temperature: float) -> Tensor:
    """Per-anchor NT-Xent values (B,) of the anchors of `pairs`, in `pairs.dtype`."""
    logits = _logits(pairs, temperature)
    work = logits.dtype
    has_negative = ops.any(pairs.negative, axis=-1)
    # log sum_n exp(s_an / t) over the anchor's negatives, with finite fills.
    negatives = masked_logsumexp(logits, pairs.negative, has_negative)
    # -log(e^x / (e^x + e^L)) = softplus(L - x): no exp of a large number, and exact for
    # any temperature. An anchor without negatives has log(1 + 0) = 0 for each positive.
    # Masks multiply rather than select, so a NaN similarity anywhere in a row reaches
    # the anchor's value.
    terms = _softplus(negatives[:, None] - logits) * ops.cast(has_negative, work)[:, None]
    positive = ops.cast(pairs.positive, work)
    per_anchor = ops.sum(positive * terms, axis=-1)
    pair_count = ops.sum(positive)
    # The mean over all positive pairs (pytorch-metric-learning's MeanReducer), spread
    # over the anchors: B * (the anchor's sum) / (number of pairs).
    values = per_anchor * (_anchor_count(per_anchor) / _at_least_one(pair_count))
    return ops.cast(_keep_nonfinite(values, logits, pairs), pairs.dtype)


@register
def nt_xent_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    temperature: float = 0.07,
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Tensor:
    """NT-Xent (normalized temperature-scaled cross-entropy, InfoNCE) of labelled embeddings.

    For self-supervised (SimCLR) training, stack two augmented views of B images,
    `y_pred = concatenate([encoder(view_1), encoder(view_2)])` (2B, D), and label each
    row by its image: `y_true = [0, 1, ..., B-1, 0, 1, ..., B-1]`. Each view is then the
    only positive of the other, and the 2B - 2 other rows are its negatives. Any
    labels work: every pair of rows with the same label is a positive pair.

    Formula:

    ```python
    # s[a, j] = cos(y_pred[a], r[j]), r = ref_embeddings, or y_pred itself
    # P(a): positives of anchor a (same label, j != a); N(a): its negatives
    pair[a, p] = -log(exp(s[a, p] / t) / (exp(s[a, p] / t) + sum_{n in N(a)} exp(s[a, n] / t)))
    loss = mean of pair[a, p] over all positive pairs (a, p)
    values[a] = B * sum_{p in P(a)} pair[a, p] / (number of positive pairs)
    ```

    The mean of the returned values is the loss, pytorch-metric-learning's
    `NTXentLoss` with its default reducer; each anchor's value is B times its share of
    the sum. pytorch-metric-learning adds float's smallest normal number inside the log,
    which caps a pair's term at 87.3 in float32; here the term is exact at any
    temperature (computed as softplus(logsumexp_n(s[a, n] / t) - s[a, p] / t)). It also
    returns 0 when there are at most one positive and one negative pair in all (a single
    anchor against a reference set of two); here the formula holds there too.

    Degenerate batches give finite values and gradients: no positive pair (all labels
    distinct) gives 0 with zero gradient; one class only (no negatives) gives 0, each
    pair's term being log(1 + 0); an anchor without negatives against a reference set
    adds 0 terms that still count in the number of pairs. Identical embeddings give each
    pair log(1 + |N(a)|). A zero embedding has cosine 0 with everything. A NaN in
    `y_pred` or `ref_embeddings` makes the values NaN.

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly, as
            integers or as the floats Keras may convert them to.
        y_pred: embeddings, shape (B, D); they need not be normalized.
        temperature: t, a finite number > 0. Small values (0.05-0.2) are usual; any
            value is computed without overflow.
        ref_embeddings: optional reference set, shape (M, D): the positives and
            negatives of the anchors come from it instead of the batch (a memory of
            past batches, a gallery). Given with `ref_labels`.
        ref_labels: the labels of `ref_embeddings`, shape (M,) or (M, 1).

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        TypeError: if `temperature` is not a real number.
        ValueError: if `temperature` is not finite or not > 0, `y_true` is not (B,) or
            (B, 1), `y_pred` is not (B, D), their batch sizes differ, only one of
            `ref_embeddings` and `ref_labels` is given, or their shapes do not fit.

    Example:
        >>> view_1 = [[1.0, 0.0], [0.0, 1.0]]  # two images, first view
        >>> view_2 = [[0.8, 0.6], [0.6, 0.8]]  # the same images, second view
        >>> labels = [0, 1, 0, 1]  # row i and row i + 2 show image i
        >>> values = nt_xent_loss(labels, view_1 + view_2, temperature=0.5)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.6271 0.6271 1.1143 1.1143]
        >>> print(float(keras.ops.mean(values)))
        0.8707

        The first row has cosine 0.8 with its other view and 0 and 0.6 with the other
        image's: -log(e^1.6 / (e^1.6 + e^0 + e^1.2)) = log(1 + e^-1.6 + e^-0.4) = 0.6271.

    Reference: Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for
    Contrastive Learning of Visual Representations", ICML 2020; Sohn, "Improved Deep
    Metric Learning with Multi-class N-pair Loss Objective", NeurIPS 2016; van den
    Oord, Li and Vinyals, "Representation Learning with Contrastive Predictive Coding",
    arXiv:1807.03748, 2018 (InfoNCE).
    """
    hyper = _temperature_hyper(temperature)
    pairs = reference_pairs(y_true, y_pred, ref_embeddings, ref_labels)
    return _nt_xent_from_pairs(pairs, **hyper)


@register
class NTXentLoss(PairLoss):
    """NT-Xent (SimCLR's contrastive loss, InfoNCE) of each batch of labelled embeddings.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction the value is pytorch-metric-learning's `NTXentLoss`: the mean,
    over every positive pair (a, p) of the batch, of a softmax cross-entropy that
    tells p from the anchor's negatives. For SimCLR, stack the two augmented views of
    B images into one (2B, D) batch and label the rows `[0, ..., B-1, 0, ..., B-1]`.

    Formula:

    ```python
    # s[a, j] = cos(y_pred[a], y_pred[j]); P(a): positives of anchor a (same label,
    # j != a); N(a): its negatives (other labels); t = temperature
    pair[a, p] = -log(exp(s[a, p] / t) / (exp(s[a, p] / t) + sum_{n in N(a)} exp(s[a, n] / t)))
    loss = mean of pair[a, p] over all positive pairs (a, p)
    ```

    `reduction=None` returns the per-anchor shares of `nt_xent_loss`,
    B * sum_{p in P(a)} pair[a, p] / (number of positive pairs), whose mean is the loss;
    `sample_weight` weights these shares (Keras divides by B, so ones change nothing).
    A batch without positive pairs gives 0 with zero gradient, one class only gives 0,
    identical embeddings give log(1 + |N(a)|) per pair; a NaN embedding gives NaN.

    Args:
        temperature: t, a finite number > 0.
        per_replica: False (the default) mines each batch whole: in a data-parallel step
            the replicas gather their embeddings and labels, so the loss and gradients
            equal one device's on the global batch. True mines within each replica's
            slice only. See docs/distributed.md.
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16, where larger integers are no longer exact.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`.

    Raises:
        TypeError: if `temperature` is not a real number.
        ValueError: if `temperature` is not finite or not > 0; when called, if
            `y_true` is not (B,) or (B, 1) or `y_pred` is not (B, D).

    Example:
        >>> labels = [0, 1, 0, 1]  # two views of two images
        >>> views = [[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8]]
        >>> loss = NTXentLoss(temperature=0.5)
        >>> print(float(loss(labels, views)))  # mean of the four pairs' terms
        0.8707

        In a model: `model.compile(optimizer="adam", loss=NTXentLoss())`, with the
        model's output the embeddings of the stacked views and their image ids as the
        targets (`shuffle=False`, or batches built so both views share a batch).

    Reference: Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for
    Contrastive Learning of Visual Representations", ICML 2020.
    """

    def __init__(
        self,
        *,
        temperature: float = 0.07,
        per_replica: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "nt_xent_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            nt_xent_loss,
            _nt_xent_from_pairs,
            name=name,
            reduction=reduction,
            dtype=dtype,
            per_replica=per_replica,
            **_temperature_hyper(temperature),
        )


# --------------------------------------------------------------------------- SupCon


def _log_softmax_parts(logits: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """top (B, 1) and log_rest (B,) with -log_softmax = (top - x_j) + log_rest on the mask.

    log sum_{i in mask} exp(x_i) - x_j, written so that neither part cancels: top is the
    row's largest x (a constant), so top - x_j >= 0, and log_rest = log1p(rest), where
    rest sums exp(x_i - top) over the mask without the one 1 that the top entry adds.
    Computed as log_total - x_j, a term near 0 (an anchor already far from its
    negatives) would be the difference of two numbers near 1 / temperature and keep
    only their absolute rounding: 5e-7 at t = 0.07, a 4% error on a term of 1.2e-5.
    A tie at the top adds exp(0) = 1 as 1 + (x_i - top): the same value, and the
    derivative of exp there, so the gradient is that of the log-sum-exp. A row with
    an empty mask gives log_rest 0.
    """
    zero = ops.zeros_like(logits)
    nonempty = ops.any(mask, axis=-1)
    filled = ops.where(mask, logits, ops.min(logits, axis=-1, keepdims=True))
    top = ops.stop_gradient(ops.max(filled, axis=-1, keepdims=True))
    centred = ops.where(mask, logits - top, zero)  # <= 0 on the mask, never exponentiated off it
    at_top = ops.logical_and(mask, ops.equal(logits, top))
    ties = ops.sum(ops.where(at_top, centred + 1, zero), axis=-1) - 1
    below = ops.logical_and(mask, ops.logical_not(at_top))
    rest = ties + ops.sum(ops.where(below, ops.exp(centred), zero), axis=-1)
    return top, ops.log1p(ops.where(nonempty, rest, ops.zeros_like(rest)))


def _supcon_from_pairs(pairs: Pairs, *, temperature: float) -> Tensor:
    """Per-anchor SupCon values (B,) of the anchors of `pairs`, in `pairs.dtype`."""
    logits = _logits(pairs, temperature)
    work = logits.dtype
    # The softmax runs over every entry that is not the anchor itself.
    top, log_rest = _log_softmax_parts(logits, ops.logical_or(pairs.positive, pairs.negative))
    positive = ops.cast(pairs.positive, work)
    positives = ops.sum(positive, axis=-1)
    # Each positive's -log_softmax, a sum of two parts >= 0, so no anchor's term is below
    # 0. Masks multiply rather than select, so a NaN similarity anywhere in a row reaches
    # the anchor's value.
    minus_log_softmax = (top - logits) + log_rest[:, None]
    per_anchor = ops.sum(positive * minus_log_softmax, axis=-1) / _at_least_one(positives)
    # pytorch-metric-learning's rules: no loss without a negative pair in the batch, and
    # the mean over the anchors whose term is not 0 (AvgNonZeroReducer), spread over
    # them as B * term / count. Its float arithmetic makes a term 0 where 1 + (the other
    # entries' share of the softmax) rounds to 1, a term of at most the unit roundoff u;
    # computed as here, such a term is still above 0, so the rule is term > u.
    # Multiplied, not selected: NaN stays NaN.
    contrast = ops.cast(ops.any(pairs.negative), work)
    counted = ops.cast(per_anchor > constant(unit_roundoff(work), work), work)
    count = ops.sum(counted)
    values = per_anchor * counted * contrast * (_anchor_count(per_anchor) / _at_least_one(count))
    return ops.cast(_keep_nonfinite(values, logits, pairs), pairs.dtype)


@register
def supcon_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    temperature: float = 0.1,
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Tensor:
    """Supervised contrastive loss (SupCon) of labelled embeddings.

    Each anchor's term is the mean, over its positives, of the cross-entropy of a
    softmax of its cosine similarities to every other embedding: all the same-label
    embeddings are pulled towards the anchor at once. With one positive per anchor (two
    views of each image) it equals NT-Xent.

    Formula:

    ```python
    # s[a, j] = cos(y_pred[a], r[j]), r = ref_embeddings, or y_pred itself
    # P(a): positives of anchor a (same label, j != a); A(a): P(a) and the negatives
    term[a] = -mean_{p in P(a)} (s[a, p] / t - log sum_{j in A(a)} exp(s[a, j] / t))
    # u: the unit roundoff of the computing dtype, 2^-24 (float32) or 2^-53 (float64)
    loss = mean of term[a] over the anchors with term[a] > u
    values[a] = B * term[a] / (number of anchors with term[a] > u), or 0 if term[a] <= u
    ```

    The mean of the returned values is the loss, pytorch-metric-learning's
    `SupConLoss` with its default reducer (`AvgNonZeroReducer`, the mean over the
    non-zero terms); each anchor's value is B times its share of the sum. Its float
    arithmetic rounds a term at most u to 0 (1 + the other entries' share of the
    softmax rounds to 1), so an anchor already solved to the precision of the float
    type does not count, here as there. Each term is computed to a few units of
    rounding relative to itself, also near 0 and at small temperatures. As in
    pytorch-metric-learning, a batch with no negative pair gives 0. It also returns 0
    when there are at most one positive and one negative pair in all (a single anchor
    against a reference set of two); here the formula holds there too.

    Degenerate batches give finite values and gradients: an anchor without positives
    has term 0 and does not count; no positive pair in the batch (all labels distinct)
    gives 0 with zero gradient; one class only (no negatives) gives 0 with zero
    gradient; identical embeddings give each anchor with positives log |A(a)|. A zero
    embedding has cosine 0 with everything. A NaN in `y_pred` or `ref_embeddings`
    makes the values NaN.

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly, as
            integers or as the floats Keras may convert them to.
        y_pred: embeddings, shape (B, D); they need not be normalized.
        temperature: t, a finite number > 0; any value is computed without overflow.
        ref_embeddings: optional reference set, shape (M, D): the positives and
            negatives of the anchors come from it instead of the batch (a memory of
            past batches, a gallery). Given with `ref_labels`.
        ref_labels: the labels of `ref_embeddings`, shape (M,) or (M, 1).

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        TypeError: if `temperature` is not a real number.
        ValueError: if `temperature` is not finite or not > 0, `y_true` is not (B,) or
            (B, 1), `y_pred` is not (B, D), their batch sizes differ, only one of
            `ref_embeddings` and `ref_labels` is given, or their shapes do not fit.

    Example:
        >>> labels = [0, 0, 0, 1]
        >>> points = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
        >>> values = supcon_loss(labels, points, temperature=1.0)
        >>> print(keras.ops.convert_to_numpy(values))
        [1.4019 2.0686 1.4019 0.0]
        >>> print(float(keras.ops.mean(values)))
        1.2181

        The first anchor's softmax over the three others, cosines 0 and 1 (its
        positives) and 0, gives its positives the probabilities 1 / (2 + e) and
        e / (2 + e): its term is log(2 + e) - 1/2 = 1.0514. The second anchor's
        positives both have cosine 0 and its negative 1: log(2 + e) = 1.5514. The last
        anchor has no positive and does not count, so each other value is 4/3 of the
        anchor's term.

    Reference: Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu and
    Krishnan, "Supervised Contrastive Learning", NeurIPS 2020.
    """
    hyper = _temperature_hyper(temperature)
    pairs = reference_pairs(y_true, y_pred, ref_embeddings, ref_labels)
    return _supcon_from_pairs(pairs, **hyper)


@register
class SupConLoss(PairLoss):
    """Supervised contrastive loss (SupCon) of each batch of labelled embeddings.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction the value is pytorch-metric-learning's `SupConLoss`: for each
    anchor, the mean over its same-label embeddings of the cross-entropy of a softmax
    of its cosine similarities to every other embedding of the batch, averaged over
    the anchors whose term is not 0 (above the unit roundoff u of the float type).

    Formula:

    ```python
    # s[a, j] = cos(y_pred[a], y_pred[j]); P(a): positives of anchor a (same label,
    # j != a); A(a): every j != a; t = temperature
    term[a] = -mean_{p in P(a)} (s[a, p] / t - log sum_{j in A(a)} exp(s[a, j] / t))
    # u: the unit roundoff of the computing dtype, 2^-24 (float32) or 2^-53 (float64)
    loss = mean of term[a] over the anchors with term[a] > u
    ```

    `reduction=None` returns the per-anchor shares of `supcon_loss`,
    B * term[a] / (number of anchors with term[a] > u), whose mean is the loss;
    `sample_weight` weights these shares. A batch without positive pairs or with one
    class only gives 0 with zero gradient; a NaN embedding gives NaN.

    Args:
        temperature: t, a finite number > 0.
        per_replica: False (the default) mines each batch whole: in a data-parallel step
            the replicas gather their embeddings and labels, so the loss and gradients
            equal one device's on the global batch. True mines within each replica's
            slice only. See docs/distributed.md.
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16, where larger integers are no longer exact.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`.

    Raises:
        TypeError: if `temperature` is not a real number.
        ValueError: if `temperature` is not finite or not > 0; when called, if
            `y_true` is not (B,) or (B, 1) or `y_pred` is not (B, D).

    Example:
        >>> labels = [0, 0, 0, 1]
        >>> points = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
        >>> print(float(SupConLoss(temperature=1.0)(labels, points)))
        1.2181

        Three anchors have positives; their terms, log(2 + e) - 1/2, log(2 + e) and
        log(2 + e) - 1/2, average to 1.2181. In a model:
        `model.compile(optimizer="adam", loss=SupConLoss())`, with the model's output
        the embeddings and the integer labels as targets.

    Reference: Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu and
    Krishnan, "Supervised Contrastive Learning", NeurIPS 2020.
    """

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        per_replica: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "supcon_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            supcon_loss,
            _supcon_from_pairs,
            name=name,
            reduction=reduction,
            dtype=dtype,
            per_replica=per_replica,
            **_temperature_hyper(temperature),
        )
