"""NumPy restatements for triplet losses against a reference set and for a cross-batch memory.

Triplet losses: TensorFlow Addons' hard and semi-hard definitions and
pytorch-metric-learning's TripletMarginLoss + AvgNonZeroReducer ("batch all"), written
for anchors (B, D) and a reference set (M, D) whose entries are compared with the
anchors as the masks say, as plain loops. Where TensorFlow Addons falls back on the
row minimum or maximum, the row is the anchor's compared entries and the anchor
itself, at its distance to itself (its place on the diagonal of a batch's own matrix).

Memory: pytorch-metric-learning's CrossBatchMemory without a miner: a FIFO queue
written with the batch before the loss; before it is full, only the slots written so
far count; each anchor's positives leave out the slot holding its own copy.
"""

from __future__ import annotations

import numpy as np


def distance_matrix(x, ref, distance):
    """d(x_i, r_j), float64, from differences; "cosine" is 1 - cos (a zero vector: 1)."""
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    if distance == "cosine":

        def unit(v):
            return v / np.sqrt(np.maximum((v * v).sum(-1, keepdims=True), 1e-12))

        return np.maximum(1.0 - unit(x) @ unit(ref).T, 0.0)
    squared = ((x[:, None, :] - ref[None, :, :]) ** 2).sum(-1)
    return squared if distance == "squared_euclidean" else np.sqrt(squared)


def label_masks(labels, ref_labels):
    """A reference set's masks: every entry is a positive or a negative, none left out."""
    same = np.asarray(labels).reshape(-1)[:, None] == np.asarray(ref_labels).reshape(-1)[None, :]
    return same, ~same


def _rows(labels, x, ref_labels, ref, distance, positive, negative):
    if positive is None:
        positive, negative = label_masks(labels, ref_labels)
    d = distance_matrix(x, ref, distance)
    x = np.asarray(x, np.float64)
    for a in range(len(x)):
        own = distance_matrix(x[a : a + 1], x[a : a + 1], distance)[0, 0]
        compared = [d[a, j] for j in range(d.shape[1]) if positive[a, j] or negative[a, j]]
        positives = [d[a, j] for j in np.flatnonzero(positive[a])]
        negatives = [d[a, j] for j in np.flatnonzero(negative[a])]
        yield positives, negatives, [*compared, own]


def hard(labels, x, ref_labels, ref, margin, distance, soft=False, positive=None, negative=None):
    """Mean over anchors of the hinge (or softplus) of hardest positive - hardest negative."""
    terms = []
    for positives, negatives, row in _rows(
        labels, x, ref_labels, ref, distance, positive, negative
    ):
        hardest_positive = max(positives) if positives else min(row)
        hardest_negative = min(negatives) if negatives else max(row)
        gap = hardest_positive - hardest_negative
        terms.append(np.logaddexp(0.0, gap) if soft else max(gap + margin, 0.0))
    return float(np.mean(terms))


def semihard(labels, x, ref_labels, ref, margin, distance, positive=None, negative=None):
    """Mean over (anchor, positive) pairs; the closest farther negative, else the farthest."""
    total, pairs = 0.0, 0
    for positives, negatives, row in _rows(
        labels, x, ref_labels, ref, distance, positive, negative
    ):
        for d_ap in positives:
            farther = [d_an for d_an in negatives if d_an > d_ap]
            if farther:
                chosen = min(farther)
            elif negatives:
                chosen = max(negatives)
            else:
                chosen = min(row)
            total += max(margin + d_ap - chosen, 0.0)
            pairs += 1
    return total / pairs if pairs else 0.0


def batch_all(labels, x, ref_labels, ref, margin, distance, positive=None, negative=None):
    """Mean of d_ap - d_an + margin over the triplets where it is > 0; 0 if none.

    As pytorch-metric-learning: `LpDistance(normalize_embeddings=False)` (power 2 for
    "squared_euclidean"), and `CosineSimilarity` for "cosine", where the test is
    s_an - s_ap + margin."""
    if positive is None:
        positive, negative = label_masks(labels, ref_labels)
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    if distance == "cosine":
        d = -(
            (x / np.linalg.norm(x, axis=-1, keepdims=True))
            @ (ref / np.linalg.norm(ref, axis=-1, keepdims=True)).T
        )
    else:
        d = distance_matrix(x, ref, distance)
    violations = []
    for a in range(len(x)):
        for p in np.flatnonzero(positive[a]):
            for n in np.flatnonzero(negative[a]):
                value = d[a, p] - d[a, n] + margin
                if value > 0:
                    violations.append(value)
    return float(np.mean(violations)) if violations else 0.0


def triplet(labels, x, ref_labels, ref, margin, distance, mining, **masks):
    """The mined triplet loss of `mining` against the reference set."""
    if mining == "batch_hard":
        return hard(labels, x, ref_labels, ref, margin, distance, **masks)
    if mining == "semi_hard":
        return semihard(labels, x, ref_labels, ref, margin, distance, **masks)
    return batch_all(labels, x, ref_labels, ref, margin, distance, **masks)


class Memory:
    """pytorch-metric-learning's CrossBatchMemory queue, restated."""

    def __init__(self, memory_size, embedding_size):
        self.size = memory_size
        self.embeddings = np.zeros((memory_size, embedding_size))
        self.labels = np.zeros(memory_size, np.int64)
        self.position = 0
        self.full = False

    def write(self, x, labels):
        """Enqueue a batch; return the reference set and the masks its loss uses."""
        labels = np.asarray(labels).reshape(-1)
        slots = (self.position + np.arange(len(labels))) % self.size
        self.embeddings[slots] = x
        self.labels[slots] = labels
        previous = self.position
        self.position = (self.position + len(labels)) % self.size
        if not self.full and self.position <= previous:
            self.full = True
        filled = self.size if self.full else self.position
        ref, ref_labels = self.embeddings[:filled].copy(), self.labels[:filled].copy()
        positive, negative = label_masks(labels, ref_labels)
        positive[np.arange(len(labels)), slots] = False  # each anchor's own copy
        return ref, ref_labels, {"positive": positive, "negative": negative}

    @property
    def filled(self):
        return self.size if self.full else self.position
