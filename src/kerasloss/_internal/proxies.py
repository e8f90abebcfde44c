"""Proxy-loss pieces shared by the functions in `losses/proxy.py` and the layers in
`layers/proxy.py`: one validator per loss, the input checks and the proxy cosines."""

from __future__ import annotations

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal import labels as _labels
from kerasloss._internal import pairs as _pairs
from kerasloss._internal.distances import l2_normalize
from kerasloss._internal.dtypes import to_working
from kerasloss._internal.types import Tensor, TensorLike


def check_anchor_args(margin: object, alpha: object) -> tuple[float, float]:
    """Proxy Anchor's `margin` >= 0 and `alpha` > 0, finite; errors name the argument."""
    margin = _checks.check_real("margin", margin)
    if margin < 0:
        raise ValueError(f"`margin` must be >= 0 (a cosine); got {margin}.")
    alpha = _checks.check_real("alpha", alpha)
    if alpha <= 0:
        raise ValueError(f"`alpha` must be > 0 (it scales the cosines); got {alpha}.")
    return margin, alpha


def check_nca_args(softmax_scale: object) -> float:
    """Proxy-NCA's `softmax_scale` > 0, finite; the error names it."""
    scale = _checks.check_real("softmax_scale", softmax_scale)
    if scale <= 0:
        raise ValueError(f"`softmax_scale` must be > 0; got {scale}.")
    return scale


def prepare(
    y_true: TensorLike, y_pred: TensorLike, proxies: TensorLike
) -> tuple[Tensor, Tensor, Tensor, int, str]:
    """Cosines (B, C) of embeddings and proxies, class ids (B,) and the invalid-label mask.

    Returns `(cosine, ids, bad, num_classes, dtype)`: the cosines in the working dtype
    (float32 for 16-bit embeddings), ids -1 where a label is invalid (only inside a
    compiled step; eagerly such a label raises), and the dtype to return the loss in.
    """
    embeddings, dtype = to_working(y_pred)
    if len(embeddings.shape) != 2 or embeddings.shape[-1] is None:
        raise ValueError(
            "`y_pred` must be embeddings of shape (batch_size, D) with a known D; "
            f"got shape {tuple(embeddings.shape)}."
        )
    _pairs.check_not_empty("y_pred", embeddings)
    proxies = ops.convert_to_tensor(proxies)
    if (
        len(proxies.shape) != 2
        or proxies.shape[0] is None
        or proxies.shape[1] != embeddings.shape[1]
    ):
        raise ValueError(
            f"`proxies` must have shape (C, D) = (C, {embeddings.shape[1]}) to match "
            f"`y_pred` of shape {tuple(embeddings.shape)}; got shape {tuple(proxies.shape)}."
        )
    num_classes = int(proxies.shape[0])
    ids, bad = _labels.class_labels(
        y_true, num_classes, batch_size=embeddings.shape[0], name="y_true"
    )
    # einsum rather than matmul: Keras' torch matmul returns float32 for two float64 inputs.
    cosine = ops.einsum(
        "bd,cd->bc",
        l2_normalize(embeddings, axis=-1),
        l2_normalize(ops.cast(proxies, embeddings.dtype), axis=-1),
    )
    return cosine, ids, bad, num_classes, dtype
