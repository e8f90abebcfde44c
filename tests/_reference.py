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


# Multi-label


def bpmll(y_true, scores):
    """Zhang & Zhou (2006) eq. (4) by a loop over (relevant, irrelevant) label pairs.

    An example with no relevant or no irrelevant label scores 0 (undefined in the paper).
    """
    y_true = np.asarray(y_true, np.float64)
    scores = np.asarray(scores, np.float64)
    flat_y = y_true.reshape(-1, y_true.shape[-1])
    flat_c = scores.reshape(-1, scores.shape[-1])
    out = np.zeros(len(flat_y))
    for i, (y, c) in enumerate(zip(flat_y, flat_c, strict=True)):
        relevant = [k for k in range(len(y)) if y[k] > 0.5]
        irrelevant = [k for k in range(len(y)) if y[k] <= 0.5]
        if not relevant or not irrelevant:
            continue
        total = sum(np.exp(-(c[k] - c[j])) for k in relevant for j in irrelevant)
        out[i] = total / (len(relevant) * len(irrelevant))
    return out.reshape(y_true.shape[:-1])


def one_error(y_true, scores):
    """Per example: 1 when the top-scored label (first on ties) is irrelevant, else 0."""
    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    out = np.zeros(len(scores))
    for i in range(len(scores)):
        top = int(np.argmax(scores[i]))  # NumPy takes the first index on ties
        out[i] = 0.0 if y_true[i, top] > 0.5 else 1.0
    return out


def best_cuts(scores, y_true):
    """Zhang & Zhou (2006) section 3.3, by brute force: per example, the first of the cuts
    (lowest - 0.1, midpoints of neighbouring sorted scores, highest + 0.1) with the fewest
    relevant labels scored <= t plus irrelevant labels scored > t."""
    scores = np.asarray(scores, np.float64)
    cuts = []
    for c, y in zip(scores, np.asarray(y_true), strict=True):
        s = sorted(c)
        midpoints = [s[j] + (s[j + 1] - s[j]) / 2 for j in range(len(s) - 1)]
        candidates = [s[0] - 0.1, *midpoints, s[-1] + 0.1]
        errors = [
            sum(
                1 for k in range(len(c)) if (y[k] > 0.5 and c[k] <= t) or (y[k] <= 0.5 and c[k] > t)
            )
            for t in candidates
        ]
        cuts.append(candidates[errors.index(min(errors))])
    return np.array(cuts)


def linear_threshold_fit(scores, y_true):
    """Least squares by the normal equations: t ~ scores . w + b (full column rank assumed)."""
    design = np.hstack([np.asarray(scores, np.float64), np.ones((len(scores), 1))])
    solution = np.linalg.solve(design.T @ design, design.T @ best_cuts(scores, y_true))
    return solution[:-1], solution[-1]


# Metric learning: triplets
# TensorFlow Addons' definitions (tfa.losses.triplet_hard_loss, triplet_semihard_loss and
# metric_learning.pairwise_distance / angular_distance) and pytorch-metric-learning's
# TripletMarginLoss + AvgNonZeroReducer, restated as plain loops over triplets.


def tfa_distances(x, distance):
    """TFA's pairwise matrix: "L2"/"squared-L2" with a zero diagonal, "angular" without."""
    x = np.asarray(x, np.float64)
    if distance == "cosine":
        unit = x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), 1e-12))
        return np.maximum(1.0 - unit @ unit.T, 0.0)
    norms = (x * x).sum(-1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2.0 * (x @ x.T), 0.0)  # Gram form
    np.fill_diagonal(squared, 0.0)
    return squared if distance == "squared_euclidean" else np.sqrt(squared)


def row_distance(a, b, distance):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if distance == "cosine":
        return 1.0 - (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    squared = ((a - b) ** 2).sum(-1)
    return squared if distance == "squared_euclidean" else np.sqrt(squared)


def triplet_margin(anchor, positive, negative, margin, distance):
    gap = row_distance(anchor, positive, distance) - row_distance(anchor, negative, distance)
    return np.maximum(margin + gap, 0.0)


def _groups(labels, a):
    labels = np.asarray(labels).reshape(-1)
    positives = [p for p in range(len(labels)) if labels[p] == labels[a] and p != a]
    negatives = [n for n in range(len(labels)) if labels[n] != labels[a]]
    return positives, negatives


def tfa_hard(labels, x, margin, distance, soft=False):
    """Mean over all anchors; no positive: the row minimum, no negative: the row maximum."""
    d = tfa_distances(x, distance)
    terms = []
    for a in range(len(d)):
        positives, negatives = _groups(labels, a)
        hardest_positive = max(d[a, p] for p in positives) if positives else d[a].min()
        hardest_negative = min(d[a, n] for n in negatives) if negatives else d[a].max()
        gap = hardest_positive - hardest_negative
        terms.append(np.logaddexp(0.0, gap) if soft else max(gap + margin, 0.0))
    return float(np.mean(terms))


def tfa_semihard(labels, x, margin, distance):
    """Mean over ordered same-label pairs; NaN (TFA's 0/0) when there is none."""
    d = tfa_distances(x, distance)
    total, pairs = 0.0, 0
    for a in range(len(d)):
        positives, negatives = _groups(labels, a)
        for p in positives:
            farther = [d[a, n] for n in negatives if d[a, n] > d[a, p]]
            if farther:
                chosen = min(farther)
            elif negatives:
                chosen = max(d[a, n] for n in negatives)
            else:
                chosen = d[a].min()
            total += max(margin + d[a, p] - chosen, 0.0)
            pairs += 1
    return total / pairs if pairs else float("nan")


def pml_batch_all(labels, x, margin, distance):
    """Every (a, p, n), hinge on d_ap - d_an + margin (similarities: s_an - s_ap + margin),
    mean over the strictly positive ones, 0 if none. Embeddings are not normalised
    (LpDistance(normalize_embeddings=False)); cosine uses CosineSimilarity."""
    x = np.asarray(x, np.float64)
    if distance == "cosine":
        unit = x / np.linalg.norm(x, axis=-1, keepdims=True)
        d = -(unit @ unit.T)  # s_an - s_ap = (-s_ap) - (-s_an)
    else:
        squared = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)  # torch.cdist, then power
        d = squared if distance == "squared_euclidean" else np.sqrt(squared)
    violations = []
    for a in range(len(d)):
        positives, negatives = _groups(labels, a)
        for p in positives:
            for n in negatives:
                value = d[a, p] - d[a, n] + margin
                if value > 0:
                    violations.append(value)
    return float(np.mean(violations)) if violations else 0.0


def mined_triplet(labels, x, margin, distance, mining, soft=False):
    """The mined loss as kerasloss defines it: TFA's semi-hard NaN replaced by 0."""
    if mining == "batch_hard":
        return tfa_hard(labels, x, margin, distance, soft)
    if mining == "semi_hard":
        value = tfa_semihard(labels, x, margin, distance)
        return 0.0 if np.isnan(value) else value
    return pml_batch_all(labels, x, margin, distance)


def mined_triplet_large(labels, x, margin, distance, mining):
    """The same definitions, one anchor at a time with NumPy arrays, for B in the thousands."""
    labels = np.asarray(labels).reshape(-1)
    x = np.asarray(x, np.float64)
    if mining == "batch_all" and distance == "cosine":
        unit = x / np.linalg.norm(x, axis=-1, keepdims=True)
        d = -(unit @ unit.T)
    else:
        d = tfa_distances(x, distance)
    terms, violations, pairs = [], [], 0
    for a in range(len(labels)):
        same = labels == labels[a]
        positive = same.copy()
        positive[a] = False
        dp, dn = d[a, positive], d[a, ~same]
        if mining == "batch_hard":
            terms.append(max(dp.max() - dn.min() + margin, 0.0))
        elif mining == "semi_hard":
            farther = np.where(dn[None, :] > dp[:, None], dn[None, :], np.inf).min(axis=1)
            chosen = np.where(np.isfinite(farther), farther, dn.max())
            terms.extend(np.maximum(margin + dp - chosen, 0.0))
            pairs += len(dp)
        else:
            value = dp[:, None] - dn[None, :] + margin
            violations.append(value[value > 0])
    if mining == "batch_all":
        violations = np.concatenate(violations)
        return float(violations.mean()) if violations.size else 0.0
    return float(np.sum(terms) / (pairs if mining == "semi_hard" else len(terms)))


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
