"""Retrieval scores of held-out embeddings, written into fit's logs at the end of epochs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from kerasloss._internal import retrieval as _retrieval
from kerasloss._internal.types import TensorLike

__all__ = ["RetrievalEvaluation"]


class RetrievalEvaluation(keras.callbacks.Callback):
    """Logs precision@1, R-precision and MAP@R of held-out embeddings every few epochs.

    At the end of every `every`-th epoch the callback embeds `x` with the model (or with
    the layer or sub-model named by `embedding`), scores the embeddings as
    `kerasloss.metrics.retrieval_scores` does, and writes each score into the epoch's
    logs under `prefix` + its name: "val_precision_at_1", "val_r_precision",
    "val_mean_average_precision_at_r", "val_mean_reciprocal_rank" and "val_recall_at_{k}"
    for each k in `k`. The progress bar and `History` show them, and callbacks listed
    after this one in `fit(callbacks=[...])` can monitor them: give `EarlyStopping` and
    `ModelCheckpoint` `mode="max"` (Keras infers the direction only for compiled
    metrics). On the epochs in between the keys are absent, as Keras' own validation
    metrics are with `validation_freq`.

    Formula:

    ```python
    # at the end of epoch e (counted from 0), when (e + 1) % every == 0
    z = embed(x)                                   # the model, or its layer `embedding`
    z_ref = embed(reference[0]) if reference else None
    scores = retrieval_scores(z, labels, z_ref, reference[1], distance=..., k=..., batch_size=...)
    logs[prefix + name] = scores[name]             # for every score
    ```

    Args:
        x: the inputs of the queries, anything `model.predict` takes (a NumPy array, a
            list of them for several inputs).
        labels: their integer class labels, shape (N,) or (N, 1).
        reference: None to retrieve among the queries (each leaving itself out), or a
            pair `(reference_x, reference_labels)` embedded the same way.
        every: evaluate at the end of every `every` epochs (an integer >= 1).
        embedding: None to use the model's output, or the name of a layer of the model:
            a sub-model (such as an encoder) embeds `x` itself; any other layer of a
            functional model gives its output for the model's inputs `x`.
        distance: "cosine" or "euclidean".
        k: the K of Recall@K: an int, a list of ints, or None for no recall.
        batch_size: the prediction batch size and the number of queries ranked at a time.
        prefix: prepended to every key in the logs.

    Returns:
        A callback for `fit(callbacks=[...])`; after an evaluated epoch its attribute
        `scores` holds the last scores (a dict of floats, without the prefix).

    Raises:
        ValueError: at construction, if `labels` does not have shape (N,) or (N, 1), no
            query has a relevant reference, `reference` is not a pair, or `every`,
            `distance`, `k`, `batch_size` is not an allowed value; during `fit`, if the
            embeddings are not of shape (N, D) or not finite, or `embedding` names no
            layer of the model.
        TypeError: if `prefix` or `embedding` is not a string, or (during `fit`) the
            model, with `embedding=None`, has more than one output.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
        >>> labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> model.compile("sgd", loss="mse")
        >>> evaluation = RetrievalEvaluation(x, labels)
        >>> stop = keras.callbacks.EarlyStopping("val_r_precision", mode="max", patience=1)
        >>> history = model.fit(
        ...     x, np.zeros((8, 3)), epochs=2, verbose=0, callbacks=[evaluation, stop]
        ... )
        >>> print(sorted(history.history)[-2:])
        ['val_precision_at_1', 'val_r_precision']
        >>> print(0.0 <= history.history["val_mean_average_precision_at_r"][-1] <= 1.0)
        True

    Reference:
        K. Musgrave, S. Belongie and S.-N. Lim, "A Metric Learning Reality Check",
        ECCV 2020; the callback mirrors `keras.callbacks.Callback`'s logs protocol.
    """

    def __init__(
        self,
        x: Any,
        labels: TensorLike,
        *,
        reference: tuple[Any, TensorLike] | None = None,
        every: int = 1,
        embedding: str | None = None,
        distance: str = "cosine",
        k: int | Sequence[int] | None = None,
        batch_size: int = 1024,
        prefix: str = "val_",
    ) -> None:
        super().__init__()
        self.x = x
        self.labels = _retrieval.check_labels("labels", labels)
        self.reference_labels: np.ndarray | None = None
        if reference is not None:
            if not isinstance(reference, (tuple, list)) or len(reference) != 2:
                raise ValueError(
                    "`reference` must be None or a pair (reference_x, reference_labels); "
                    f"got {reference!r:.80}."
                )
            self.reference_x = reference[0]
            self.reference_labels = _retrieval.check_labels("reference[1]", reference[1])
        every_int = _retrieval.as_int(every)
        if every_int is None or every_int < 1:
            raise ValueError(f"`every` must be an integer >= 1; got {every!r}.")
        if embedding is not None and not isinstance(embedding, str):
            raise TypeError(f"`embedding` must be None or a layer name; got {embedding!r}.")
        if not isinstance(prefix, str):
            raise TypeError(f"`prefix` must be a string; got {prefix!r}.")
        self.every = every_int
        self.embedding = embedding
        self.distance = _retrieval.check_distance(distance)
        self.ks = _retrieval.check_k(k)
        self.batch_size = _retrieval.check_batch_size(batch_size)
        self.prefix = prefix
        counts = _retrieval.relevant_counts(
            self.labels,
            self.labels if self.reference_labels is None else self.reference_labels,
            self.reference_labels is None,
        )
        _retrieval.check_something_to_retrieve("labels", counts)
        self.scores: dict[str, float] = {}
        self._embedder: Any = None

    def _get_embedder(self) -> Any:
        if self.embedding is None:
            return self.model
        try:
            layer = self.model.get_layer(self.embedding)
        except ValueError:
            raise ValueError(
                f"`embedding` must name a layer of the model; got {self.embedding!r}, and "
                f"the model's layers are {[lay.name for lay in self.model.layers]}."
            ) from None
        if isinstance(layer, keras.Model):
            return layer
        return keras.Model(self.model.inputs, layer.output)

    def _embed(self, x: Any, name: str) -> Any:
        if self._embedder is None:
            self._embedder = self._get_embedder()
        z = self._embedder.predict(x, batch_size=self.batch_size, verbose=0)
        if isinstance(z, (list, tuple, dict)):
            raise TypeError(
                f"The model has {len(z)} outputs; name the layer or sub-model that "
                "gives the embeddings with `embedding=`."
            )
        return _retrieval.check_embeddings(name, z)

    def evaluate(self) -> dict[str, float]:
        """Embeds the data with the model as it is now and returns the scores (no prefix)."""
        queries = self._embed(self.x, "embeddings of x")
        if queries.shape[0] != self.labels.shape[0]:
            raise ValueError(
                f"`labels` must have one label per example of x, shape ({queries.shape[0]},); "
                f"got shape {self.labels.shape}."
            )
        references = None
        if self.reference_labels is not None:
            references = self._embed(self.reference_x, "embeddings of reference[0]")
            if tuple(references.shape[1:]) != tuple(queries.shape[1:]) or (
                references.shape[0] != self.reference_labels.shape[0]
            ):
                raise ValueError(
                    "The reference embeddings must have shape "
                    f"({self.reference_labels.shape[0]}, {queries.shape[1]}); got shape "
                    f"{tuple(references.shape)}."
                )
        return _retrieval.retrieval_scores(
            queries,
            self.labels,
            references,
            self.reference_labels,
            distance=self.distance,
            ks=self.ks,
            batch_size=self.batch_size,
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        self.scores = self.evaluate()
        if logs is not None:
            for name, value in self.scores.items():
                logs[self.prefix + name] = value
