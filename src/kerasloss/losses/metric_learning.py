"""Metric-learning losses: triplet losses on explicit triplets and on mined batches.

`triplet_margin_loss` scores triplets the model builds itself (question, right
answer, wrong answer); `triplet_loss` and `TripletLoss` mine the triplets from a batch
of labelled embeddings. Every mining strategy is one small function of a distance
matrix and two label masks, and every one of them keeps memory O(B^2) in the batch
size B.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal import distances as _distances
from kerasloss._internal.aliases import moved
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant, float_tensor, positive_part, working_dtype
from kerasloss._internal.masking import label_masks
from kerasloss._internal.mining import STRATEGIES, check_margin, check_mining
from kerasloss._internal.registration import register

__all__ = ["TripletLoss", "triplet_loss", "triplet_margin_loss"]

# ------------------------------------------------------------------ explicit triplets


@register
def triplet_margin_loss(anchor, positive, negative, *, margin=0.1, distance="cosine"):
    """Triplet margin loss on explicit (anchor, positive, negative) triplets.

    Formula:

    ```python
    loss = max(0, margin + d(anchor, positive) - d(anchor, negative))
    ```

    With `distance="cosine"` (d = 1 - cosine similarity) this is
    `max(0, margin + cos(anchor, negative) - cos(anchor, positive))`.

    Args:
        anchor: embeddings, shape (B, D).
        positive: embeddings that belong with the anchors, shape (B, D).
        negative: embeddings that do not, shape (B, D).
        margin: how much closer the positive must be, >= 0.
        distance: "cosine" (1 - cosine similarity), "euclidean" or "squared_euclidean".

    Returns:
        The loss per triplet, shape (B,), in the anchor's dtype (16-bit inputs are
        computed in float32 and cast back).

    Raises:
        ValueError: if `margin` is negative or not finite, `distance` is unknown, or
            the three inputs do not share one (B, D) shape.

    Example:
        >>> a, p, n = [[1.0, 0.0]], [[1.0, 0.1]], [[0.0, 1.0]]
        >>> triplet_margin_loss(a, p, n, margin=0.1)  # [0.0]: the positive is far closer

    Reference: Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015 (the margin form); Feng et al., "Applying Deep Learning to
    Answer Selection: A Study and an Open Task", ASRU 2015 (cosine, question/answer).
    """
    margin = check_margin(margin)
    distance = _distances.check_distance(distance)
    anchor = float_tensor(anchor)
    positive = ops.convert_to_tensor(positive, dtype=anchor.dtype)
    negative = ops.convert_to_tensor(negative, dtype=anchor.dtype)
    if len(anchor.shape) != 2:
        raise ValueError(
            f"`anchor` must have shape (batch_size, D); got shape {tuple(anchor.shape)}."
        )
    for name, tensor in (("positive", positive), ("negative", negative)):
        _checks.check_same_shape(tensor, anchor, hint=f" (`{name}` vs `anchor`)")
    dtype = anchor.dtype
    work = working_dtype(dtype)
    anchor, positive, negative = (ops.cast(t, work) for t in (anchor, positive, negative))
    gap = _distances.row_distance(anchor, positive, distance) - _distances.row_distance(
        anchor, negative, distance
    )
    return ops.cast(positive_part(constant(margin, work) + gap), dtype)


# ------------------------------------------------------------------ mined triplet loss


def _labels_and_embeddings(y_true, y_pred):
    y_pred = float_tensor(y_pred)
    if len(y_pred.shape) != 2:
        raise ValueError(
            f"`y_pred` must hold embeddings of shape (batch_size, D); got shape "
            f"{tuple(y_pred.shape)}."
        )
    labels = _checks.label_vector("y_true", y_true, per="embedding")
    size = labels.shape[0]
    if size is not None and y_pred.shape[0] is not None and size != y_pred.shape[0]:
        raise ValueError(
            f"`y_true` has {size} labels for {y_pred.shape[0]} embeddings in `y_pred`."
        )
    return labels, y_pred


def _mining_distances(embeddings, distance, mining):
    if distance == "cosine" and mining == "batch_all":
        # -cos(a, b) orders and differences exactly as 1 - cos(a, b) does, and with it the
        # test (-cos_ap + cos_an) + margin > 0 is the reference's own, bit for bit.
        unit = _distances.l2_normalize(embeddings)
        return -_distances.gram(unit)
    return _distances.pairwise_distances(embeddings, distance)


@register
def triplet_loss(
    y_true, y_pred, *, margin=1.0, distance="euclidean", mining="batch_hard", soft=False
):
    """Triplet loss with triplets mined from a batch of labelled embeddings.

    Formula, with D the (B, B) distance matrix of the batch:

    ```python
    # batch_hard: every anchor, its hardest positive and hardest negative
    loss = mean_a max(max_p D[a, p] - min_n D[a, n] + margin, 0)
    # batch_hard, soft=True (margin unused)
    loss = mean_a log(1 + exp(max_p D[a, p] - min_n D[a, n]))
    # semi_hard: every (a, p) pair with the closest negative farther than p
    loss = mean_(a, p) max(D[a, p] - min{D[a, n] > D[a, p]} + margin, 0)
    # batch_all: every (a, p, n) triplet that violates the margin
    loss = mean over {l > 0} of l = D[a, p] - D[a, n] + margin
    ```

    "batch_hard" and "semi_hard" are TensorFlow Addons' `triplet_hard_loss` and
    `triplet_semihard_loss`, with "L2", "squared-L2" and "angular" as "euclidean",
    "squared_euclidean" and "cosine"; "batch_all" is pytorch-metric-learning's
    `TripletMarginLoss` with `AvgNonZeroReducer` and no miner. Memory is O(B^2) in all
    three modes. One known difference: "cosine" treats embeddings of norm below 1e-12
    as zero vectors, TensorFlow Addons below 1e-6; only such near-zero embeddings
    differ. With soft=True, TensorFlow Addons' log1p(exp(gap)) overflows to inf past
    gap = 88 in float32, this stays finite.

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

    Args:
        y_true: integer labels, shape (B,) or (B, 1). Labels are compared exactly, as
            integers or as the floats Keras may convert them to.
        y_pred: embeddings, shape (B, D).
        margin: >= 0. Unused with `soft=True`.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        mining: "batch_hard", "semi_hard" or "batch_all".
        soft: softplus instead of the hinge; "batch_hard" only.

    Returns:
        Per-anchor values, shape (B,), whose mean is the loss, in `y_pred`'s dtype
        (16-bit embeddings are computed in float32 and cast back).

    Raises:
        ValueError: if `margin`, `distance` or `mining` is invalid, `soft=True` with a
            mining other than "batch_hard", or `y_true` is not (B,) or (B, 1).

    Example:
        >>> labels = [0, 0, 1, 1]
        >>> embeddings = [[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]]
        >>> keras.ops.mean(triplet_loss(labels, embeddings, margin=1.0))  # 0: well apart

    Reference: Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
    Re-Identification", arXiv:1703.07737, 2017 (batch hard, batch all); Schroff et al.,
    "FaceNet", CVPR 2015 (semi-hard).
    """
    margin = check_margin(margin)
    distance = _distances.check_distance(distance)
    mining = check_mining(mining)
    soft = _checks.check_bool("soft", soft)
    if soft and mining != "batch_hard":
        raise ValueError(f'`soft=True` needs `mining="batch_hard"`; got mining={mining!r}.')
    labels, y_pred = _labels_and_embeddings(y_true, y_pred)
    dtype = y_pred.dtype
    embeddings = ops.cast(y_pred, working_dtype(dtype))
    distances = _mining_distances(embeddings, distance, mining)
    positive, negative = label_masks(labels)
    extra = {"soft": soft} if mining == "batch_hard" else {}
    values = STRATEGIES[mining](distances, positive, negative, margin=margin, **extra)
    return ops.cast(values, dtype)


@register
class TripletLoss(PerSampleLoss):
    """Triplet loss mined from each batch of labelled embeddings; see `triplet_loss`.

    `y_true` holds integer labels (B,) or (B, 1), `y_pred` embeddings (B, D). With the
    default reduction ("sum_over_batch_size") the value is TensorFlow Addons' (batch_hard,
    semi_hard) or pytorch-metric-learning's (batch_all) loss of the batch. `sample_weight`
    weights each anchor's share: weights w give sum_a w_a v_a / B, so ones change
    nothing and zeros remove an anchor's terms (it still serves as a positive or
    negative of the others). `reduction=None` returns the per-anchor shares.

    Mining sees only the batch: each batch needs several examples of a class for
    positives to exist, so shuffle with batches of a few dozen examples or more.

    Args:
        margin: >= 0. Unused with `soft=True`.
        distance: "euclidean", "squared_euclidean" or "cosine" (1 - cosine similarity).
        mining: "batch_hard", "semi_hard" or "batch_all".
        soft: softplus instead of the hinge; "batch_hard" only.
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16, where larger integers are no longer exact.

    Raises:
        ValueError: if `margin` is negative, `distance` or `mining` is unknown, or
            `soft=True` with a mining other than "batch_hard".

    Example:
        >>> model.compile(optimizer="adam", loss=TripletLoss(mining="semi_hard"))
        >>> model.fit(images, integer_labels, batch_size=128)
    """

    def __init__(
        self,
        *,
        margin: float = 1.0,
        distance: str = "euclidean",
        mining: str = "batch_hard",
        soft: bool = False,
        reduction="sum_over_batch_size",
        name: str = "triplet_loss",
        dtype=None,
    ):
        mining = check_mining(mining)
        soft = _checks.check_bool("soft", soft)
        if soft and mining != "batch_hard":
            raise ValueError(f'`soft=True` needs `mining="batch_hard"`; got mining={mining!r}.')
        super().__init__(
            triplet_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            margin=check_margin(margin),
            distance=_distances.check_distance(distance),
            mining=mining,
            soft=soft,
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
