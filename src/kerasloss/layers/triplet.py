"""A layer that adds the triplet margin loss of (anchor, positive, negative) embeddings."""

from __future__ import annotations

import keras
from keras import ops

from kerasloss._internal.distances import check_distance
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.mining import check_margin
from kerasloss._internal.registration import register
from kerasloss.losses.metric_learning import triplet_margin_loss

__all__ = ["TripletMarginLossLayer"]


@register
class TripletMarginLossLayer(keras.layers.Layer):
    """Adds `triplet_margin_loss` of three embeddings to the model with `add_loss`.

    For models whose loss is a function of their own intermediate values, not of
    (y_true, y_pred): a question, its right answer and a wrong answer pass through one
    shared encoder, and this layer adds mean(max(0, margin + d(q, right) - d(q, wrong)))
    to the model's loss. Compile without a loss and call `fit(x, y=None)`.

    The layer returns the per-triplet losses, shape (B,). Make that (one of) the
    model's outputs: a layer whose output reaches no model output is not part of a
    functional model, and its loss would be dropped.

    Args:
        margin: how much closer the positive must be, >= 0.
        distance: "cosine" (1 - cosine similarity), "euclidean" or "squared_euclidean".
        **kwargs: `name`, `dtype` and the other `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a list `[anchor, positive, negative]` of (B, D) embeddings.

    Returns:
        The loss of each triplet, shape (B,).

    Raises:
        ValueError: if `margin` is negative or not finite, or `distance` is unknown.

    Example:
        >>> encoder = keras.Sequential([keras.layers.Embedding(1000, 32),
        ...                             keras.layers.GlobalAveragePooling1D()])
        >>> q, right, wrong = (keras.Input((20,), dtype="int32") for _ in range(3))
        >>> losses = TripletMarginLossLayer(margin=0.2)([encoder(q), encoder(right),
        ...                                              encoder(wrong)])
        >>> model = keras.Model([q, right, wrong], losses)
        >>> model.compile(optimizer="adam")
        >>> model.fit([questions, answers, wrong_answers], None, epochs=5)

    Reference: Feng et al., "Applying Deep Learning to Answer Selection: A Study and an
    Open Task", ASRU 2015.
    """

    def __init__(self, *, margin: float = 0.1, distance: str = "cosine", **kwargs):
        super().__init__(**kwargs)
        self.margin = check_margin(margin)
        self.distance = check_distance(distance)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            raise ValueError(
                "`TripletMarginLossLayer` takes a list [anchor, positive, negative] of three "
                f"(batch_size, D) embeddings; got {type(inputs).__name__}."
            )
        anchor, positive, negative = inputs
        losses = triplet_margin_loss(
            anchor, positive, negative, margin=self.margin, distance=self.distance
        )
        # At least float32 (a 16-bit mean over the batch loses digits), float64 kept.
        self.add_loss(ops.mean(ops.cast(losses, working_dtype(losses.dtype))))
        return losses

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)

    def get_config(self):
        config = super().get_config()
        config.update(margin=check_margin(self.margin), distance=check_distance(self.distance))
        return config
