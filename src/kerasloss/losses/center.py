"""Center loss (Wen et al. 2016): the squared distance of each embedding to its class centre.

The centres are state, so the trainable form is the layer `kerasloss.layers.CenterLoss`,
which owns them; this module holds the per-sample function and the pieces the layer
shares with it (label checks, the centre each sample is assigned, the paper's update).

There is deliberately no `keras.losses.Loss` class: a Loss cannot own variables that
change during training (on JAX its state is frozen into the compiled step), and the
loss needs the labels and the embeddings at once, which a compiled loss never sees.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasloss import _checks
from kerasloss._geometry import row_squared_euclidean
from kerasloss._numerics import float_tensor, working_dtype

_register = keras.saving.register_keras_serializable(package="kerasloss")


# --------------------------------------------------------------------------- helpers


def _concrete_values(tensor):
    """The values of `tensor` as a NumPy array if they are known now, else None.

    They are known for NumPy input and in eager execution. While a compiled step is
    traced (a JAX tracer, a symbolic `tf.Tensor`, Keras' symbolic build) the conversion
    raises, and the check that needs the values is skipped. Under `torch.compile`
    the conversion is a graph break, so the check still runs, outside the graph.
    """
    if isinstance(tensor, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(tensor)
    if keras.utils.is_keras_tensor(tensor):
        return None
    try:
        return ops.convert_to_numpy(tensor)
    except (TypeError, NotImplementedError):
        # jax.errors.TracerArrayConversionError is a TypeError; a symbolic tf.Tensor and
        # a torch tensor on the meta device raise NotImplementedError.
        return None


def class_ids(labels, num_classes: int, batch_size=None):
    """Integer class ids (B,) from labels of shape (B,) or (B, 1), integer or float.

    Values are checked (integers in [0, num_classes)) whenever they are known; see
    `_concrete_values`.
    """
    labels = _checks.label_vector("labels", labels, per="sample")
    if batch_size is not None and labels.shape[0] is not None and labels.shape[0] != batch_size:
        raise ValueError(
            f"`labels` must have one entry per row of `features` ({batch_size}); "
            f"got {labels.shape[0]}."
        )
    values = _concrete_values(labels)
    if values is not None and values.size:
        if values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)):
            raise ValueError(f"`labels` must hold finite class ids; got dtype {values.dtype}.")
        if np.any(values != np.round(values)):
            raise ValueError("`labels` must hold whole class ids; got a fractional value.")
        low, high = values.min(), values.max()
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"`labels` must be class ids in [0, {num_classes - 1}] for {num_classes} "
                f"centres; got values from {low:g} to {high:g}."
            )
    return ops.cast(labels, "int32")


def assignment(labels, num_classes: int, dtype):
    """One-hot rows (B, C) of `dtype`: which centre each sample belongs to.

    A label outside [0, C) that the eager check could not see (inside a JAX or
    TensorFlow compiled step) gives a row of zeros, so that sample has no centre: a
    center loss of 0, no gradient, no part in the centre update.
    """
    return ops.one_hot(labels, num_classes, dtype=dtype)


def center_term(features, onehot, centers):
    """0.5 ||x_i - c_{y_i}||^2 per row, all three tensors already in one float dtype."""
    # einsum rather than matmul: Keras' torch matmul returns float32 for two float64 inputs.
    assigned = ops.einsum("bc,cd->bd", onehot, centers)
    has_centre = ops.sum(onehot, axis=-1)
    return 0.5 * row_squared_euclidean(features, assigned) * has_centre


def wen_update(centers, features, onehot, alpha):
    """The centres after one step of Wen et al.'s rule, eq. (4) and Algorithm 1.

    delta_j = sum_{i: y_i = j} (c_j - x_i) / (1 + n_j),   c_j <- c_j - alpha * delta_j

    `features` are constants here: the rule moves the centres, not the embeddings. A
    class absent from the batch has n_j = 0 and keeps its centre.
    """
    features = ops.stop_gradient(ops.cast(features, centers.dtype))
    onehot = ops.cast(onehot, centers.dtype)
    counts = ops.sum(onehot, axis=0)[:, None]
    sums = ops.einsum("bc,bd->cd", onehot, features)
    delta = (counts * centers - sums) / (1 + counts)
    return centers - ops.cast(alpha, centers.dtype) * delta


def check_features(features):
    """A float (B, D) tensor with a known D."""
    features = float_tensor(features)
    if len(features.shape) != 2 or features.shape[-1] is None:
        raise ValueError(
            "`features` must be embeddings of shape (batch_size, D) with a known D; "
            f"got shape {tuple(features.shape)}."
        )
    return features


# -------------------------------------------------------------------------- the loss


@_register
def center_loss(features, labels, centers):
    """Half the squared Euclidean distance from each embedding to its class centre.

    Formula:

    ```python
    loss_i = 0.5 * sum((features[i] - centers[labels[i]]) ** 2)
    ```

    The centre of each sample is picked by a one-hot product, so the gradient reaches
    both `features` and `centers`; `kerasloss.layers.CenterLoss` keeps the centres as
    a variable and either learns them by gradient or moves them by the paper's rule.
    16-bit features are computed in float32 and the result is cast back.

    Args:
        features: embeddings, shape (B, D).
        labels: integer class ids, shape (B,) or (B, 1); float labels holding whole
            numbers are accepted.
        centers: one centre per class, shape (C, D).

    Returns:
        The loss per sample, shape (B,), in the dtype of `features`.

    Raises:
        ValueError: if the shapes do not fit together, or if a label is not a class id
            in [0, C). Labels are checked whenever their values are known: NumPy input
            and eager execution on every backend, and always on PyTorch (under
            `torch.compile` the check is a graph break). Inside a JAX `jit` or a
            TensorFlow graph/XLA step they cannot be read; there a label outside
            [0, C) gets no centre: a loss of 0 and no gradient.

    Example:
        >>> x = np.array([[1.0, 2.0], [0.0, 0.0]])
        >>> center_loss(x, [1, 0], np.array([[0.0, 0.0], [1.0, 0.0]]))  # [2.0, 0.0]

    Reference: Wen, Zhang, Li and Qiao, "A Discriminative Feature Learning Approach for
    Deep Face Recognition", ECCV 2016, eq. (2).
    """
    features = check_features(features)
    centers = ops.convert_to_tensor(centers)
    if len(centers.shape) != 2 or centers.shape[-1] != features.shape[-1]:
        raise ValueError(
            f"`centers` must have shape (C, D) = (C, {features.shape[-1]}) to match "
            f"`features` of shape {tuple(features.shape)}; got shape {tuple(centers.shape)}."
        )
    num_classes = centers.shape[0]
    ids = class_ids(labels, num_classes, batch_size=features.shape[0])
    dtype = working_dtype(features.dtype)
    onehot = assignment(ids, num_classes, dtype)
    per_sample = center_term(ops.cast(features, dtype), onehot, ops.cast(centers, dtype))
    return ops.cast(per_sample, features.dtype)
