"""NumPy restatements of each loss, written from the published formulas, in float64.

Nothing here calls kerasloss: these are the independent expectations the tests use.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7  # keras.config.epsilon(): the probability clip Keras applies before a log


def log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def log_probs(y_pred, from_logits):
    y_pred = np.asarray(y_pred, np.float64)
    if from_logits:
        return log_softmax(y_pred)
    p = y_pred / y_pred.sum(axis=-1, keepdims=True)
    return np.log(np.clip(p, EPS, 1 - EPS))


def crossentropy(y_true, y_pred, from_logits):
    return -(np.asarray(y_true, np.float64) * log_probs(y_pred, from_logits)).sum(-1)


def cost_sensitive(y_true, y_pred, cost, from_logits):
    """cost: one (C, C) table, or (B, C, C) tables, one per example."""
    y_true = np.asarray(y_true, np.float64)
    cost = np.asarray(cost, np.float64)
    t = np.argmax(y_true, axis=-1)  # NumPy returns the first index on ties
    p = np.argmax(np.asarray(y_pred), axis=-1)
    weight = cost[t, p] if cost.ndim == 2 else cost[np.arange(len(t)), t, p]
    return weight * crossentropy(y_true, y_pred, from_logits)


def label_smoothing(y_true, y_pred, epsilon, from_logits):
    y_true = np.asarray(y_true, np.float64)
    uniform = np.full_like(y_true, 1.0 / y_true.shape[-1])
    return (1 - epsilon) * crossentropy(y_true, y_pred, from_logits) + epsilon * crossentropy(
        uniform, y_pred, from_logits
    )


def binary_focal(y_true, y_pred, gamma, alpha, from_logits):
    """torchvision's sigmoid_focal_loss per element (Lin et al. 2017), summed over the last axis."""
    y = np.asarray(y_true, np.float64)
    x = np.asarray(y_pred, np.float64)
    if from_logits:
        p = 1.0 / (1.0 + np.exp(-x))
        # BCE with logits, the overflow-free form: log(1 + e^x) - y x.
        ce = np.logaddexp(0.0, x) - y * x
        one_minus_p_t = y * (1.0 / (1.0 + np.exp(x))) + (1 - y) * p
    else:
        p = np.clip(x, EPS, 1 - EPS)
        ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        one_minus_p_t = 1 - (p * y + (1 - p) * (1 - y))
    loss = ce * one_minus_p_t**gamma
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss.sum(-1)


def binary_crossentropy(y_true, y_pred):
    """Keras' binary_crossentropy on probabilities: clipped, mean over the last axis."""
    y = np.asarray(y_true, np.float64)
    p = np.clip(np.asarray(y_pred, np.float64), EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)


def mean_squared_error(y_true, y_pred):
    return ((np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)) ** 2).mean(-1)


def softmax(x):
    return np.exp(log_softmax(x))


def sigmoid(x):
    x = np.asarray(x, np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


# Center loss


def center_loss(features, labels, centers):
    """Wen et al. 2016, eq. (2), per sample: 0.5 ||x_i - c_{y_i}||^2."""
    x = np.asarray(features, np.float64)
    c = np.asarray(centers, np.float64)
    labels = np.asarray(labels).reshape(-1).astype(int)
    return 0.5 * ((x - c[labels]) ** 2).sum(-1)


def wen_center_update(centers, features, labels, alpha):
    """One step of Wen et al. 2016, eq. (4) and Algorithm 1, with an explicit loop per class."""
    c = np.array(centers, np.float64)
    x = np.asarray(features, np.float64)
    labels = np.asarray(labels).reshape(-1).astype(int)
    new = c.copy()
    for j in range(c.shape[0]):
        members = labels == j
        delta = (c[j] - x[members]).sum(0) / (1 + members.sum())
        new[j] = c[j] - alpha * delta
    return new


def intra_inter_ratio(embeddings, labels):
    """Mean distance of a sample to its class mean over the mean distance between class means."""
    e = np.asarray(embeddings, np.float64)
    labels = np.asarray(labels).reshape(-1)
    classes = np.unique(labels)
    means = np.stack([e[labels == k].mean(0) for k in classes])
    own_mean = means[np.searchsorted(classes, labels)]
    intra = np.linalg.norm(e - own_mean, axis=1).mean()
    gaps = np.linalg.norm(means[:, None] - means[None, :], axis=-1)
    inter = gaps[np.triu_indices(len(classes), 1)].mean()
    return intra / inter
