"""Retrieval scores in plain NumPy, from the definitions of Musgrave, Belongie and Lim,
"A Metric Learning Reality Check" (ECCV 2020), section 3.

Full (N, M) distance matrix in float64 and a full sort of each row: for small sets only.
Ties in distance are ranked by reference index (smaller first), as kerasloss documents.
"""

from __future__ import annotations

import numpy as np


def distances(queries, references, distance):
    q = np.asarray(queries, np.float64)
    r = np.asarray(references, np.float64)
    if distance == "cosine":

        def unit(x):
            norm = np.linalg.norm(x, axis=1, keepdims=True)
            return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)

        return 1.0 - unit(q) @ unit(r).T
    return np.sqrt(np.maximum(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1), 0.0))


def retrieval_scores(
    queries, query_labels, references=None, reference_labels=None, distance="cosine", ks=()
):
    query_labels = np.asarray(query_labels).reshape(-1)
    same = references is None
    if same:
        references, reference_labels = queries, query_labels
    reference_labels = np.asarray(reference_labels).reshape(-1)
    d = distances(queries, references, distance)
    precision_at_1, r_precision, map_at_r, reciprocal_rank = [], [], [], []
    recall = {k: [] for k in ks}
    for i, label in enumerate(query_labels):
        candidates = np.arange(len(reference_labels))
        if same:
            candidates = candidates[candidates != i]  # the query is not its own neighbour
        # nearest first; equal distances by index (lexsort's last key is the primary one)
        ranking = candidates[np.lexsort((candidates, d[i, candidates]))]
        relevant = reference_labels[ranking] == label
        r = int(relevant.sum())
        if r == 0:
            continue  # nothing to retrieve: the query is not scored
        # R-precision: the share of relevant items among the first R retrieved.
        r_precision.append(relevant[:r].sum() / r)
        # MAP@R: precision at each relevant position i <= R, summed and divided by R.
        hits = relevant[:r]
        precision_at_i = np.cumsum(hits) / np.arange(1, r + 1)
        map_at_r.append(np.sum(precision_at_i * hits) / r)
        first = int(np.argmax(relevant)) + 1  # rank of the first relevant item, from 1
        precision_at_1.append(float(first == 1))
        reciprocal_rank.append(1.0 / first)
        for k in ks:
            recall[k].append(float(relevant[:k].any()))
    scores = {
        "precision_at_1": float(np.mean(precision_at_1)),
        "r_precision": float(np.mean(r_precision)),
        "mean_average_precision_at_r": float(np.mean(map_at_r)),
        "mean_reciprocal_rank": float(np.mean(reciprocal_rank)),
    }
    for k in ks:
        scores[f"recall_at_{k}"] = float(np.mean(recall[k]))
    return scores
