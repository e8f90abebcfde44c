"""NumPy restatements of TensorFlow Addons' losses, under TFA's names and arguments.

TensorFlow Addons (last release 0.23, for TensorFlow 2.13 to 2.15 and Keras 2) does not
install next to Keras 3, so the snippets of docs/migrating-from-tfa.md compare kerasloss
and Keras with these restatements instead. `tfa` at the end mirrors TFA's layout, so a
snippet reads as TFA code: `tfa.losses.pinball_loss(y_true, y_pred, tau=0.1)`.

Each function restates the formula TFA documents and computes, in float64, including
the details that change a value: the 1e-7 clip and the 1e-7 inside the logarithm of
Keras 2's binary cross-entropy (focal loss), the fallbacks of TFA's masked maximum and
minimum when a mask is empty (triplet losses), `divide_no_nan` where TFA uses it, and
0/0 = NaN where TFA divides plainly. Distances are computed from differences, which
is the definition; TFA's Gram form differs from it by float32 rounding only.

The classes apply TF-Keras' reductions: "none" returns what the function returns,
"sum_over_batch_size" (and "auto", which meant it) divides the sum by the number of
values. Sample weights are not restated. Written from TFA's documentation and source
(tensorflow_addons/losses, activations/sparsemax.py, seq2seq/loss.py); nothing is
copied.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

# tf.keras.backend.epsilon()
EPSILON = 1e-7

# Every loss of `tfa.losses` in TensorFlow Addons 0.23 (its last release), function and
# class; `WeightedKappaLoss` has no function.
LOSSES = (
    "contrastive_loss",
    "ContrastiveLoss",
    "sigmoid_focal_crossentropy",
    "SigmoidFocalCrossEntropy",
    "giou_loss",
    "GIoULoss",
    "lifted_struct_loss",
    "LiftedStructLoss",
    "npairs_loss",
    "NpairsLoss",
    "npairs_multilabel_loss",
    "NpairsMultilabelLoss",
    "pinball_loss",
    "PinballLoss",
    "sparsemax_loss",
    "SparsemaxLoss",
    "triplet_hard_loss",
    "TripletHardLoss",
    "triplet_semihard_loss",
    "TripletSemiHardLoss",
    "WeightedKappaLoss",
)
# The loss of `tfa.seq2seq`, the only TFA loss outside `tfa.losses`.
SEQ2SEQ_LOSSES = ("sequence_loss", "SequenceLoss")


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _divide_no_nan(num: Any, den: Any) -> np.ndarray:
    """num / den, and 0 where den == 0 (tf.math.divide_no_nan)."""
    num, den = _f64(num), _f64(den)
    return np.where(den != 0, num / np.where(den != 0, den, 1.0), 0.0)


def _logsumexp(x: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    return logits - _logsumexp(logits, axis=-1, keepdims=True)


class _LossClass:
    """A TFA loss class: its function with fixed keyword arguments, then TF-Keras' reduction."""

    def __init__(self, fn: Callable[..., Any], reduction: str, **kwargs: Any) -> None:
        assert reduction in ("none", "sum_over_batch_size")
        self.fn, self.reduction, self.kwargs = fn, reduction, kwargs

    def __call__(self, y_true: Any, y_pred: Any) -> np.ndarray:
        values = _f64(self.fn(y_true, y_pred, **self.kwargs))
        if self.reduction == "none":
            return values
        return values.sum() / values.size


# ------------------------------------------------------------------ contrastive


def contrastive_loss(y_true: Any, y_pred: Any, margin: float = 1.0) -> np.ndarray:
    """Hadsell, Chopra and LeCun (2006); y_pred are distances, y_true 1 for similar pairs.

    loss = y d^2 + (1 - y) max(margin - d, 0)^2, one value per pair.
    """
    d, y = _f64(y_pred), _f64(y_true)
    return y * d**2 + (1.0 - y) * np.maximum(margin - d, 0.0) ** 2


class ContrastiveLoss(_LossClass):
    def __init__(self, margin: float = 1.0) -> None:
        super().__init__(contrastive_loss, "sum_over_batch_size", margin=margin)


# ------------------------------------------------------------------ sigmoid focal


def sigmoid_focal_crossentropy(
    y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False
) -> np.ndarray:
    """Lin et al. (2017), summed over the last axis.

    Per element alpha_t (1 - p_t)^gamma BCE. From probabilities the BCE is Keras 2's:
    p clipped to [1e-7, 1 - 1e-7], then -(y log(p + 1e-7) + (1 - y) log(1 - p + 1e-7));
    p_t uses the unclipped p. A falsy alpha (None or 0) or gamma means no factor.
    """
    if gamma and gamma < 0:
        raise ValueError("gamma must be >= 0")
    y, x = _f64(y_true), _f64(y_pred)
    if from_logits:
        # The exact sigmoid cross-entropy of the logits.
        bce = np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x)))
        p = 1.0 / (1.0 + np.exp(-x))
    else:
        clipped = np.clip(x, EPSILON, 1.0 - EPSILON)
        bce = -(y * np.log(clipped + EPSILON) + (1.0 - y) * np.log(1.0 - clipped + EPSILON))
        p = x
    p_t = y * p + (1.0 - y) * (1.0 - p)
    alpha_factor = y * alpha + (1.0 - y) * (1.0 - alpha) if alpha else 1.0
    modulating_factor = (1.0 - p_t) ** gamma if gamma else 1.0
    return np.sum(alpha_factor * modulating_factor * bce, axis=-1)


class SigmoidFocalCrossEntropy(_LossClass):
    def __init__(self, from_logits: bool = False, alpha: float = 0.25, gamma: float = 2.0) -> None:
        # TFA's default reduction is NONE: one value per sample.
        super().__init__(
            sigmoid_focal_crossentropy, "none", from_logits=from_logits, alpha=alpha, gamma=gamma
        )


# ------------------------------------------------------------------ GIoU


def _box_area(ymin: Any, xmin: Any, ymax: Any, xmax: Any) -> np.ndarray:
    return np.maximum(ymax - ymin, 0.0) * np.maximum(xmax - xmin, 0.0)


def giou_loss(y_true: Any, y_pred: Any, mode: str = "giou") -> np.ndarray:
    """Rezatofighi et al. (2019): 1 - GIoU (or 1 - IoU) of boxes [y_min, x_min, y_max, x_max].

    Boxes broadcast against each other; the result is squeezed, as TFA's.
    """
    if mode not in ("giou", "iou"):
        raise ValueError("mode must be 'giou' or 'iou'")
    a = np.moveaxis(_f64(y_pred), -1, 0)
    b = np.moveaxis(_f64(y_true), -1, 0)
    intersection = _box_area(
        np.maximum(a[0], b[0]),
        np.maximum(a[1], b[1]),
        np.minimum(a[2], b[2]),
        np.minimum(a[3], b[3]),
    )
    union = _box_area(*a) + _box_area(*b) - intersection
    iou = _divide_no_nan(intersection, union)
    if mode == "iou":
        return np.squeeze(1.0 - iou)
    enclosing = _box_area(
        np.minimum(a[0], b[0]),
        np.minimum(a[1], b[1]),
        np.maximum(a[2], b[2]),
        np.maximum(a[3], b[3]),
    )
    giou = iou - _divide_no_nan(enclosing - union, enclosing)
    return np.squeeze(1.0 - giou)


class GIoULoss(_LossClass):
    def __init__(self, mode: str = "giou") -> None:
        super().__init__(giou_loss, "sum_over_batch_size", mode=mode)


# ------------------------------------------------------------------ metric learning


def _labels(y_true: Any) -> np.ndarray:
    return np.asarray(y_true).reshape(-1)


def _squared_euclidean(x: np.ndarray) -> np.ndarray:
    return np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)


def pairwise_distance(embeddings: Any, distance_metric: Any = "L2") -> np.ndarray:
    """TFA's distances: "L2", "squared-L2", "angular" (1 - cosine, at least 0) or a callable."""
    x = _f64(embeddings)
    if callable(distance_metric):
        return _f64(distance_metric(x))
    if distance_metric == "L2":
        return np.sqrt(_squared_euclidean(x))
    if distance_metric == "squared-L2":
        return _squared_euclidean(x)
    if distance_metric == "angular":
        # tf.math.l2_normalize: x / sqrt(max(||x||^2, 1e-12)).
        unit = x / np.sqrt(np.maximum(np.sum(x**2, axis=1, keepdims=True), 1e-12))
        return np.maximum(1.0 - unit @ unit.T, 0.0)
    raise ValueError(f"unknown distance_metric {distance_metric!r}")


def _masked_max(row: np.ndarray, mask: np.ndarray) -> float:
    """TFA's masked maximum: the row's minimum when the mask is empty."""
    return float(row[mask].max()) if mask.any() else float(row.min())


def _masked_min(row: np.ndarray, mask: np.ndarray) -> float:
    """TFA's masked minimum: the row's maximum when the mask is empty."""
    return float(row[mask].min()) if mask.any() else float(row.max())


def triplet_hard_loss(
    y_true: Any,
    y_pred: Any,
    margin: float = 1.0,
    soft: bool = False,
    distance_metric: Any = "L2",
) -> float:
    """Hermans et al. (2017), batch hard: mean over anchors of
    max(max_p D[a, p] - min_n D[a, n] + margin, 0), or log(1 + exp(gap)) with soft.
    """
    labels = _labels(y_true)
    d = pairwise_distance(y_pred, distance_metric)
    values = []
    for a in range(len(labels)):
        positive = labels == labels[a]
        positive[a] = False
        negative = labels != labels[a]
        gap = _masked_max(d[a], positive) - _masked_min(d[a], negative)
        values.append(np.log1p(np.exp(gap)) if soft else max(gap + margin, 0.0))
    return float(np.mean(values))


def triplet_semihard_loss(
    y_true: Any, y_pred: Any, margin: float = 1.0, distance_metric: Any = "L2"
) -> float:
    """Schroff et al. (2015), semi-hard: mean over positive pairs (a, p), a != p, of
    max(margin + D[a, p] - D[a, n], 0), n the closest negative with D[a, n] > D[a, p],
    or the farthest negative if none is farther. NaN (0/0) without positive pairs.
    """
    labels = _labels(y_true)
    d = pairwise_distance(y_pred, distance_metric)
    total, pairs = 0.0, 0
    for a in range(len(labels)):
        negative = labels != labels[a]
        for p in range(len(labels)):
            if p == a or labels[p] != labels[a]:
                continue
            farther = negative & (d[a] > d[a, p])
            if farther.any():
                d_an = float(d[a][farther].min())
            else:
                d_an = _masked_max(d[a], negative)
            total += max(margin + d[a, p] - d_an, 0.0)
            pairs += 1
    return total / pairs if pairs else float("nan")


class TripletHardLoss(_LossClass):
    def __init__(
        self, margin: float = 1.0, soft: bool = False, distance_metric: Any = "L2"
    ) -> None:
        super().__init__(
            triplet_hard_loss, "none", margin=margin, soft=soft, distance_metric=distance_metric
        )


class TripletSemiHardLoss(_LossClass):
    def __init__(self, margin: float = 1.0, distance_metric: Any = "L2") -> None:
        super().__init__(
            triplet_semihard_loss, "none", margin=margin, distance_metric=distance_metric
        )


def lifted_struct_loss(labels: Any, embeddings: Any, margin: float = 1.0) -> float:
    """Oh Song et al. (2016): 1 / (2 |P|) sum over unordered positive pairs (i, j) of
    max(J_ij, 0)^2, J_ij = log(sum_{k neg of i} exp(margin - D_ik)
    + sum_{l neg of j} exp(margin - D_jl)) + D_ij, D Euclidean. NaN without positive pairs.
    """
    labels = _labels(labels)
    d = pairwise_distance(embeddings, "L2")
    total, pairs = 0.0, 0
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if labels[i] != labels[j]:
                continue
            terms = np.concatenate(
                [margin - d[i, labels != labels[i]], margin - d[j, labels != labels[j]]]
            )
            j_ij = (_logsumexp(terms) if terms.size else -np.inf) + d[i, j]
            total += max(j_ij, 0.0) ** 2
            pairs += 1
    return total / (2 * pairs) if pairs else float("nan")


class LiftedStructLoss(_LossClass):
    def __init__(self, margin: float = 1.0) -> None:
        super().__init__(lifted_struct_loss, "none", margin=margin)


def _softmax_crossentropy(target: np.ndarray, logits: np.ndarray) -> np.ndarray:
    return -np.sum(target * _log_softmax(logits), axis=-1)


def npairs_loss(y_true: Any, y_pred: Any) -> float:
    """Sohn (2016): each row of the similarity matrix y_pred (B, B) is a softmax over the
    batch whose target is uniform over the samples with the anchor's label; the mean.
    """
    labels = _labels(y_true)
    target = (labels[:, None] == labels[None, :]).astype(np.float64)
    target /= target.sum(axis=1, keepdims=True)
    return float(np.mean(_softmax_crossentropy(target, _f64(y_pred))))


def npairs_multilabel_loss(y_true: Any, y_pred: Any) -> float:
    """N-pairs for multi-hot labels (B, C): row i's target is proportional to the number
    of labels sample i shares with each sample j.
    """
    y = _f64(y_true)
    target = y @ y.T
    target /= target.sum(axis=1, keepdims=True)
    return float(np.mean(_softmax_crossentropy(target, _f64(y_pred))))


class NpairsLoss(_LossClass):
    def __init__(self) -> None:
        super().__init__(npairs_loss, "none")


class NpairsMultilabelLoss(_LossClass):
    def __init__(self) -> None:
        super().__init__(npairs_multilabel_loss, "none")


# ------------------------------------------------------------------ pinball


def pinball_loss(y_true: Any, y_pred: Any, tau: Any = 0.5) -> np.ndarray:
    """Koenker and Bassett (1978): max(tau delta, (tau - 1) delta), delta = y_true - y_pred,
    averaged over the last axis. A tau array broadcasts along the batch axis.
    """
    delta = _f64(y_true) - _f64(y_pred)
    tau = np.expand_dims(_f64(tau), 0)
    return np.mean(np.maximum(tau * delta, (tau - 1.0) * delta), axis=-1)


class PinballLoss(_LossClass):
    def __init__(self, tau: Any = 0.5) -> None:
        super().__init__(pinball_loss, "sum_over_batch_size", tau=tau)


# ------------------------------------------------------------------ sparsemax


def sparsemax(logits: Any) -> np.ndarray:
    """Martins and Astudillo (2016): the Euclidean projection of each row onto the simplex.

    With z sorted in decreasing order, k(z) = max{k : 1 + k z_(k) > sum_{j<=k} z_(j)},
    tau = (sum_{j<=k(z)} z_(j) - 1) / k(z), and p = max(z - tau, 0).
    """
    z = _f64(logits)
    ordered = -np.sort(-z, axis=-1)
    cumulative = np.cumsum(ordered, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    support = np.sum(1.0 + k * ordered > cumulative, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, support - 1, axis=-1) - 1.0) / support
    return np.maximum(z - tau, 0.0)


def sparsemax_loss(logits: Any, sparsemax: Any, labels: Any) -> np.ndarray:
    """Martins and Astudillo (2016), in TFA's form with the sparsemax output p:

    loss = sum_{j : p_j > 0} p_j (z_j - p_j / 2) + sum_j q_j (q_j / 2 - z_j), per row.
    """
    z, p, q = _f64(logits), _f64(sparsemax), _f64(labels)
    support_part = np.where(p > 0, p * (z - 0.5 * p), 0.0)
    return np.sum(support_part + q * (0.5 * q - z), axis=1)


def _sparsemax_loss_from_logits(y_true: Any, y_pred: Any) -> np.ndarray:
    return sparsemax_loss(y_pred, sparsemax(y_pred), y_true)


class SparsemaxLoss(_LossClass):
    def __init__(self, from_logits: bool = True) -> None:
        if from_logits is not True:
            raise ValueError("from_logits must be True")
        super().__init__(_sparsemax_loss_from_logits, "sum_over_batch_size")


# ------------------------------------------------------------------ weighted kappa


class WeightedKappaLoss:
    """de la Torre et al. (2018): log(observed / expected weighted disagreement + epsilon).

    With w_ij = |i - j| or (i - j)^2, c_b the label index of sample b (y_true @ range(C)):
    observed = sum_b sum_j w(c_b, j) y_pred[b, j];
    expected = (sum_b y_true[b]) W (sum_b y_pred[b]) / B; the ratio is 0 if expected is 0.
    A falsy epsilon becomes 1e-7. The loss is one number for the batch.
    """

    def __init__(
        self,
        num_classes: int,
        weightage: str | None = "quadratic",
        name: str | None = "cohen_kappa_loss",
        epsilon: float | None = 1e-6,
    ) -> None:
        if weightage not in ("linear", "quadratic"):
            raise ValueError("Unknown kappa weighting type.")
        self.num_classes, self.weightage = num_classes, weightage
        self.epsilon = epsilon or EPSILON

    def _weight(self, gap: np.ndarray) -> np.ndarray:
        return np.abs(gap) if self.weightage == "linear" else gap**2

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        y, p = _f64(y_true), _f64(y_pred)
        classes = np.arange(self.num_classes, dtype=np.float64)
        label_index = y @ classes
        observed = np.sum(self._weight(label_index[:, None] - classes[None, :]) * p)
        weights = self._weight(classes[:, None] - classes[None, :])
        expected = y.sum(axis=0) @ weights @ p.sum(axis=0) / y.shape[0]
        return float(np.log(_divide_no_nan(observed, expected) + self.epsilon))


# ------------------------------------------------------------------ seq2seq


def sequence_loss(
    logits: Any,
    targets: Any,
    weights: Any,
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    sum_over_timesteps: bool = False,
    sum_over_batch: bool = False,
) -> np.ndarray:
    """Weighted softmax cross-entropy of logits (B, T, V) against targets (B, T) (class
    ids) or (B, T, V) (one-hot), reduced as TFA's flags say:

    - average_across_*: sum(ce w) / sum(w) over that axis (both: over everything);
    - sum_over_*: sum(ce w) / (number of nonzero w) over that axis (both: everything);
    - none: the weighted (B, T) values. Each division is divide_no_nan.
    """
    if average_across_timesteps and sum_over_timesteps:
        raise ValueError("average_across_timesteps and sum_over_timesteps both set")
    if average_across_batch and sum_over_batch:
        raise ValueError("average_across_batch and sum_over_batch both set")
    if average_across_batch and sum_over_timesteps:
        raise ValueError("average_across_batch and sum_over_timesteps both set")
    if sum_over_batch and average_across_timesteps:
        raise ValueError("sum_over_batch and average_across_timesteps both set")
    log_p = _log_softmax(_f64(logits))
    targets, w = np.asarray(targets), _f64(weights)
    if targets.ndim == 2:
        ce = -np.take_along_axis(log_p, targets[..., None].astype(np.int64), axis=-1)[..., 0]
    else:
        ce = _softmax_crossentropy(_f64(targets), _f64(logits))
    ce = ce * w
    if average_across_timesteps and average_across_batch:
        return _divide_no_nan(ce.sum(), w.sum())
    if sum_over_timesteps and sum_over_batch:
        return _divide_no_nan(ce.sum(), np.count_nonzero(w))
    if average_across_timesteps or average_across_batch:
        axis = 0 if average_across_batch else 1
        return _divide_no_nan(ce.sum(axis=axis), w.sum(axis=axis))
    if sum_over_timesteps or sum_over_batch:
        axis = 0 if sum_over_batch else 1
        return _divide_no_nan(ce.sum(axis=axis), np.count_nonzero(w, axis=axis))
    return ce


class SequenceLoss:
    """`sequence_loss` as a class; its defaults are sum_over_timesteps and sum_over_batch."""

    def __init__(
        self,
        average_across_timesteps: bool = False,
        average_across_batch: bool = False,
        sum_over_timesteps: bool = True,
        sum_over_batch: bool = True,
    ) -> None:
        self.flags = {
            "average_across_timesteps": average_across_timesteps,
            "average_across_batch": average_across_batch,
            "sum_over_timesteps": sum_over_timesteps,
            "sum_over_batch": sum_over_batch,
        }

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any) -> np.ndarray:
        return sequence_loss(y_pred, y_true, sample_weight, **self.flags)


tfa = SimpleNamespace(
    losses=SimpleNamespace(**{name: globals()[name] for name in LOSSES}),
    activations=SimpleNamespace(sparsemax=sparsemax),
    seq2seq=SimpleNamespace(**{name: globals()[name] for name in SEQ2SEQ_LOSSES}),
)
