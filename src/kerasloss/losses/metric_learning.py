"""Metric-learning losses: triplet losses on explicit triplets and on mined batches.

`triplet_margin_loss` scores triplets the model builds itself (question, right
answer, wrong answer); `triplet_loss` and `TripletLoss` mine the triplets from a batch
of labelled embeddings, or take the positives and negatives from a reference set.
Every mining strategy is one small function of a distance matrix and two label masks,
and every one of them keeps memory O(B^2) in the batch size B (O(B * M) against M
reference embeddings).
"""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal import distances as _distances
from kerasloss._internal import mining as _mining
from kerasloss._internal.aliases import moved
from kerasloss._internal.base import PairLoss
from kerasloss._internal.dtypes import constant, float_tensor, positive_part, working_dtype
from kerasloss._internal.masking import nonfinite_part, row_nonfinite
from kerasloss._internal.pairs import Pairs, reference_pairs
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["TripletLoss", "triplet_loss", "triplet_margin_loss"]

# ------------------------------------------------------------------ explicit triplets


@register
def triplet_margin_loss(
    anchor: TensorLike,
    positive: TensorLike,
    negative: TensorLike,
    *,
    margin: float = 0.1,
    distance: str = "cosine",
) -> Tensor:
    """Triplet margin loss on explicit (anchor, positive, negative) triplets.

    For triplets the model builds itself, such as a question, its right answer and a
    wrong answer passed through one shared encoder. Each triplet's loss is zero once the
    positive is closer to the anchor than the negative by at least `margin`.

    Formula:

    ```python
    loss = max(0, margin + d(anchor, positive) - d(anchor, negative))  # per row
    # distance="cosine":            d(a, b) = 1 - a.b / (||a|| ||b||)
    # distance="euclidean":         d(a, b) = ||a - b||
    # distance="squared_euclidean": d(a, b) = ||a - b||^2
    ```

    With `distance="cosine"` this is
    `max(0, margin + cos(anchor, negative) - cos(anchor, positive))`. An all-zero
    embedding has cosine 0 with everything.

    Args:
        anchor: embeddings, shape (B, D).
        positive: embeddings that belong with the anchors, shape (B, D).
        negative: embeddings that do not, shape (B, D).
        margin: how much closer the positive must be, a finite number >= 0.
        distance: "cosine" (1 - cosine similarity), "euclidean" or "squared_euclidean".

    Returns:
        The loss of each triplet, shape (B,), in the anchor's dtype (16-bit inputs are
        computed in float32 and cast back; integer inputs become Keras' float type).

    Raises:
        TypeError: if `margin` is not a real number.
        ValueError: if `margin` is negative or not finite, `distance` is unknown,
            `anchor` is not 2-D, or `positive` or `negative` differs from its shape.

    Example:
        >>> anchor = [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
        >>> positive = [[2.0, 0.0], [4.0, 3.0], [3.0, 4.0]]  # cosines 1.0, 0.8, 0.6
        >>> negative = [[0.0, 1.0], [3.0, 4.0], [4.0, 3.0]]  # cosines 0.0, 0.6, 0.8
        >>> loss = triplet_margin_loss(anchor, positive, negative, margin=0.1)
        >>> print(keras.ops.convert_to_numpy(loss))  # third row: 0.1 + 0.4 - 0.2
        [0.0 0.0 0.3]

    Reference: Schroff, Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face
    Recognition and Clustering", CVPR 2015 (the margin form); Feng et al., "Applying Deep
    Learning to Answer Selection: A Study and an Open Task", ASRU 2015 (cosine,
    question/answer).
    """
    margin = _mining.check_margin(margin)
    distance = _distances.check_distance(distance)
    anchor = float_tensor(anchor)
    positive = ops.convert_to_tensor(positive, dtype=anchor.dtype)
    negative = ops.convert_to_tensor(negative, dtype=anchor.dtype)
    if len(anchor.shape) != 2:
        raise ValueError(
            f"`anchor` must have shape (batch_size, D); got shape {tuple(anchor.shape)}."
        )
    for name, tensor in (("positive", positive), ("negative", negative)):
        _checks.check_same_shape(tensor, anchor, names=(name, "anchor"))
    dtype = anchor.dtype
    work = working_dtype(dtype)
    anchor, positive, negative = (ops.cast(t, work) for t in (anchor, positive, negative))
    gap = _distances.row_distance(anchor, positive, distance) - _distances.row_distance(
        anchor, negative, distance
    )
    # The hinge and the distances' guards (`where`) map a NaN to 0: a NaN or infinite
    # entry of a triplet makes its value NaN instead.
    bad = sum(row_nonfinite(t) for t in (anchor, positive, negative))
    return ops.cast(positive_part(constant(margin, work) + gap) + bad, dtype)


# ------------------------------------------------------------------ mined triplet loss


def _triplet_options(
    margin: object, distance: object, mining: object, soft: object
) -> dict[str, Any]:
    """The validated hyper-parameters of `triplet_loss`, shared with `TripletLoss`."""
    margin = _mining.check_margin(margin)
    distance = _distances.check_distance(distance)
    mining = _mining.check_mining(mining)
    soft = _checks.check_bool("soft", soft)
    if soft and mining != "batch_hard":
        raise ValueError(f'`soft=True` needs `mining="batch_hard"`; got mining={mining!r}.')
    return {"margin": margin, "distance": distance, "mining": mining, "soft": soft}


def _mining_distances(embeddings: Tensor, ref: Tensor | None, distance: str, mining: str) -> Tensor:
    """The (B, M) matrix the mining strategy compares: distances, or -cos for batch_all."""
    if distance == "cosine" and mining == "batch_all":
        # -cos(a, b) orders and differences exactly as 1 - cos(a, b) does, and with it the
        # test (-cos_ap + cos_an) + margin > 0 is the reference's own, bit for bit.
        return -_distances.cosine_similarities(embeddings, ref)
    return _distances.pairwise_distances(embeddings, distance, ref)


def _triplet_from_pairs(
    pairs: Pairs, *, margin: float, distance: str, mining: str, soft: bool
) -> Tensor:
    """Per-anchor triplet values (B,) of the anchors of `pairs` against its reference set."""
    embeddings = pairs.embeddings
    ref = None if pairs.same else pairs.ref
    distances = _mining_distances(embeddings, ref, distance, mining)
    extra: dict[str, Any] = {"soft": soft} if mining == "batch_hard" else {}
    if mining != "batch_all" and not pairs.same:
        # The anchor stands in its own row at d(a, a), as on a batch's diagonal (0, or 1
        # for a zero embedding under "cosine"; NaN for a NaN embedding).
        extra["self_distance"] = _distances.row_distance(embeddings, embeddings, distance)
    values = _mining.STRATEGIES[mining](
        distances, pairs.positive, pairs.negative, margin=margin, **extra
    )
    # A NaN embedding must reach the loss, but the distances clip squared distances at 0
    # and the hinges clip at 0 with `where`s, which turn a NaN into 0. `nonfinite_part`
    # sums to 0, or to NaN if an anchor or a reference embedding is NaN or infinite,
    # which makes every value NaN (mining couples the batch); its gradient is 0.
    poison = ops.sum(nonfinite_part(embeddings))
    if not pairs.same:
        poison = poison + ops.sum(nonfinite_part(pairs.ref))
    return ops.cast(values + poison, pairs.dtype)


@register
def triplet_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    margin: float = 1.0,
    distance: str = "euclidean",
    mining: str = "batch_hard",
    soft: bool = False,
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Tensor:
    """Triplet loss with triplets mined from a batch of labelled embeddings.

    Formula:

    ```python
    # D: the (B, B) distances of the batch; p: a positive of anchor a (same label,
    # p != a); n: a negative of a (another label)
    # With ref_embeddings, ref_labels: D is (B, M), from each anchor to the M reference
    # embeddings; p, n range over the reference set (p: same label, n: another label)

    # batch_hard: every anchor, its hardest positive and hardest negative
    loss = mean_a max(max_p D[a, p] - min_n D[a, n] + margin, 0)
    # batch_hard, soft=True (margin unused)
    loss = mean_a log(1 + exp(max_p D[a, p] - min_n D[a, n]))
    # semi_hard: every (a, p) pair with the closest negative farther than p
    # (the farthest negative if none is farther)
    loss = mean_(a, p) max(D[a, p] - min{D[a, n] > D[a, p]} + margin, 0)
    # batch_all: every (a, p, n) triplet that violates the margin
    loss = mean over {l > 0} of l = D[a, p] - D[a, n] + margin
    ```

    "batch_hard" and "semi_hard" are TensorFlow Addons' `triplet_hard_loss` and
    `triplet_semihard_loss`, with "L2", "squared-L2" and "angular" as "euclidean",
    "squared_euclidean" and "cosine"; "batch_all" is pytorch-metric-learning's
    `TripletMarginLoss` with `AvgNonZeroReducer` and no miner. Memory is O(B^2) in all
    three modes (O(B * M) with a reference set). One known difference: "cosine" treats
    embeddings of norm below 1e-12 as zero vectors, TensorFlow Addons below 1e-6; only
    such near-zero embeddings differ. With soft=True, TensorFlow Addons'
    log1p(exp(gap)) overflows to inf past gap = 88 in float32, this stays finite.

    A reference set (`ref_embeddings`, `ref_labels`: a gallery, or a memory of past
    batches) gives the positives and negatives; the anchors are still the batch. Every
    reference entry counts, also
    one equal to an anchor (it is then that anchor's positive at distance 0), as
    pytorch-metric-learning's `ref_emb`: "batch_all" equals its `TripletMarginLoss`
    given `ref_emb`, "batch_hard" its `BatchHardMiner` and `MeanReducer` whenever every
    anchor has a positive and a negative in the set. `kerasloss.layers.CrossBatchMemory`
    runs this loss against a memory of past batches.

    The loss is a property of the batch. This returns it as one value per anchor whose
    mean is the loss, so `keras.losses.Loss`'s default reduction gives the loss itself:
    "batch_hard" returns each anchor's term; "semi_hard" and "batch_all" return
    B * (anchor's share of the sum) / (number of pairs or violating triplets).

    Degenerate batches give finite values and finite gradients:

    - one class only: "batch_hard" gives `margin` (soft: log 2), as TensorFlow Addons;
      "semi_hard" gives margin + mean D[a, p]; "batch_all" gives 0.
    - all labels distinct: "batch_hard" gives TensorFlow Addons' fallback,
      mean_a max(margin - min_n D[a, n], 0) (soft: softplus(-min_n D[a, n]));
      "semi_hard" gives 0 with zero gradient, where TensorFlow Addons gives NaN (0/0);
      "batch_all" gives 0.
    - against a reference set, the same per anchor: an anchor without a positive in
      the set takes itself as its hardest positive, at d(a, a) = 0 (1 for a zero
      embedding under "cosine"), TensorFlow Addons' row minimum, and has no
      "semi_hard" pairs; one without a negative takes the farthest entry of its row
      (for "semi_hard", d(a, a)). An anchor with neither gives `margin`.

    A NaN in the embeddings makes the loss NaN.

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly, as
            integers or as the floats Keras may convert them to.
        y_pred: embeddings, shape (B, D).
        margin: a finite number >= 0. Unused with `soft=True`.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        mining: "batch_hard", "semi_hard" or "batch_all".
        soft: softplus instead of the hinge; "batch_hard" only.
        ref_embeddings: embeddings of a reference set, shape (M, D), from which the
            positives and negatives come; None (the default) for the batch itself.
            The gradient reaches them too; pass them through `keras.ops.stop_gradient`
            to keep a gallery fixed.
        ref_labels: their integer labels, shape (M,) or (M, 1); given with
            `ref_embeddings` or not at all.

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        TypeError: if `margin` is not a real number or `soft` not a bool.
        ValueError: if `margin`, `distance` or `mining` is invalid, `soft=True` with a
            mining other than "batch_hard", `y_true` is not (B,) or (B, 1), `y_pred`
            is not (B, D), or their batch sizes differ; if only one of `ref_embeddings`
            and `ref_labels` is given, they are not (M, D) and (M,) or (M, 1), or D
            differs from `y_pred`'s.

    Example:
        >>> labels = [0, 0, 1, 1]
        >>> points = [[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [4.0, 0.0]]
        >>> values = triplet_loss(labels, points, margin=1.0)
        >>> print(keras.ops.convert_to_numpy(values))  # third anchor: 2 - 2 + 1
        [0.0 0.0 1.0 0.0]
        >>> print(float(keras.ops.mean(values)))
        0.25
        >>> values = triplet_loss(labels, points, margin=1.0, mining="batch_all")
        >>> print(float(keras.ops.mean(values)))  # (1 + (3 - sqrt(5))) / 2
        0.8820

        The third anchor, (2, 0), has its hardest positive (4, 0) at distance 2 and its
        hardest negative, the nearer of (0, 0) and (0, 1), at 2. Every other anchor's
        hardest negative is at least as far as its hardest positive plus the margin.
        "batch_all" keeps the two triplets with a positive loss, both of the third
        anchor: 2 - 2 + 1 and 2 - sqrt(5) + 1.

        Against a reference set:

        >>> gallery = [[0.0, 1.0], [0.0, 2.0], [1.5, 0.0]]
        >>> values = triplet_loss([0, 1], [[0.0, 0.0], [3.0, 0.0]], margin=1.0,
        ...                       ref_embeddings=gallery, ref_labels=[0, 0, 1])
        >>> print(keras.ops.convert_to_numpy(values))  # first anchor: 2 - 1.5 + 1
        [1.5 0.0]
        >>> values = triplet_loss([0, 1], [[0.0, 0.0], [3.0, 0.0]], margin=1.0,
        ...                       mining="batch_all", ref_embeddings=gallery,
        ...                       ref_labels=[0, 0, 1])
        >>> print(keras.ops.convert_to_numpy(values))  # two violating triplets, mean 1
        [2.0 0.0]

        The anchor (0, 0) has positives at 1 and 2 and its negative (1.5, 0) at 1.5;
        the anchor (3, 0) has its positive at 1.5 and its negatives beyond 3.
        "batch_all" keeps two triplets, both of the first anchor, of losses
        1 - 1.5 + 1 = 0.5 and 2 - 1.5 + 1 = 1.5: that anchor holds B * 2 / 2 = 2, and
        the mean is 1.

    Reference: Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv:1703.07737, 2017 (batch hard, batch all); Schroff,
    Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015 (semi-hard).
    """
    hyper = _triplet_options(margin, distance, mining, soft)
    return _triplet_from_pairs(reference_pairs(y_true, y_pred, ref_embeddings, ref_labels), **hyper)


@register
class TripletLoss(PairLoss):
    """Triplet loss with triplets mined from each batch of labelled embeddings.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction ("sum_over_batch_size") the value is TensorFlow Addons' (batch_hard,
    semi_hard) or pytorch-metric-learning's (batch_all) loss of the batch. The function
    `triplet_loss` returns the per-anchor values this class reduces.

    Formula:

    ```python
    # D: the (B, B) distances of the batch; p: a positive of anchor a (same label,
    # p != a); n: a negative of a (another label)

    # batch_hard: every anchor, its hardest positive and hardest negative
    loss = mean_a max(max_p D[a, p] - min_n D[a, n] + margin, 0)
    # batch_hard, soft=True (margin unused)
    loss = mean_a log(1 + exp(max_p D[a, p] - min_n D[a, n]))
    # semi_hard: every (a, p) pair with the closest negative farther than p
    # (the farthest negative if none is farther)
    loss = mean_(a, p) max(D[a, p] - min{D[a, n] > D[a, p]} + margin, 0)
    # batch_all: every (a, p, n) triplet that violates the margin
    loss = mean over {l > 0} of l = D[a, p] - D[a, n] + margin
    ```

    `sample_weight` weights each anchor's share v_a of the loss (the per-anchor values
    of `triplet_loss`): weights w give sum_a w_a v_a / B, so ones change nothing and
    zeros remove an anchor's terms (it still serves as a positive or negative of the
    others). `reduction=None` returns the shares v_a themselves.

    Mining sees only the batch: each batch needs several examples of a class for
    positives to exist, so shuffle with batches of a few dozen examples or more, or
    wrap the loss in `kerasloss.layers.CrossBatchMemory` to mine from a memory of past
    batches as well (the class is a pair loss: `loss_from_pairs` runs it against any
    reference set). A batch with one class only, or with all labels distinct, gives a
    finite loss with finite gradients (see `triplet_loss` for the values).

    Args:
        margin: a finite number >= 0. Unused with `soft=True`.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        mining: "batch_hard", "semi_hard" or "batch_all".
        soft: softplus instead of the hinge; "batch_hard" only.
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
        TypeError: if `margin` is not a real number or `soft` not a bool.
        ValueError: if `margin` is negative or not finite, `distance` or `mining` is
            unknown, or `soft=True` with a mining other than "batch_hard"; when called,
            if `y_true` is not (B,) or (B, 1) or `y_pred` is not (B, D).

    Example:
        >>> labels = [0, 0, 1, 1]
        >>> points = [[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [4.0, 0.0]]
        >>> loss = TripletLoss(margin=1.0)
        >>> print(float(loss(labels, points)))  # only the third anchor's term: 1 / 4
        0.25
        >>> shares = TripletLoss(margin=1.0, reduction=None)(labels, points)
        >>> print(keras.ops.convert_to_numpy(shares))
        [0.0 0.0 1.0 0.0]

        The third anchor, (2, 0), has its hardest positive (4, 0) at distance 2 and its
        hardest negative, (0, 0), at 2: 2 - 2 + 1 = 1. In a model:
        `model.compile(optimizer="adam", loss=TripletLoss(mining="semi_hard"))`, with
        the model's output the embeddings and the integer labels as targets.

    Reference: Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv:1703.07737, 2017 (batch hard, batch all); Schroff,
    Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015 (semi-hard).
    """

    def __init__(
        self,
        *,
        margin: float = 1.0,
        distance: str = "euclidean",
        mining: str = "batch_hard",
        soft: bool = False,
        per_replica: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "triplet_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            triplet_loss,
            _triplet_from_pairs,
            name=name,
            reduction=reduction,
            dtype=dtype,
            per_replica=per_replica,
            **_triplet_options(margin, distance, mining, soft),
        )


# Helpers that were importable from here before kerasloss 0.2; now private.
__getattr__ = moved(
    __name__,
    {
        name: f"kerasloss._internal.mining:{name}"
        for name in (
            "MINING",
            "batch_all",
            "batch_hard",
            "check_margin",
            "check_mining",
            "semi_hard",
        )
    },
)
