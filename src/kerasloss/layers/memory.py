"""Cross-batch memory: a pair loss run against the embeddings of past batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kerasloss._internal.base import PairLoss
from kerasloss._internal.dtypes import constant, mean, to_working, working_dtype
from kerasloss._internal.pairs import Pairs, embeddings_and_labels
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["CrossBatchMemory"]


def _check_size(name: str, value: object) -> int:
    """An integer >= 1; TypeError or ValueError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an integer >= 1; got {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1; got {value}.")
    return int(value)


@register
class CrossBatchMemory(keras.layers.Layer):
    """Adds a pair loss of each batch against a memory of past batches (XBM).

    Wraps a pair loss (`TripletLoss`, or any other `kerasloss` loss built on pairs) and
    keeps the last `memory_size` embeddings and labels the model produced in training
    in a first-in-first-out memory of non-trainable variables. Each training call
    writes the batch into the memory, then adds the wrapped loss of the batch's anchors
    against everything in the memory, the batch's own copies included, with
    `add_loss`, and returns the embeddings unchanged. Mining then sees thousands of
    examples instead of one batch, for the cost of a (B, memory_size) distance matrix.

    Formula:

    ```python
    # memory: the last memory_size (embedding, label) pairs seen, oldest overwritten
    # first; a call on embeddings x (B, D), labels y (B,), B <= memory_size:
    memory <- write(memory, stop_gradient(x), y)  # first, as pytorch-metric-learning
    ref, ref_labels = the filled slots of memory  # this batch's copies included
    positive[i, j] = y[i] == ref_labels[j] and j is not the slot of x[i]'s own copy
    negative[i, j] = y[i] != ref_labels[j]
    values = loss.loss_from_pairs(x, y, ref, ref_labels, positive, negative)  # (B,)
    model_loss += mean(values)  # sum(values) if loss.reduction == "sum"
    ```

    The semantics are pytorch-metric-learning's `CrossBatchMemory` without a miner:
    the same loss for the same sequence of training batches. The batch is written
    before the loss is computed, so the first batch is compared with itself; before
    the memory is full only the filled slots count; the copies in the memory are
    constants (gradients reach the loss through the anchors only); and each anchor's
    own copy is left out of its positives (other copies of the same example, from
    earlier epochs, stay). One difference: with a batch of one example,
    pytorch-metric-learning keeps that example's own copy as its positive; here it is
    left out too.

    The memory is written only in training (`training=True`: `fit`, or a call with
    `training=True`), as `keras.layers.BatchNormalization` updates its statistics,
    so `evaluate`, `predict` and plain calls never put validation data in it. They
    still add the same loss: the batch against the memory as it would be after the
    write. The wrapped loss's `reduction` decides between the mean ("sum_over_batch_size"
    and the others) and the sum ("sum"); `sample_weight` does not apply to `add_loss`.

    The memory holds float32 embeddings (the layer's variable dtype; float64 with
    `dtype="float64"`), int32 labels, the next slot to write and the number of filled
    slots, and is saved and restored with the model's weights. Memory use is
    O(B * memory_size). Labels are integer class ids in int32's range.

    Args:
        loss: the pair loss to run, such as `kerasloss.TripletLoss(...)`.
        memory_size: number of past embeddings kept, an integer >= 1, at least the
            batch size (a few thousand in the paper).
        embedding_size: the embeddings' size D, an integer >= 1.
        **kwargs: `name`, `dtype` and the other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `[embeddings, labels]`: embeddings (B, D) and integer labels (B,) or
            (B, 1), with B <= memory_size.
        training: whether to write the batch into the memory.

    Returns:
        `call` returns the embeddings, unchanged; the loss goes to `add_loss` (after an
        eager call, `layer.losses` holds it).

    Raises:
        TypeError: if `loss` is not a pair loss or a size is not an integer.
        ValueError: if a size is < 1; when built or called, if the inputs are not
            `[embeddings, labels]` of shapes (B, embedding_size) and (B,) or (B, 1),
            or B > memory_size (inside a compiled step with an unknown batch size,
            such a batch makes the loss NaN instead).

    Example:
        >>> loss = kerasloss.TripletLoss(margin=1.0, mining="batch_all")
        >>> xbm = CrossBatchMemory(loss, memory_size=4, embedding_size=2)
        >>> _ = xbm([np.array([[0.0, 0.0], [2.0, 0.0]], "float32"), np.array([0, 1])],
        ...         training=True)
        >>> print(float(keras.ops.convert_to_numpy(xbm.losses[0])))  # no positives yet
        0.0
        >>> _ = xbm([np.array([[1.0, 0.0], [3.0, 0.0]], "float32"), np.array([0, 1])],
        ...         training=True)
        >>> print(float(keras.ops.convert_to_numpy(xbm.losses[0])))
        1.0
        >>> print(int(keras.ops.convert_to_numpy(xbm.filled)))
        4

        In the second call the anchor (1, 0) finds its positive (0, 0) at distance 1 in
        the memory and the negative (2, 0), also at 1: the one triplet with a positive
        loss, 1 - 1 + 1. The anchor (3, 0) has its positive (2, 0) at 1 and its
        negatives at 2 and 3, where the loss is 0. In a model, with an encoder to
        embed without labels:

        >>> x_in, y_in = keras.Input((4,)), keras.Input((), dtype="int32")
        >>> encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> xbm = CrossBatchMemory(kerasloss.TripletLoss(), memory_size=8, embedding_size=2)
        >>> model = keras.Model([x_in, y_in], xbm([encoder(x_in), y_in]))
        >>> model.compile(optimizer="adam")
        >>> x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
        >>> y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
        >>> history = model.fit([x, y], None, batch_size=4, epochs=1, verbose=0)
        >>> print(np.isfinite(history.history["loss"][-1]),
        ...       int(keras.ops.convert_to_numpy(xbm.filled)))
        True 8
        >>> print(encoder.predict(x, verbose=0).shape)
        (8, 2)

    Reference: Wang, Zhang, Huang and Scott, "Cross-Batch Memory for Embedding
    Learning", CVPR 2020.
    """

    def __init__(
        self,
        loss: PairLoss,
        memory_size: int,
        embedding_size: int,
        **kwargs: Any,
    ) -> None:
        # Labels must never be rounded to 16 bits, and the embeddings are copied as given.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if not isinstance(loss, PairLoss):
            raise TypeError(
                "`loss` must be a kerasloss pair loss, such as `kerasloss.TripletLoss()`; "
                f"got {loss!r}."
            )
        self.loss = loss
        self.memory_size = _check_size("memory_size", memory_size)
        self.embedding_size = _check_size("embedding_size", embedding_size)
        # Created here, not in `build`: their shapes are known, and a reloaded model
        # finds them to restore the memory into.
        self.embedding_memory = self.add_weight(
            shape=(self.memory_size, self.embedding_size),
            initializer="zeros",
            trainable=False,
            autocast=False,
            name="embedding_memory",
        )
        self.label_memory = self.add_weight(
            shape=(self.memory_size,),
            initializer="zeros",
            dtype="int32",
            trainable=False,
            name="label_memory",
        )
        self.write_position = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="write_position"
        )
        self.filled = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="filled"
        )

    def _check_shapes(self, embeddings_shape: Sequence[int | None], batch: int | None) -> None:
        """ValueError unless the embeddings are (B, embedding_size) with B <= memory_size."""
        shape = tuple(embeddings_shape)
        if len(shape) != 2 or shape[-1] != self.embedding_size:
            raise ValueError(
                f"`embeddings` must have shape (batch_size, {self.embedding_size}) "
                f"(embedding_size={self.embedding_size}); got shape {shape}."
            )
        if batch is not None and batch > self.memory_size:
            raise ValueError(
                f"A batch of {batch} embeddings does not fit in the memory: the batch size "
                f"must be at most memory_size={self.memory_size}."
            )

    def build(self, input_shape: Sequence[Sequence[int | None]]) -> None:
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or not all(isinstance(shape, (list, tuple)) for shape in input_shape)
        ):
            raise ValueError(
                "`CrossBatchMemory` is called on `[embeddings, labels]`; got input shape "
                f"{input_shape!r}."
            )
        self._check_shapes(input_shape[0], input_shape[0][0] if input_shape[0] else None)

    def call(self, inputs: Sequence[TensorLike], training: bool | None = None) -> Tensor:
        """The embeddings, unchanged; the loss against the memory goes to `add_loss`."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "`CrossBatchMemory` is called on `[embeddings, labels]`; got "
                f"{type(inputs).__name__}."
            )
        labels, embeddings = embeddings_and_labels(
            inputs[1], inputs[0], labels_name="labels", embeddings_name="embeddings"
        )
        self._check_shapes(embeddings.shape, embeddings.shape[0])
        anchors, dtype = to_working(embeddings)
        ids = ops.cast(labels, "int32")
        size = self.memory_size
        batch_size = ops.shape(anchors)[0]  # an int, or a tensor while tracing an unknown B
        batch = ops.cast(batch_size, "int32")
        position = ops.convert_to_tensor(self.write_position)

        # The memory after writing the batch at `position` onwards, wrapping around: slot
        # j receives batch row (j - position) mod size, if that row exists. A gather and
        # a `where`, O(size * D), the same on every backend.
        slots = ops.arange(size, dtype="int32")
        row = ops.mod(slots - position + size, size)
        written = row < batch
        source = ops.minimum(row, batch - 1)
        incoming = ops.stop_gradient(ops.cast(embeddings, self.embedding_memory.dtype))
        memory = ops.where(
            written[:, None],
            ops.take(incoming, source, axis=0),
            ops.convert_to_tensor(self.embedding_memory),
        )
        memory_labels = ops.where(
            written, ops.take(ids, source, axis=0), ops.convert_to_tensor(self.label_memory)
        )
        filled = ops.minimum(ops.convert_to_tensor(self.filled) + batch, size)

        in_use = (slots < filled)[None, :]
        own_copy = ops.equal(row[None, :], ops.arange(batch_size, dtype="int32")[:, None])
        same = ops.equal(ids[:, None], memory_labels[None, :])
        positive = ops.logical_and(ops.logical_and(same, in_use), ops.logical_not(own_copy))
        negative = ops.logical_and(ops.logical_not(same), in_use)
        pairs = Pairs(
            anchors,
            ids,
            ops.cast(memory, anchors.dtype),
            memory_labels,
            positive,
            negative,
            dtype,
            False,
        )
        values = self.loss.loss_from_pairs(pairs)
        # At least float32 (a 16-bit mean over the batch loses digits), float64 kept.
        values = ops.cast(values, working_dtype(values.dtype))
        value = ops.sum(values) if self.loss.reduction == "sum" else mean(values, axis=0)
        if embeddings.shape[0] is None:
            # A compiled step with an unknown batch size cannot raise: a batch too large
            # for the memory (whose own copies overwrite each other) gives NaN.
            nan = constant(float("nan"), value.dtype)
            value = ops.where(batch > size, nan, value)
        self.add_loss(value)

        if training:
            self.embedding_memory.assign(memory)
            self.label_memory.assign(memory_labels)
            self.write_position.assign(ops.mod(position + batch, size))
            self.filled.assign(filled)
        return inputs[0]

    def compute_output_spec(
        self, inputs: Sequence[Any], training: bool | None = None
    ) -> keras.KerasTensor:
        """The embeddings' spec: the layer returns them unchanged."""
        return keras.KerasTensor(inputs[0].shape, dtype=inputs[0].dtype)

    def get_config(self) -> dict[str, Any]:
        """The `keras.layers.Layer` config, the serialized loss and the two sizes."""
        config: dict[str, Any] = super().get_config()
        config.update(
            loss=keras.saving.serialize_keras_object(self.loss),
            memory_size=self.memory_size,
            embedding_size=self.embedding_size,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CrossBatchMemory:
        """The layer from `get_config`'s output, the loss deserialized."""
        config = dict(config)
        config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
