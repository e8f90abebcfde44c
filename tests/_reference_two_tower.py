"""NumPy float64 restatements of CLIP's and SigLIP's losses, from the papers' formulas."""

from __future__ import annotations

import numpy as np


def _cosines(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)

    def unit(x):
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        return np.where(norm > 0, x / np.where(norm > 0, norm, 1.0), 0.0)

    return unit(a) @ unit(b).T


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def clip(a, b, logit_scale):
    """Per pair: the mean of the a->b and b->a cross-entropies (Radford et al. 2021)."""
    logits = float(logit_scale) * _cosines(a, b)
    rows = -np.diag(_log_softmax(logits, axis=1))
    cols = -np.diag(_log_softmax(logits, axis=0))
    return 0.5 * (rows + cols)


def siglip(a, b, logit_scale, logit_bias):
    """Per row: -sum_j log sigmoid(z_ij (t cos_ij + b)) (Zhai et al. 2023)."""
    logits = float(logit_scale) * _cosines(a, b) + float(logit_bias)
    z = 2.0 * np.eye(len(logits)) - 1.0
    # log sigmoid(x) = -log(1 + exp(-x)), stable for large |x|
    return np.logaddexp(0.0, -z * logits).sum(axis=1)
