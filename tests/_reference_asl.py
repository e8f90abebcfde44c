"""NumPy float64 restatements of the asymmetric loss (ASL) and of Poly-1 cross-entropy.

Written from the papers' formulas (Ridnik et al. 2021; Leng et al. 2022, as optax states
Poly-1), element by element where that keeps extreme logits exact, never from kerasloss.
"""

from __future__ import annotations

import numpy as np


def log_sigmoid(x):
    """log(1 / (1 + e^-x)), exact for any x in float64."""
    return -np.logaddexp(0.0, -np.asarray(x, np.float64))


def asymmetric(y_true, y_pred, gamma_pos, gamma_neg, clip, from_logits, eps=1e-7):
    """Ridnik et al. (2021): per label, summed over the last axis.

    L+ = (1 - p)^gamma_pos * -log(p), L- = p_m^gamma_neg * -log(1 - p_m),
    p_m = max(p - clip, 0). From probabilities, p is clipped to [eps, 1 - eps].
    """
    y = np.asarray(y_true, np.float64)
    x = np.asarray(y_pred, np.float64)
    if from_logits:
        log_p, log_q = log_sigmoid(x), log_sigmoid(-x)
        p, q = np.exp(log_p), np.exp(log_q)  # q = 1 - p, without the subtraction
    else:
        p = np.clip(x, eps, 1.0 - eps)
        q = 1.0 - p
        log_p, log_q = np.log(p), np.log(q)
    positive = q**gamma_pos * -log_p
    p_m = np.maximum(p - clip, 0.0)
    # 1 - p_m = min(1 - p + clip, 1); with clip = 0 it is 1 - p, whose log is log_q.
    log_one_minus_p_m = np.log(np.minimum(q + clip, 1.0)) if clip > 0 else log_q
    negative = p_m**gamma_neg * -log_one_minus_p_m
    return np.sum(y * positive + (1.0 - y) * negative, axis=-1)


def _softmax_row(z):
    """-log p_j and 1 - p_j of softmax(z) for each class j of one row, exact in float64.

    -log p_j = log(sum_k exp(z_k - z_j)) = log1p(sum_{k != j} exp(z_k - z_j)) when z_j is
    the largest logit (every term <= 1), else a shifted log-sum-exp; 1 - p_j is the sum of
    the other classes' probabilities.
    """
    z = np.asarray(z, np.float64)
    top = z.max()
    log_total = top + np.log(np.sum(np.exp(z - top)))
    neg_log_p, not_p = np.empty_like(z), np.empty_like(z)
    for j in range(z.size):
        others = np.delete(z, j) - z[j]
        if others.size == 0:
            neg_log_p[j], not_p[j] = 0.0, 0.0
            continue
        if np.all(others <= 0):
            neg_log_p[j] = np.log1p(np.sum(np.exp(others)))
        else:
            neg_log_p[j] = log_total - z[j]
        not_p[j] = np.sum(np.exp(np.delete(z, j) - log_total))
    return neg_log_p, not_p


def poly1(y_true, y_pred, epsilon, from_logits, eps=1e-7):
    """Poly-1 (Leng et al. 2022) as optax defines it: sum_j y_j * (-log p_j + epsilon * (1 - p_j)).

    From logits, where 1 - p_j < 1/2 the term is the paper's expansion in q = 1 - p_j,
    (1 + epsilon) * q + q^2 / 2 + q^3 / 3 + ..., summed until it no longer changes, so it
    is exact even where -log p_j and epsilon * q cancel (epsilon = -1). From probabilities,
    p is y_pred renormalised; the log takes p clipped to [eps, 1 - eps].
    """
    y = np.asarray(y_true, np.float64)
    x = np.asarray(y_pred, np.float64)
    if not from_logits:
        p = x / x.sum(axis=-1, keepdims=True)
        terms = -np.log(np.clip(p, eps, 1.0 - eps)) + epsilon * (1.0 - p)
        return np.sum(y * terms, axis=-1)
    terms = np.empty_like(x)
    flat_terms = terms.reshape(-1, x.shape[-1])
    for row, z in enumerate(x.reshape(-1, x.shape[-1])):
        neg_log_p, not_p = _softmax_row(z)
        for j, q in enumerate(not_p):
            if q < 0.5:
                powers = q ** np.arange(2, 120)
                flat_terms[row, j] = (1.0 + epsilon) * q + np.sum(powers / np.arange(2, 120))
            else:
                flat_terms[row, j] = neg_log_p[j] + epsilon * q
    return np.sum(y * terms, axis=-1)
