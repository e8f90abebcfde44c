"""NumPy restatements of NT-Xent and SupCon, written from the papers' formulas, in float64.

Loops over anchors and pairs, as the formulas are written: slow and plain on purpose.
The reductions are pytorch-metric-learning's defaults: NT-Xent averages over all
positive pairs (MeanReducer); SupCon averages over the anchors whose term is > 0
(AvgNonZeroReducer) and is 0 when the batch has no negative pair. Its float arithmetic
rounds a term below the unit roundoff u to 0 (1 + the other entries' share rounds to 1),
so "non-zero" is term > u: 2^-24 for float32 computations, 2^-53 for float64.
"""

from __future__ import annotations

import numpy as np


def cosine(x, ref=None):
    """cos(x_i, r_j), (B, M); a row of norm below 1e-12 is the zero vector (cosine 0)."""

    def unit(v):
        v = np.asarray(v, np.float64)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return np.where(norm > 1e-12, v / np.where(norm > 1e-12, norm, 1.0), 0.0)

    u = unit(x)
    return u @ (u if ref is None else unit(ref)).T


def _logsumexp(values):
    values = np.asarray(values, np.float64)
    top = values.max()
    return top + np.log(np.exp(values - top).sum())


def _sets(labels, ref_labels, same):
    """For each anchor a: its positives P(a) and negatives N(a), as index lists."""
    labels = np.asarray(labels).reshape(-1)
    ref_labels = np.asarray(ref_labels).reshape(-1)
    positives, negatives = [], []
    for a, label in enumerate(labels):
        positives.append(
            [j for j, r in enumerate(ref_labels) if r == label and not (same and j == a)]
        )
        negatives.append([j for j, r in enumerate(ref_labels) if r != label])
    return positives, negatives


def _setup(labels, x, ref, ref_labels):
    same = ref is None
    s = cosine(x, None if same else ref)
    positives, negatives = _sets(labels, labels if same else ref_labels, same)
    return s, positives, negatives


def nt_xent_pair_terms(labels, x, t, ref=None, ref_labels=None):
    """[(a, term)] for every positive pair (a, p):
    term = -log(exp(s_ap / t) / (exp(s_ap / t) + sum_{n in N(a)} exp(s_an / t)))."""
    s, positives, negatives = _setup(labels, x, ref, ref_labels)
    terms = []
    for a in range(len(s)):
        for p in positives[a]:
            logits = [s[a, p] / t] + [s[a, n] / t for n in negatives[a]]
            terms.append((a, -(s[a, p] / t - _logsumexp(logits))))
    return terms


def nt_xent(labels, x, t, ref=None, ref_labels=None):
    """The batch loss: the mean over all positive pairs; 0 without any."""
    terms = [term for _, term in nt_xent_pair_terms(labels, x, t, ref, ref_labels)]
    return float(np.mean(terms)) if terms else 0.0


def nt_xent_shares(labels, x, t, ref=None, ref_labels=None):
    """Per anchor: B * (sum of its pairs' terms) / (number of positive pairs)."""
    size = len(np.asarray(x))
    pairs = nt_xent_pair_terms(labels, x, t, ref, ref_labels)
    shares = np.zeros(size)
    for a, term in pairs:
        shares[a] += term
    return shares * size / max(len(pairs), 1)


def supcon_terms(labels, x, t, ref=None, ref_labels=None):
    """Per anchor a with positives:
    -mean_{p in P(a)} (s_ap / t - log sum_{j in P(a) + N(a)} exp(s_aj / t)); else 0."""
    s, positives, negatives = _setup(labels, x, ref, ref_labels)
    terms = np.zeros(len(s))
    for a in range(len(s)):
        if not positives[a]:
            continue
        log_total = _logsumexp([s[a, j] / t for j in positives[a] + negatives[a]])
        terms[a] = -np.mean([s[a, p] / t - log_total for p in positives[a]])
    has_negative = any(negatives)
    return terms, has_negative


FLOAT32_ROUNDOFF = 2.0**-24


def supcon(labels, x, t, ref=None, ref_labels=None, roundoff=FLOAT32_ROUNDOFF):
    """The batch loss: the mean of the terms > u; 0 without any, or without negatives."""
    terms, has_negative = supcon_terms(labels, x, t, ref, ref_labels)
    nonzero = terms[terms > roundoff]
    return float(nonzero.mean()) if has_negative and len(nonzero) else 0.0


def supcon_shares(labels, x, t, ref=None, ref_labels=None, roundoff=FLOAT32_ROUNDOFF):
    """Per anchor: B * term / (number of terms > u) for the terms > u, else 0; zeros
    without negatives."""
    terms, has_negative = supcon_terms(labels, x, t, ref, ref_labels)
    counted = terms > roundoff
    if not has_negative:
        return np.zeros_like(terms)
    return np.where(counted, terms, 0.0) * len(terms) / max(int(counted.sum()), 1)
