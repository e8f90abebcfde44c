"""The center-loss pieces shared by `center_loss` and the `CenterLoss` layer."""

from __future__ import annotations

from keras import ops

from kerasloss._internal.distances import row_squared_euclidean
from kerasloss._internal.dtypes import float_tensor
from kerasloss._internal.types import DTypeLike, Tensor, TensorLike


def assignment(labels: Tensor, num_classes: int, dtype: DTypeLike) -> Tensor:
    """One-hot rows (B, C) of `dtype`: which centre each sample belongs to.

    An invalid label that the eager check could not see (inside a JAX or TensorFlow
    compiled step) arrives as id -1 (`_internal/labels.py`) and gives a row of zeros, so
    that sample has no centre and no part in the centre update; the callers make its
    loss NaN.
    """
    return ops.one_hot(labels, num_classes, dtype=dtype)


def center_term(features: Tensor, onehot: Tensor, centers: Tensor) -> Tensor:
    """0.5 ||x_i - c_{y_i}||^2 per row, all three tensors already in one float dtype."""
    # einsum rather than matmul: Keras' torch matmul returns float32 for two float64 inputs.
    assigned = ops.einsum("bc,cd->bd", onehot, centers)
    has_centre = ops.sum(onehot, axis=-1)
    return 0.5 * row_squared_euclidean(features, assigned) * has_centre


def check_features(features: TensorLike) -> Tensor:
    """A float (B, D) tensor with a known D."""
    features = float_tensor(features)
    if len(features.shape) != 2 or features.shape[-1] is None:
        raise ValueError(
            "`features` must be embeddings of shape (batch_size, D) with a known D; "
            f"got shape {tuple(features.shape)}."
        )
    return features
