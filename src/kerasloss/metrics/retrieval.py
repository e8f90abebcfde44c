"""Retrieval scores of embeddings: precision@1, R-precision, MAP@R, MRR and Recall@K."""

from __future__ import annotations

from collections.abc import Sequence

from kerasloss._internal import retrieval as _retrieval
from kerasloss._internal.types import TensorLike

__all__ = ["retrieval_scores"]


def retrieval_scores(
    query_embeddings: TensorLike,
    query_labels: TensorLike,
    reference_embeddings: TensorLike | None = None,
    reference_labels: TensorLike | None = None,
    *,
    distance: str = "cosine",
    k: int | Sequence[int] | None = None,
    batch_size: int = 1024,
) -> dict[str, float]:
    """Scores how well each query's nearest references share its label, as in metric learning.

    Each query ranks the references by distance, nearest first; a reference is relevant
    to it when it has the query's label, and R is the number of relevant references.
    Without a reference set the queries are their own references and each query leaves
    itself out (leave-one-out retrieval). A query with no relevant reference (R = 0) is
    left out of every mean. The ranking is exact (every reference is compared), over all
    references, so the reciprocal rank has no cut-off.

    References at the same distance from a query are ranked by their position in the
    reference set, the first one first, on every backend; identical reference embeddings
    are compared once, so they always tie exactly.

    The queries are processed `batch_size` at a time: memory grows as batch_size * N
    (a few (batch_size, N) arrays and a top-K of the largest R), never as N^2.
    Ranks come from float32 distances (float64 inputs: float64); two references whose
    distances to a query differ by less than the float32 rounding (relative 1e-7 of the
    squared distance, or of 1 - cos near cos = 1) may come out in either order.

    Formula:

    ```python
    # for a query q: rank_1 = position (from 1) of its first relevant reference,
    # rel(i) = 1 if the i-th nearest reference is relevant, P(i) = sum(rel(1..i)) / i
    precision_at_1 = mean_q(rank_1 == 1)
    r_precision = mean_q(sum(rel(1..R)) / R)
    mean_average_precision_at_r = mean_q(sum_{i <= R}(rel(i) * P(i)) / R)
    mean_reciprocal_rank = mean_q(1 / rank_1)
    recall_at_k = mean_q(rank_1 <= k)  # at least one relevant among the k nearest
    # mean_q over the queries with R >= 1
    # cosine: d = 1 - cos(q, r); euclidean: d = ||q - r||; ties: smaller reference index first
    ```

    Args:
        query_embeddings: the queries, shape (N, D).
        query_labels: their integer class labels, shape (N,) or (N, 1).
        reference_embeddings: the reference set, shape (M, D), or None to retrieve among
            the queries themselves (each leaving itself out).
        reference_labels: its labels, shape (M,) or (M, 1); given with
            `reference_embeddings` and only then.
        distance: "cosine" (1 - cosine similarity; a zero embedding is at distance 1 from
            everything) or "euclidean".
        k: the K of Recall@K: an int, a list of ints (one score each), or None for none.
            `recall_at_1` equals `precision_at_1`.
        batch_size: the number of queries ranked at a time (an integer >= 1).

    Returns:
        A dict of Python floats in [0, 1] with the keys "precision_at_1", "r_precision",
        "mean_average_precision_at_r", "mean_reciprocal_rank" and "recall_at_{k}" for
        each k in `k`.

    Raises:
        ValueError: if an embedding array is not of shape (N, D) or holds NaN or
            infinity, if labels do not have one integer per embedding, if the reference
            embeddings and labels are not given together or their D differs from the
            queries', if `distance`, `k` or `batch_size` is not one of the allowed
            values, or if no query has a relevant reference.
        TypeError: if labels are not numbers.

    Example:
        >>> embeddings = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.2, 1]], "float32")
        >>> scores = retrieval_scores(embeddings, [0, 0, 1, 1], k=[1, 2])
        >>> print(scores["precision_at_1"], scores["mean_average_precision_at_r"])
        1.0 1.0
        >>> references = np.array([[1, 0], [0, 1], [0.1, 1]], "float32")
        >>> queries = np.array([[0.9, 0.1], [0.5, 1]], "float32")
        >>> scores = retrieval_scores(queries, [1, 1], references, [0, 1, 1])
        >>> print(scores["r_precision"], scores["mean_average_precision_at_r"])
        0.75 0.625
        >>> print(scores["mean_reciprocal_rank"])
        0.75

    Reference:
        K. Musgrave, S. Belongie and S.-N. Lim, "A Metric Learning Reality Check",
        ECCV 2020 (R-precision and MAP@R).
    """
    queries = _retrieval.check_embeddings("query_embeddings", query_embeddings)
    labels = _retrieval.check_labels("query_labels", query_labels, int(queries.shape[0]))
    if (reference_embeddings is None) != (reference_labels is None):
        raise ValueError(
            "`reference_embeddings` and `reference_labels` must be given together; got "
            f"reference_embeddings={'None' if reference_embeddings is None else 'an array'}"
            f" and reference_labels={'None' if reference_labels is None else 'an array'}."
        )
    references, ref_labels = None, None
    if reference_embeddings is not None:
        references = _retrieval.check_embeddings("reference_embeddings", reference_embeddings)
        if references.shape[1] != queries.shape[1]:
            raise ValueError(
                "`reference_embeddings` must have the queries' embedding size "
                f"D = {queries.shape[1]}; got shape {tuple(references.shape)}."
            )
        ref_labels = _retrieval.check_labels(
            "reference_labels", reference_labels, int(references.shape[0])
        )
    distance = _retrieval.check_distance(distance)
    ks = _retrieval.check_k(k)
    batch_size = _retrieval.check_batch_size(batch_size)
    counts = _retrieval.relevant_counts(
        labels, labels if ref_labels is None else ref_labels, ref_labels is None
    )
    _retrieval.check_something_to_retrieve("query_labels", counts)
    return _retrieval.retrieval_scores(
        queries, labels, references, ref_labels, distance=distance, ks=ks, batch_size=batch_size
    )
