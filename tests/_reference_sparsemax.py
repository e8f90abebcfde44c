"""NumPy restatements of sparsemax, the sparsemax loss and the N-pairs losses, in float64.

Written from Martins & Astudillo (2016), TensorFlow Addons' `sparsemax_loss`,
`npairs_loss` and `npairs_multilabel_loss`, and optax's `multiclass_sparsemax_loss`.
Nothing here calls kerasloss: these are the independent expectations the tests use.
"""

from __future__ import annotations

import numpy as np


def sparsemax(z, axis=-1):
    """The paper's sort-based evaluation: sort, find the support size k(z), threshold tau(z)."""
    z = np.moveaxis(np.asarray(z, np.float64), axis, -1)
    z_sorted = -np.sort(-z, axis=-1)
    partial = np.cumsum(z_sorted, axis=-1)
    j = np.arange(1, z.shape[-1] + 1)
    k = np.sum(1.0 + j * z_sorted > partial, axis=-1, keepdims=True)
    tau = (np.take_along_axis(partial, k - 1, axis=-1) - 1.0) / k
    return np.moveaxis(np.maximum(z - tau, 0.0), -1, axis)


def sparsemax_by_bisection(z, steps=200):
    """The projection found another way: tau with sum(max(z - tau, 0)) = 1, by bisection.

    Independent of the sort formula; used to check the reference itself.
    """
    z = np.asarray(z, np.float64)
    low = z.max(axis=-1, keepdims=True) - 1.0  # the sum is >= 1 here
    high = z.max(axis=-1, keepdims=True)  # and 0 here
    for _ in range(steps):
        mid = (low + high) / 2
        above = np.maximum(z - mid, 0.0).sum(axis=-1, keepdims=True) > 1.0
        low, high = np.where(above, mid, low), np.where(above, high, mid)
    return np.maximum(z - (low + high) / 2, 0.0)


def sparsemax_jacobian(z):
    """d sparsemax(z) / d z for one row z (C,): diag(s) - s s^T / |S|, the paper's Jacobian."""
    s = (sparsemax(z) > 0).astype(np.float64)
    return np.diag(s) - np.outer(s, s) / s.sum()


def tfa_sparsemax_loss(labels, logits):
    """TensorFlow Addons' `sparsemax_loss(logits, sparsemax(logits), labels)`, per row.

    Over the support, p * (z - p / 2); for every class, q * (q / 2 - z); summed over the
    classes. A class outside the support, or with q = 0, adds nothing (TFA's guards
    against 0 * inf).
    """
    z = np.asarray(logits, np.float64)
    q = np.asarray(labels, np.float64)
    p = sparsemax(z)
    with np.errstate(invalid="ignore"):
        from_p = np.where(p > 0, p * (z - 0.5 * p), 0.0)
        from_q = np.where((q == 0) & np.isinf(z), 0.0, q * (0.5 * q - z))
    return (from_p + from_q).sum(axis=-1)


def paper_sparsemax_loss(labels, logits):
    """The paper's loss: -q.z + 1/2 sum_{j in S} (z_j^2 - tau^2) + 1/2 ||q||^2."""
    z = np.asarray(logits, np.float64)
    q = np.asarray(labels, np.float64)
    p = sparsemax(z)
    support = p > 0
    # tau from any class of the support: p_j = z_j - tau.
    tau = np.sum(np.where(support, z - p, 0.0), axis=-1) / support.sum(axis=-1)
    half_sq = 0.5 * (np.where(support, z**2, 0.0).sum(axis=-1) - support.sum(axis=-1) * tau**2)
    return -(q * z).sum(axis=-1) + half_sq + 0.5 * (q**2).sum(axis=-1)


def optax_multiclass_sparsemax_loss(label_ids, logits):
    """optax's `multiclass_sparsemax_loss(scores, labels)`, per row, for integer labels.

    With p the projection of the scores onto the simplex and y the label:
    sum_j p_j * (z_j - z_y) over the classes where p_j != 0, plus (1 - p . p) / 2.
    """
    z = np.asarray(logits, np.float64)
    ids = np.asarray(label_ids).reshape(z.shape[:-1]).astype(np.int64)
    p = sparsemax(z)
    z_y = np.take_along_axis(z, ids[..., None], axis=-1)
    gap = np.where(p != 0, z - z_y, 0.0)
    return (p * gap).sum(axis=-1) + 0.5 * (1.0 - (p * p).sum(axis=-1))


def sparsemax_loss_gradient(labels, logits):
    """d loss / d z = sparsemax(z) - q, as the paper shows."""
    return sparsemax(logits) - np.asarray(labels, np.float64)


def _log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _softmax_crossentropy(targets, logits):
    """tf.nn.softmax_cross_entropy_with_logits: -sum_j t_j log softmax(x)_j per row."""
    log_p = _log_softmax(logits)
    return -np.where(targets != 0, targets * log_p, 0.0).sum(axis=-1)


def npairs_rows(labels, similarities):
    """TensorFlow Addons' `npairs_loss` before its mean: one cross-entropy per row."""
    labels = np.asarray(labels).reshape(-1)
    same = (labels[:, None] == labels[None, :]).astype(np.float64)
    return _softmax_crossentropy(same / same.sum(axis=1, keepdims=True), similarities)


def npairs(labels, similarities):
    """TensorFlow Addons' `npairs_loss`: the mean over the rows."""
    return npairs_rows(labels, similarities).mean()


def npairs_multilabel_rows(multi_hot, similarities):
    """TensorFlow Addons' `npairs_multilabel_loss` before its mean (NaN for a row with no
    label: TFA divides 0 by 0)."""
    y = np.asarray(multi_hot, np.float64)
    shared = y @ y.T
    with np.errstate(invalid="ignore"):
        targets = shared / shared.sum(axis=1, keepdims=True)
    return _softmax_crossentropy(targets, similarities)


def npairs_multilabel(multi_hot, similarities):
    """TensorFlow Addons' `npairs_multilabel_loss`: the mean over the rows."""
    return npairs_multilabel_rows(multi_hot, similarities).mean()
