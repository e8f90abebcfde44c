"""NumPy restatements of the pair losses, in float64, written from the papers' formulas.

Pairs are enumerated one by one, as the formulas read: anchor i of the batch against
every row j of the reference set (the batch itself unless one is given; then i is
never its own positive). Each function returns the batch loss, or with
`per_anchor=True` the per-anchor values whose mean is that loss.
"""

from __future__ import annotations

import numpy as np

NORM_FLOOR = 1e-12


def _unit(a):
    norm = np.linalg.norm(a, axis=-1, keepdims=True)
    return np.where(norm > NORM_FLOOR, a / np.where(norm > 0, norm, 1.0), 0.0)


def cosines(x, r):
    """cos(x_i, r_j); 0 for a zero vector."""
    return _unit(np.asarray(x, np.float64)) @ _unit(np.asarray(r, np.float64)).T


def distances(x, r, distance):
    """d(x_i, r_j) from the differences: Euclidean, squared, or 1 - cosine."""
    x, r = np.asarray(x, np.float64), np.asarray(r, np.float64)
    squared = ((x[:, None, :] - r[None, :, :]) ** 2).sum(-1)
    if distance == "squared_euclidean":
        return squared
    if distance == "euclidean":
        return np.sqrt(squared)
    return 1.0 - cosines(x, r)


def pairs(labels, ref_labels=None):
    """Per anchor, the indices of its positives and of its negatives."""
    labels = np.asarray(labels).reshape(-1)
    same = ref_labels is None
    others = labels if same else np.asarray(ref_labels).reshape(-1)
    positives, negatives = [], []
    for i, label in enumerate(labels):
        positives.append([j for j, o in enumerate(others) if o == label and not (same and j == i)])
        negatives.append([j for j, o in enumerate(others) if o != label])
    return positives, negatives


def _reference_set(x, ref_x):
    return np.asarray(x if ref_x is None else ref_x, np.float64)


def contrastive(
    labels,
    x,
    pos_margin=0.0,
    neg_margin=1.0,
    distance="euclidean",
    ref_x=None,
    ref_labels=None,
    per_anchor=False,
):
    """Hadsell et al.: hinge on every positive and negative pair, each side averaged over
    its non-zero terms (pytorch-metric-learning's reduction), the two averages added."""
    d = distances(x, _reference_set(x, ref_x), distance)
    positives, negatives = pairs(labels, ref_labels)
    pos = [[max(d[i, j] - pos_margin, 0.0) for j in p] for i, p in enumerate(positives)]
    neg = [[max(neg_margin - d[i, j], 0.0) for j in n] for i, n in enumerate(negatives)]
    n_pos = max(sum(v > 0 for row in pos for v in row), 1)
    n_neg = max(sum(v > 0 for row in neg for v in row), 1)
    shares = np.array([sum(p) / n_pos + sum(n) / n_neg for p, n in zip(pos, neg, strict=True)])
    return len(shares) * shares if per_anchor else shares.sum()


def _log_one_plus_sum_exp(values):
    values = np.asarray(values, np.float64)
    return float(np.logaddexp.reduce(np.concatenate([[0.0], values])))


def multi_similarity(
    labels,
    x,
    alpha=2.0,
    beta=50.0,
    base=0.5,
    epsilon=None,
    ref_x=None,
    ref_labels=None,
    per_anchor=False,
):
    """Wang et al. 2019, eq. (6) on cosine similarities, with the mining of eq. (3)-(4)
    when `epsilon` is given: positives below the hardest negative + epsilon, negatives
    above the hardest positive - epsilon."""
    s = cosines(x, _reference_set(x, ref_x))
    positives, negatives = pairs(labels, ref_labels)
    values = []
    for i, (p, n) in enumerate(zip(positives, negatives, strict=True)):
        if epsilon is not None:
            if p and n:
                hardest_negative = max(s[i, j] for j in n)
                hardest_positive = min(s[i, j] for j in p)
                p, n = (
                    [j for j in p if s[i, j] - epsilon < hardest_negative],
                    [j for j in n if s[i, j] + epsilon > hardest_positive],
                )
            else:
                p, n = [], []
        pos = _log_one_plus_sum_exp([alpha * (base - s[i, j]) for j in p]) / alpha
        neg = _log_one_plus_sum_exp([beta * (s[i, j] - base) for j in n]) / beta
        values.append(pos + neg)
    values = np.array(values)
    return values if per_anchor else values.mean()


def _logsumexp_or_zero(values):
    return float(np.logaddexp.reduce(np.asarray(values, np.float64))) if len(values) else 0.0


def lifted_structure(
    labels,
    x,
    pos_margin=0.0,
    neg_margin=1.0,
    distance="euclidean",
    ref_x=None,
    ref_labels=None,
    per_anchor=False,
):
    """Hermans et al. 2017's generalized lifted structure: per anchor,
    [log sum_p exp(d_ap - pos_margin) + log sum_n exp(neg_margin - d_an)]_+."""
    d = distances(x, _reference_set(x, ref_x), distance)
    positives, negatives = pairs(labels, ref_labels)
    values = np.array(
        [
            max(
                _logsumexp_or_zero([d[i, j] - pos_margin for j in p])
                + _logsumexp_or_zero([neg_margin - d[i, j] for j in n]),
                0.0,
            )
            for i, (p, n) in enumerate(zip(positives, negatives, strict=True))
        ]
    )
    return values if per_anchor else values.mean()
