"""NumPy references, in float64, of the proxy losses and sub-center ArcFace, restated from
the papers (Kim et al. 2020, eq. 4; Movshovitz-Attias et al. 2017 with the own proxy in
the softmax, as pytorch-metric-learning computes it; Deng et al. 2020, sub-center
ArcFace). Loops over classes and samples on purpose: they are written to be read.
"""

from __future__ import annotations

import math

import numpy as np


def _unit(x, axis=-1):
    x = np.asarray(x, np.float64)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return np.where(norm > 1e-12, x / np.where(norm > 1e-12, norm, 1.0), 0.0)


def cosines(embeddings, proxies):
    return _unit(embeddings) @ _unit(proxies).T


def _log1p_sum_exp(values):
    """log(1 + sum exp(v)), stable; 0 for an empty set."""
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return 0.0
    top = max(values.max(), 0.0)
    return top + math.log(math.exp(-top) + np.exp(values - top).sum())


def proxy_anchor(labels, embeddings, proxies, margin=0.1, alpha=32.0):
    """The batch loss of eq. (4): a scalar."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    cos = cosines(embeddings, proxies)
    num_classes = cos.shape[1]
    pos_total, neg_total, with_positives = 0.0, 0.0, 0
    for c in range(num_classes):
        positive = labels == c
        if positive.any():
            with_positives += 1
            pos_total += _log1p_sum_exp(-alpha * (cos[positive, c] - margin))
        neg_total += _log1p_sum_exp(alpha * (cos[~positive, c] + margin))
    return pos_total / max(with_positives, 1) + neg_total / num_classes


def proxy_anchor_per_sample(labels, embeddings, proxies, margin=0.1, alpha=32.0):
    """Each proxy's terms split among its samples by their softmax weight, times B."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    cos = cosines(embeddings, proxies)
    batch, num_classes = cos.shape
    with_positives = max(len(set(labels.tolist())), 1)
    values = np.zeros(batch)
    for c in range(num_classes):
        for members, z, divisor in (
            (labels == c, -alpha * (cos[:, c] - margin), with_positives),
            (labels != c, alpha * (cos[:, c] + margin), num_classes),
        ):
            if not members.any():
                continue
            term = _log1p_sum_exp(z[members])
            weights = np.exp(z[members] - z[members].max())
            values[members] += batch * term * weights / weights.sum() / divisor
    return values


def proxy_nca(labels, embeddings, proxies, softmax_scale=1.0):
    """-log softmax(-s * squared distance of unit vectors)[label], per sample."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    a, p = _unit(embeddings), _unit(proxies)
    squared = ((a[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    logits = -softmax_scale * squared
    top = logits.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return log_z - logits[np.arange(len(labels)), labels]


def subcenter_arcface_logits(embeddings, kernel, labels, sub_centers, scale=64.0, margin=0.5):
    """Class cosine = max over the class's sub-centres; ArcFace's margin on the target."""
    cos = _unit(embeddings) @ _unit(kernel, axis=0)
    batch, columns = cos.shape
    num_classes = columns // sub_centers
    class_cos = cos.reshape(batch, num_classes, sub_centers).max(axis=2)
    logits = class_cos.copy()
    if labels is not None:
        for i, label in enumerate(np.asarray(labels).reshape(-1).astype(int)):
            theta = math.acos(min(max(class_cos[i, label], -1.0), 1.0))
            if theta <= math.pi - margin:
                logits[i, label] = math.cos(theta + margin)
            else:
                logits[i, label] = math.cos(theta) - margin * math.sin(margin)
    return scale * logits


def dominant_sub_centers(embeddings, kernel, labels, sub_centers, max_angle):
    """The paper's cleaning step: per class, the sub-centre most samples are nearest to
    (lowest index on a tie, -1 for an absent class); a sample is an outlier if its angle
    to its class's dominant sub-centre exceeds `max_angle` (radians)."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    cos = _unit(embeddings) @ _unit(kernel, axis=0)
    num_classes = cos.shape[1] // sub_centers
    dominant = -np.ones(num_classes, dtype=int)
    outliers = np.zeros(len(labels), dtype=bool)
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        if not len(members):
            continue
        own = cos[members, c * sub_centers : (c + 1) * sub_centers]
        counts = np.bincount(own.argmax(axis=1), minlength=sub_centers)
        dominant[c] = int(counts.argmax())
        outliers[members] = own[:, dominant[c]] < math.cos(max_angle)
    return dominant, outliers
