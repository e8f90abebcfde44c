"""A layer that adds the triplet margin loss of (anchor, positive, negative) embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kerasloss._internal.distances import check_distance
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.mining import check_margin
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike
from kerasloss.losses.metric_learning import triplet_margin_loss

__all__ = ["TripletMarginLossLayer"]


@register
class TripletMarginLossLayer(keras.layers.Layer):
    """Adds the triplet margin loss of (anchor, positive, negative) embeddings to a model.

    For models whose loss is a function of their own intermediate values, not of
    (y_true, y_pred): a question, its right answer and a wrong answer pass through one
    shared encoder, and this layer adds the mean of `triplet_margin_loss` over the
    batch to the model's loss with `add_loss`. Compile without a loss and call
    `fit(x, y=None)`.

    The layer returns the per-triplet losses, shape (B,). Make that (one of) the
    model's outputs: a layer whose output reaches no model output is not part of a
    functional model, and its loss would be dropped.

    Formula:

    ```python
    losses = max(0, margin + d(anchor, positive) - d(anchor, negative))  # per row
    model_loss += mean(losses)                                           # add_loss
    # distance="cosine":            d(a, b) = 1 - a.b / (||a|| ||b||)
    # distance="euclidean":         d(a, b) = ||a - b||
    # distance="squared_euclidean": d(a, b) = ||a - b||^2
    ```

    Args:
        margin: how much closer the positive must be, a finite number >= 0.
        distance: "cosine" (1 - cosine similarity), "euclidean" or "squared_euclidean".
        **kwargs: `name`, `dtype` and the other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a list `[anchor, positive, negative]` of three (B, D) embeddings.

    Returns:
        The loss of each triplet, shape (B,), in the anchor's dtype. The mean over the
        batch, in at least float32, is added to the model's loss.

    Raises:
        TypeError: if `margin` is not a real number.
        ValueError: if `margin` is negative or not finite or `distance` is unknown;
            when called, if `inputs` is not a list of three embeddings of one (B, D)
            shape.

    Example:
        >>> anchor = np.array([[1.0, 0.0], [1.0, 0.0]], dtype="float32")
        >>> positive = np.array([[2.0, 0.0], [3.0, 4.0]], dtype="float32")  # cos 1.0, 0.6
        >>> negative = np.array([[0.0, 1.0], [4.0, 3.0]], dtype="float32")  # cos 0.0, 0.8
        >>> layer = TripletMarginLossLayer(margin=0.1)
        >>> losses = layer([anchor, positive, negative])
        >>> print(keras.ops.convert_to_numpy(losses))  # second row: 0.1 + 0.4 - 0.2
        [0.0 0.3]
        >>> print(float(layer.losses[0]))  # what add_loss added: the mean
        0.15

        In a model, with one encoder shared by the three inputs:

        >>> encoder = keras.layers.Dense(2)
        >>> q, right, wrong = (keras.Input((3,)) for _ in range(3))
        >>> losses = TripletMarginLossLayer(margin=0.1)(
        ...     [encoder(q), encoder(right), encoder(wrong)]
        ... )
        >>> model = keras.Model([q, right, wrong], losses)
        >>> model.compile(optimizer="sgd")
        >>> x = [np.random.default_rng(i).normal(size=(4, 3)).astype("float32")
        ...      for i in range(3)]
        >>> history = model.fit(x, None, epochs=1, verbose=0)
        >>> print(np.isfinite(history.history["loss"][-1]))
        True

    Reference: Feng et al., "Applying Deep Learning to Answer Selection: A Study and an
    Open Task", ASRU 2015; Schroff, Kalenichenko and Philbin, "FaceNet: A Unified
    Embedding for Face Recognition and Clustering", CVPR 2015 (the margin form).
    """

    def __init__(self, *, margin: float = 0.1, distance: str = "cosine", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.margin = check_margin(margin)
        self.distance = check_distance(distance)

    def call(self, inputs: Sequence[TensorLike]) -> Tensor:
        """The per-triplet losses, shape (B,); their mean goes to `add_loss`."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            got = (
                f"a {type(inputs).__name__} of {len(inputs)}"
                if isinstance(inputs, (list, tuple))
                else f"a single {type(inputs).__name__}"
            )
            raise ValueError(
                "`TripletMarginLossLayer` takes a list [anchor, positive, negative] of three "
                f"(batch_size, D) embeddings; got {got}."
            )
        anchor, positive, negative = inputs
        losses = triplet_margin_loss(
            anchor, positive, negative, margin=self.margin, distance=self.distance
        )
        # At least float32 (a 16-bit mean over the batch loses digits), float64 kept.
        self.add_loss(ops.mean(ops.cast(losses, working_dtype(losses.dtype))))
        return losses

    def compute_output_shape(
        self, input_shape: Sequence[tuple[int | None, ...]]
    ) -> tuple[int | None]:
        """(B,): one loss per triplet."""
        return (input_shape[0][0],)

    def get_config(self) -> dict[str, Any]:
        """The `keras.layers.Layer` config plus `margin` and `distance`."""
        config: dict[str, Any] = super().get_config()
        config.update(margin=check_margin(self.margin), distance=check_distance(self.distance))
        return config
