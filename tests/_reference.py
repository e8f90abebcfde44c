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


# Margin softmax


def _unit(a, axis):
    a = np.asarray(a, np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=axis, keepdims=True), 1e-12)


def margin_cosines(x, kernel):
    """cos(theta) between each embedding row of x (B, D) and each kernel column (D, C)."""
    return _unit(x, 1) @ _unit(kernel, 0)


def _with_target(cos, labels, target):
    out = cos.copy()
    out[np.arange(len(labels)), labels] = target
    return out


def cosface_logits(x, kernel, labels=None, *, scale, margin):
    """Wang et al. 2018: s (cos(theta_j) - m [j = y])."""
    cos = margin_cosines(x, kernel)
    if labels is not None:
        cos = _with_target(cos, labels, cos[np.arange(len(labels)), labels] - margin)
    return scale * cos


def arcface_logits(x, kernel, labels=None, *, scale, margin):
    """Deng et al. 2019: s cos(theta_y + m), with cos(theta) - m sin(m) beyond pi - m."""
    cos = margin_cosines(x, kernel)
    if labels is not None:
        theta = np.arccos(np.clip(cos[np.arange(len(labels)), labels], -1, 1))
        target = np.where(
            theta <= np.pi - margin, np.cos(theta + margin), np.cos(theta) - margin * np.sin(margin)
        )
        cos = _with_target(cos, labels, target)
    return scale * cos


def sphereface_logits(x, kernel, labels=None, *, margin, softmax_weight=0.0):
    """Liu et al. 2017: ||x|| ((-1)^k cos(m theta_y) - 2k), k = floor(theta_y m / pi)."""
    cos = margin_cosines(x, kernel)
    if labels is not None:
        c = cos[np.arange(len(labels)), labels]
        theta = np.arccos(np.clip(c, -1, 1))
        k = np.floor(theta / (np.pi / margin))
        psi = (-1.0) ** k * np.cos(margin * theta) - 2 * k
        cos = _with_target(cos, labels, (softmax_weight * c + psi) / (1 + softmax_weight))
    return np.linalg.norm(np.asarray(x, np.float64), axis=1, keepdims=True) * cos


def sparse_crossentropy(labels, logits):
    """Per-sample cross-entropy of integer labels from logits."""
    return -log_softmax(logits)[np.arange(len(labels)), labels]
