"""Two-tower losses for paired data: CLIP's softmax form and SigLIP's sigmoid form.

Row i of `a` (an image, a query) is paired with row i of `b` (its caption, its
document); every other row of the batch is a negative. Both losses work on the (B, B)
cosine similarities of the two towers and return one value per pair, whose mean is the
papers' batch loss. The learnable temperature (and SigLIP's bias) live on the layers
`kerasloss.layers.CLIPLoss` and `kerasloss.layers.SigLIPLoss`; the functions take them
as arguments.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.distances import cosine_similarities
from kerasloss._internal.dtypes import to_working
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["clip_loss", "siglip_loss"]


def _towers(a: TensorLike, b: TensorLike) -> tuple[Tensor, Tensor, str]:
    """a and b as (B, D) tensors in the working dtype, checked, and the dtype to return."""
    a, dtype = to_working(a)
    b = ops.cast(to_working(b)[0], a.dtype)
    if len(a.shape) != 2 or tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            "`a` and `b` must be paired embeddings of one shape (batch_size, D), row i of "
            f"`a` paired with row i of `b`; got shapes {tuple(a.shape)} and {tuple(b.shape)}."
        )
    return a, b, dtype


def _scalar(name: str, value: TensorLike, dtype: str, *, low: float | None) -> Tensor:
    """A Python number (checked) or a scalar tensor (a layer's weight) as a tensor."""
    if not hasattr(value, "dtype") or isinstance(value, np.generic):
        value = _checks.check_real(name, value, low=low)  # TypeError unless a real number
    value = ops.convert_to_tensor(value)
    if len(value.shape) != 0:
        raise ValueError(f"`{name}` must be a scalar; got shape {tuple(value.shape)}.")
    return ops.cast(value, dtype)


@register
def clip_loss(a: TensorLike, b: TensorLike, *, logit_scale: TensorLike) -> Tensor:
    """CLIP's symmetric cross-entropy over the cosine similarities of paired embeddings.

    Each row of `a` must pick its own partner among the rows of `b`, and each row of `b`
    its partner among the rows of `a`. The value of pair i is the mean of its two
    cross-entropies, so the mean over the batch is the paper's
    `(loss_a_to_b + loss_b_to_a) / 2`.

    Formula:

    ```python
    logits = logit_scale * cos(a_i, b_j)                  # (B, B)
    loss_i = (-log_softmax(logits, axis=1)[i, i]          # a_i picks b_i among the b
              - log_softmax(logits, axis=0)[i, i]) / 2    # b_i picks a_i among the a
    ```

    A zero embedding has cosine 0 with everything.

    Args:
        a: embeddings of the first tower, shape (B, D).
        b: embeddings of the second tower, shape (B, D); row i is a's row i's partner.
        logit_scale: the inverse temperature t > 0 that multiplies the cosines (CLIP
            learns log t, starting from t = 1 / 0.07): a number or a scalar tensor.

    Returns:
        The loss of each pair, shape (B,), in `a`'s dtype (16-bit inputs are computed
        in float32).

    Raises:
        ValueError: if `a` and `b` are not of one (B, D) shape, or `logit_scale` is not
            a finite number >= 0 (checked when it is a Python number) or not a scalar.
        TypeError: if `logit_scale` is neither a number nor a tensor.

    Example:
        >>> a = [[1.0, 0.0], [0.0, 1.0]]
        >>> b = [[2.0, 0.0], [0.0, 3.0]]  # each row points the way of its partner
        >>> loss = clip_loss(a, b, logit_scale=1.0)
        >>> print(keras.ops.convert_to_numpy(loss))  # -log(e / (e + 1)) per direction
        [0.3133 0.3133]

    Reference: Radford et al., "Learning Transferable Visual Models From Natural
    Language Supervision", ICML 2021.
    """
    a, b, dtype = _towers(a, b)
    scale = _scalar("logit_scale", logit_scale, keras.backend.standardize_dtype(a.dtype), low=0.0)
    logits = scale * cosine_similarities(a, b)
    diagonal = ops.eye(ops.shape(a)[0], dtype=a.dtype)
    a_to_b = -ops.sum(ops.log_softmax(logits, axis=1) * diagonal, axis=1)
    b_to_a = -ops.sum(ops.log_softmax(logits, axis=0) * diagonal, axis=0)
    return ops.cast(0.5 * (a_to_b + b_to_a), dtype)


@register
def siglip_loss(
    a: TensorLike, b: TensorLike, *, logit_scale: TensorLike, logit_bias: TensorLike
) -> Tensor:
    """SigLIP's pairwise sigmoid loss over the cosine similarities of paired embeddings.

    Every (i, j) pair is an independent binary decision, positive on the diagonal and
    negative elsewhere, so no softmax couples the batch. The value of row i sums its B
    decisions; the mean over the batch is the paper's total divided by B.

    Formula:

    ```python
    z = 2 * eye(B) - 1                                   # +1 on the diagonal, -1 elsewhere
    logits = logit_scale * cos(a_i, b_j) + logit_bias    # (B, B)
    loss_i = -sum_j log_sigmoid(z[i, j] * logits[i, j])
    ```

    Args:
        a: embeddings of the first tower, shape (B, D).
        b: embeddings of the second tower, shape (B, D); row i is a's row i's partner.
        logit_scale: t > 0 that multiplies the cosines (SigLIP learns log t, starting
            from t = 10): a number or a scalar tensor.
        logit_bias: b added to the logits (SigLIP starts from -10, so that the many
            negatives do not dominate the first steps): a number or a scalar tensor.

    Returns:
        The loss of each row, shape (B,), in `a`'s dtype (16-bit inputs are computed in
        float32).

    Raises:
        ValueError: if `a` and `b` are not of one (B, D) shape, `logit_scale` is not a
            finite number >= 0 or `logit_bias` not finite (checked when they are Python
            numbers), or either is not a scalar.
        TypeError: if `logit_scale` or `logit_bias` is neither a number nor a tensor.

    Example:
        >>> a = [[1.0, 0.0], [0.0, 1.0]]
        >>> b = [[1.0, 0.0], [0.0, 1.0]]
        >>> loss = siglip_loss(a, b, logit_scale=1.0, logit_bias=0.0)
        >>> print(keras.ops.convert_to_numpy(loss))  # -log sigmoid(1) - log sigmoid(0)
        [1.0064 1.0064]

    Reference: Zhai, Mustafa, Kolesnikov and Beyer, "Sigmoid Loss for Language Image
    Pre-Training", ICCV 2023.
    """
    a, b, dtype = _towers(a, b)
    scale = _scalar("logit_scale", logit_scale, keras.backend.standardize_dtype(a.dtype), low=0.0)
    bias = _scalar("logit_bias", logit_bias, keras.backend.standardize_dtype(a.dtype), low=None)
    logits = scale * cosine_similarities(a, b) + bias
    signs = 2 * ops.eye(ops.shape(a)[0], dtype=a.dtype) - 1
    return ops.cast(-ops.sum(ops.log_sigmoid(signs * logits), axis=1), dtype)
