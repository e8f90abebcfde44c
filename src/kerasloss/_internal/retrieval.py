"""Retrieval scores of embeddings (precision@1, R-precision, MAP@R, MRR, Recall@K), in chunks.

Shared by `kerasloss.metrics.retrieval_scores` and `kerasloss.callbacks.RetrievalEvaluation`.

Every score follows from the ranks of a query's relevant references (those with its label)
in its ranking of the references, nearest first:

- the rank of the first relevant reference gives precision@1, the reciprocal rank and
  Recall@K; it is counted over the whole ranking (the number of references ranked before
  it), so the mean reciprocal rank needs no cut-off;
- R-precision and MAP@R need the relevant references among the first R, R the number of
  relevant references of the query. They come from the top-K of each chunk of queries, K
  the largest R (at most the number of references).

A chunk of `batch_size` queries holds a few (batch_size, N) tensors and a (batch_size, K)
top-K, never an (N, N) one.

Ties: references at the same distance from a query are ranked by their index in the
reference set (the smaller first). Identical references are compared once, so they tie
exactly on every backend. `ops.top_k` breaks ties differently on different
backends, so its result is repaired where a tie straddles the K-th place (see `_top_k`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from kerasloss._internal.distances import l2_normalize
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.types import Tensor, TensorLike

RETRIEVAL_DISTANCES = ("cosine", "euclidean")
SCORES = ("precision_at_1", "r_precision", "mean_average_precision_at_r", "mean_reciprocal_rank")


# ------------------------------------------------------------------ argument checks


def check_distance(distance: object) -> str:
    if distance not in RETRIEVAL_DISTANCES:
        raise ValueError(f"`distance` must be one of {RETRIEVAL_DISTANCES}; got {distance!r}.")
    return str(distance)


def as_int(value: object) -> int | None:
    """An int (or NumPy integer) as int; None for anything else, bools included."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def check_batch_size(batch_size: object) -> int:
    value = as_int(batch_size)
    if value is None or value < 1:
        raise ValueError(f"`batch_size` must be an integer >= 1; got {batch_size!r}.")
    return value


def check_k(k: object) -> tuple[int, ...]:
    """`k` of Recall@K: None (no recall), an int >= 1, or a list / tuple of them."""
    if k is None:
        return ()
    values = [as_int(v) for v in (k if isinstance(k, (list, tuple)) else [k])]
    checked = [v for v in values if v is not None and v >= 1]
    if len(checked) != len(values):
        raise ValueError(f"`k` must be None, an integer >= 1 or a list of them; got {k!r}.")
    return tuple(dict.fromkeys(checked))


def check_labels(name: str, labels: TensorLike, size: int | None = None) -> np.ndarray:
    """Labels of shape (N,) or (N, 1) as a NumPy vector of integers."""
    values = np.asarray(ops.convert_to_numpy(labels) if not isinstance(labels, list) else labels)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"`{name}` must have shape (N,) or (N, 1); got shape {values.shape}.")
    if size is not None and values.shape[0] != size:
        raise ValueError(
            f"`{name}` must have one label per embedding, shape ({size},); got shape "
            f"{values.shape}."
        )
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise ValueError(f"`{name}` must hold integer class ids; got {values[:5]!r}...")
    elif values.dtype.kind not in "iub":
        raise TypeError(f"`{name}` must hold integer class ids; got dtype {values.dtype}.")
    return values.astype(np.int64)


def check_embeddings(name: str, embeddings: TensorLike) -> Tensor:
    """A finite (N, D) tensor in its working dtype (16-bit and integers: float32)."""
    x = ops.convert_to_tensor(embeddings)
    if len(x.shape) != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"`{name}` must have shape (N, D) with N, D >= 1; got shape {tuple(x.shape)}."
        )
    dtype = keras.backend.standardize_dtype(x.dtype)
    x = ops.cast(x, working_dtype(dtype) if "float" in dtype else "float32")
    # A NaN would sort arbitrarily and give scores that look real.
    if not bool(ops.convert_to_numpy(ops.all(ops.isfinite(x)))):
        raise ValueError(f"`{name}` must be finite; it holds NaN or infinite values.")
    return x


def relevant_counts(
    query_labels: np.ndarray, reference_labels: np.ndarray, self_retrieval: bool
) -> np.ndarray:
    """R of each query: references with its label, itself excluded in self-retrieval."""
    classes, counts = np.unique(reference_labels, return_inverse=False, return_counts=True)
    where = np.searchsorted(classes, query_labels)
    where = np.minimum(where, len(classes) - 1)
    found = classes[where] == query_labels
    return np.where(found, counts[where], 0) - int(self_retrieval)


def check_something_to_retrieve(name: str, counts: np.ndarray) -> None:
    if not np.any(counts > 0):
        raise ValueError(
            f"No query has a relevant reference (a reference of its class, other than "
            f"itself): every score is undefined. `{name}` needs at least two examples of a "
            f"class, or a class shared with the reference set; got {counts.size} queries."
        )


# ------------------------------------------------------------------ the computation


def _top_k(key: Tensor, k: int) -> Tensor:
    """Indices of the k smallest keys of each row, ties taken by the smaller index; (b, k).

    The order within the returned k is not specified (the caller sorts). The tied
    entries at the k-th smallest key t decide which of them enter the k: `ops.top_k`
    may take any of them, so where a row has more than k keys <= t, the first of the
    tied ones by index are kept and `top_k` runs again on the repaired row.
    """
    neg = -key
    values, indices = ops.top_k(neg, k)
    threshold = values[:, k - 1 : k]  # -t
    crowded = ops.sum(ops.cast(neg >= threshold, "int32"), axis=1) > k
    if not bool(ops.convert_to_numpy(ops.any(crowded))):
        return indices
    less = ops.sum(ops.cast(neg > threshold, "int32"), axis=1, keepdims=True)
    tied = neg == threshold
    tie_rank = ops.cumsum(ops.cast(tied, "int32"), axis=1)  # 1 for the first tied index
    keep = (neg > threshold) | (tied & (tie_rank <= k - less))
    low = ops.convert_to_tensor(-np.inf, dtype=neg.dtype)
    return ops.top_k(ops.where(keep, neg, low), k)[1]


def _ranking_keys(queries: Tensor, references: Tensor, reference_norms: Tensor | None) -> Tensor:
    """Keys that order the references as the distance does, smaller is nearer; (b, N).

    Cosine: -cos on unit vectors, since 1 - cos orders the same. Euclidean:
    ||r||^2 - 2 q.r, which is ||q - r||^2 minus a constant of the row (exact for
    integer-valued embeddings, so their exact ties stay ties). Both are one matrix
    product of the chunk with all references, so a query's keys do not depend on the
    other queries of its chunk, and the ranking not on `batch_size` (the loss-side
    `pairwise_distances` centres each batch on its own mean, which would not).
    """
    products = ops.einsum("id,jd->ij", queries, references)
    if reference_norms is None:
        return -products
    return reference_norms[None, :] - 2 * products


def retrieval_scores(
    queries: Tensor,
    query_labels: np.ndarray,
    references: Tensor | None,
    reference_labels: np.ndarray | None,
    *,
    distance: str,
    ks: Sequence[int],
    batch_size: int,
) -> dict[str, float]:
    """The scores, from checked inputs: tensors (N, D) and integer label vectors."""
    self_retrieval = references is None
    if references is None or reference_labels is None:
        references, reference_labels = queries, query_labels
    else:
        references = ops.cast(references, queries.dtype)
    counts = relevant_counts(query_labels, reference_labels, self_retrieval)
    # Identical references must tie exactly, and a matrix product need not give equal
    # columns equal values (TensorFlow's CPU kernels sum edge columns in another order):
    # each distinct reference is compared once and the columns copied back.
    distinct, copies = np.unique(ops.convert_to_numpy(references), axis=0, return_inverse=True)
    expand = None
    if len(distinct) < int(references.shape[0]):
        references = ops.convert_to_tensor(distinct, dtype=references.dtype)
        expand = ops.convert_to_tensor(copies.reshape(-1).astype(np.int32))
    refs = l2_normalize(references) if distance == "cosine" else references
    norms = None if distance == "cosine" else ops.sum(ops.square(refs), axis=1)
    num_queries, num_refs = len(query_labels), len(reference_labels)
    columns = ops.arange(num_refs, dtype="int32")
    # Labels as small ids: any int64 label fits, and int32 compares on every backend.
    ids = np.unique(np.concatenate([query_labels, reference_labels]), return_inverse=True)[1]
    query_ids = ids.reshape(-1)[:num_queries].astype(np.int32)
    ref_labels = ops.convert_to_tensor(ids.reshape(-1)[num_queries:].astype(np.int32))
    # One K and one chunk shape for the whole call (the last chunk is padded): eager JAX
    # compiles each operation once per shape.
    k = int(min(counts.max(), num_refs))
    size = min(batch_size, num_queries)
    padding = -num_queries % size
    queries = ops.pad(queries, [[0, padding], [0, 0]])
    query_labels = np.pad(query_labels, (0, padding))
    query_ids = np.pad(query_ids, (0, padding))
    counts = np.pad(counts, (0, padding))  # padded rows: R = 0, not scored

    first_ranks, r_precisions, average_precisions = [], [], []
    for start in range(0, num_queries + padding, size):
        stop = start + size
        chunk_counts = counts[start:stop]
        scored = chunk_counts > 0
        if not np.any(scored):
            continue
        chunk_labels = query_labels[start:stop]
        chunk = queries[start:stop]
        key = _ranking_keys(l2_normalize(chunk) if distance == "cosine" else chunk, refs, norms)
        if expand is not None:
            key = ops.take(key, expand, axis=1)
        relevant = ops.convert_to_tensor(query_ids[start:stop])[:, None] == ref_labels
        if self_retrieval:
            rows = ops.arange(start, stop, dtype="int32")[:, None]
            is_self = rows == columns[None, :]
            key = ops.where(is_self, ops.convert_to_tensor(np.inf, dtype=key.dtype), key)
            relevant = relevant & ~is_self

        # Rank of the first relevant reference, counted over the whole row.
        inf = ops.convert_to_tensor(np.inf, dtype=key.dtype)
        nearest = ops.min(ops.where(relevant, key, inf), axis=1, keepdims=True)
        at_nearest = relevant & (key == nearest)
        first = ops.min(ops.where(at_nearest, columns[None, :], num_refs), axis=1, keepdims=True)
        before = (key < nearest) | ((key == nearest) & (columns[None, :] < first))
        rank = 1 + ops.sum(ops.cast(before, "int32"), axis=1)
        first_ranks.append(ops.convert_to_numpy(rank)[scored])

        # The first K of each ranking, K the largest R.
        indices = ops.convert_to_numpy(_top_k(key, k))
        keys = ops.convert_to_numpy(ops.take_along_axis(key, ops.convert_to_tensor(indices), 1))
        order = np.lexsort((indices, keys), axis=-1)  # by key, then by index
        indices = np.take_along_axis(indices, order, axis=-1)
        hits = reference_labels[indices] == chunk_labels[:, None]
        positions = np.arange(1, k + 1)
        r = chunk_counts[:, None]
        hits = hits & (positions[None, :] <= r)
        found = np.cumsum(hits, axis=1)
        denominator = np.maximum(chunk_counts, 1)
        r_precisions.append((found[:, -1] / denominator)[scored])
        average_precisions.append((np.sum(hits * found / positions, axis=1) / denominator)[scored])

    ranks = np.concatenate(first_ranks).astype(np.float64)
    scores = {
        "precision_at_1": float(np.mean(ranks == 1)),
        "r_precision": float(np.mean(np.concatenate(r_precisions))),
        "mean_average_precision_at_r": float(np.mean(np.concatenate(average_precisions))),
        "mean_reciprocal_rank": float(np.mean(1.0 / ranks)),
    }
    for k in ks:
        scores[f"recall_at_{k}"] = float(np.mean(ranks <= k))
    return scores
