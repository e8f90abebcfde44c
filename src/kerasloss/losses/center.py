"""Center loss (Wen et al. 2016): the squared distance of each embedding to its class centre.

The centres are state, so the trainable form is the layer `kerasloss.layers.CenterLoss`,
which owns them and moves them; this module holds the per-sample function.

There is deliberately no `keras.losses.Loss` class: a Loss cannot own variables that
change during training (on JAX its state is frozen into the compiled step), and the
loss needs the labels and the embeddings at once, which a compiled loss never sees.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal import centers as _centers
from kerasloss._internal import labels as _labels
from kerasloss._internal.aliases import moved
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["center_loss"]


# -------------------------------------------------------------------------- the loss


@register
def center_loss(features: TensorLike, labels: TensorLike, centers: TensorLike) -> Tensor:
    """Half the squared Euclidean distance from each embedding to its class centre.

    Formula:

    ```python
    loss[i] = 0.5 * sum((features[i] - centers[labels[i]]) ** 2)
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
        The loss per sample, shape (B,), in the dtype of `features` (Keras' default
        float type for integer features).

    Raises:
        ValueError: if the shapes do not fit together, or if a label is not a class id
            in [0, C). Labels are checked whenever their values are known: NumPy input
            and eager execution on every backend, and always on PyTorch (under
            `torch.compile` the check is a graph break). Inside a JAX `jit` or a
            TensorFlow graph/XLA step they cannot be read; there a label outside
            [0, C), fractional or NaN gets no centre and a loss of NaN.

    Example:
        >>> features = [[1.0, 2.0], [0.5, -0.5]]
        >>> centers = [[0.0, 0.0], [1.0, 0.0]]
        >>> # 0.5 * ((1 - 1)^2 + (2 - 0)^2), 0.5 * (0.5^2 + 0.5^2)
        >>> print(keras.ops.convert_to_numpy(center_loss(features, [1, 0], centers)))
        [2.   0.25]

    Reference:
        Wen, Zhang, Li and Qiao, "A Discriminative Feature Learning Approach for Deep
        Face Recognition", ECCV 2016, eq. (2).
    """
    features = _centers.check_features(features)
    centers = ops.convert_to_tensor(centers)
    if len(centers.shape) != 2 or centers.shape[-1] != features.shape[-1]:
        raise ValueError(
            f"`centers` must have shape (C, D) = (C, {features.shape[-1]}) to match "
            f"`features` of shape {tuple(features.shape)}; got shape {tuple(centers.shape)}."
        )
    num_classes = centers.shape[0]
    ids, bad = _labels.class_labels(labels, num_classes, batch_size=features.shape[0])
    dtype = working_dtype(features.dtype)
    onehot = _centers.assignment(ids, num_classes, dtype)
    per_sample = _centers.center_term(ops.cast(features, dtype), onehot, ops.cast(centers, dtype))
    per_sample = _labels.poison(per_sample, bad)  # NaN for a label only a compiled step saw
    return ops.cast(per_sample, features.dtype)


# Helpers that were importable from here before kerasloss 0.2; now private.
__getattr__ = moved(
    __name__,
    {
        "assignment": "kerasloss._internal.centers:assignment",
        "center_term": "kerasloss._internal.centers:center_term",
        "check_features": "kerasloss._internal.centers:check_features",
        "class_ids": "kerasloss._internal.checks:class_ids",
        "wen_update": "kerasloss.layers.center:_wen_update",
    },
)
