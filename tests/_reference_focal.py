"""NumPy restatements of the focal losses (Lin et al. 2017), in float64 log space.

Nothing here calls kerasloss. The categorical form is the per-class one that Keras'
`CategoricalFocalCrossentropy` documents: sum_j alpha_j (1 - p_j)^gamma (-y_j log p_j)
with y the smoothed labels. From logits, log p and 1 - p are computed so that neither
loses digits at extreme logits: with s the sum of exp(x_k - max) over the classes other
than the largest, the largest class has log p = -log1p(s) and 1 - p = s / (1 + s).
"""

from __future__ import annotations

import numpy as np

from _reference import EPS, binary_focal


def smooth_categorical(y_true, label_smoothing):
    y = np.asarray(y_true, np.float64)
    return y * (1.0 - label_smoothing) + label_smoothing / y.shape[-1]


def log_p_and_complement(logits):
    """log softmax(x) and 1 - softmax(x), both to full relative precision, in float64."""
    x = np.asarray(logits, np.float64)
    top = np.argmax(x, axis=-1)[..., None]
    is_top = np.arange(x.shape[-1]) == top
    shifted = x - np.take_along_axis(x, top, axis=-1)
    s = np.where(is_top, 0.0, np.exp(shifted)).sum(-1, keepdims=True)
    log_p = shifted - np.log1p(s)
    complement = np.where(is_top, s / (1.0 + s), -np.expm1(log_p))
    return log_p, complement


def categorical_focal(y_true, y_pred, gamma, alpha, label_smoothing, from_logits, eps=EPS):
    """Per sample; `alpha` None, a scalar or one weight per class. Probabilities are
    renormalised and clipped to [eps, 1 - eps], Keras' convention."""
    y = smooth_categorical(y_true, label_smoothing)
    if from_logits:
        log_p, complement = log_p_and_complement(y_pred)
    else:
        p = np.asarray(y_pred, np.float64)
        p = np.clip(p / p.sum(-1, keepdims=True), eps, 1.0 - eps)
        log_p, complement = np.log(p), 1.0 - p
    weight = 1.0 if alpha is None else np.asarray(alpha, np.float64)
    with np.errstate(under="ignore"):
        return (weight * complement**gamma * -y * log_p).sum(-1)


def sparse_categorical_focal(
    ids, y_pred, gamma, alpha, label_smoothing, from_logits, ignore_class=None, eps=EPS
):
    """Per sample, from integer ids; 0 where the id is `ignore_class`."""
    ids = np.asarray(ids).reshape(np.shape(y_pred)[:-1])
    kept = np.ones(ids.shape, bool) if ignore_class is None else ids != ignore_class
    onehot = np.eye(np.shape(y_pred)[-1])[np.where(kept, ids, 0)]
    loss = categorical_focal(onehot, y_pred, gamma, alpha, label_smoothing, from_logits, eps)
    return np.where(kept, loss, 0.0)


def binary_focal_smoothed(y_true, y_pred, gamma, alpha, label_smoothing, from_logits):
    """torchvision's sigmoid focal loss of targets squeezed towards 0.5 (Keras' smoothing):
    the smoothed targets enter the cross-entropy, p_t and alpha_t."""
    y = np.asarray(y_true, np.float64) * (1.0 - label_smoothing) + 0.5 * label_smoothing
    with np.errstate(over="ignore"):  # exp(1e4) = inf is fine: 1 / (1 + inf) = 0
        return binary_focal(y, y_pred, gamma, alpha, from_logits)
