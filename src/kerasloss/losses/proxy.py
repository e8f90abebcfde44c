"""Proxy losses: each class is represented by a learned vector, its proxy.

A proxy loss compares each embedding with C proxies instead of with the other
embeddings of the batch, so it needs no pair or triplet mining and converges in few
epochs. The proxies are state, so the trainable form is a layer that owns them
(`kerasloss.layers.ProxyAnchor`, `kerasloss.layers.ProxyNCA`); this module holds the
per-sample functions, which take the proxies as data.

There is deliberately no `keras.losses.Loss` class: a Loss cannot own the trainable
proxies, and it sees only `(y_true, y_pred)`.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal import labels as _labels
from kerasloss._internal import proxies as _proxies
from kerasloss._internal.masking import masked_logsumexp
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["proxy_anchor_loss", "proxy_nca_loss"]


def _split_softplus_lse(z: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per class c: log(1 + sum_{i in mask[:, c]} exp(z[i, c])) and each sample's share.

    `z` and `mask` are (B, C). Returns `term` (C,) (0 for a class whose set is empty),
    `share` (B, C), the softmax weight of sample i within class c's set (0 outside it;
    each non-empty column sums to 1), and `nonempty` (C,).
    """
    z_t, mask_t = ops.transpose(z), ops.transpose(mask)
    nonempty = ops.any(mask_t, axis=-1)
    lse = masked_logsumexp(z_t, mask_t, nonempty)  # (C,), 0 on an empty set
    # log(1 + sum exp) = softplus(log sum exp): finite for any z, no exp overflow.
    term = ops.where(nonempty, ops.softplus(lse), ops.zeros_like(lse))
    centred = ops.where(mask_t, z_t - lse[:, None], ops.zeros_like(z_t))  # <= 0 inside
    share = ops.where(mask_t, ops.exp(centred), ops.zeros_like(z_t))
    return term, ops.transpose(share), nonempty


@register
def proxy_anchor_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    proxies: TensorLike,
    *,
    margin: float = 0.1,
    alpha: float = 32.0,
) -> Tensor:
    """Proxy Anchor loss: each proxy pulls its class's embeddings and pushes the others.

    Proxy Anchor (Kim et al. 2020) treats each proxy as an anchor and the whole batch as
    its data: a proxy's positive term is a soft maximum over the embeddings of its
    class, its negative term a soft maximum over all other embeddings, so each gradient
    depends on every embedding's relative hardness.

    Formula:

    ```python
    cos = l2_normalize(y_pred) @ l2_normalize(proxies).T          # (B, C)
    P_c = {i: y_true[i] == c};  N_c = {i: y_true[i] != c}
    pos[c] = log(1 + sum_{i in P_c} exp(-alpha * (cos[i, c] - margin)))
    neg[c] = log(1 + sum_{i in N_c} exp(alpha * (cos[i, c] + margin)))
    loss = sum_c pos[c] / |{c: P_c non-empty}| + sum_c neg[c] / C
    # per sample, whose mean is `loss`:
    share_pos[i, c] = softmax_{j in P_c}(-alpha * (cos[j, c] - margin))[i]
    share_neg[i, c] = softmax_{j in N_c}(alpha * (cos[j, c] + margin))[i]
    value[i] = B * (sum_c share_pos[i, c] * pos[c] / |{c: P_c non-empty}|
                    + sum_c share_neg[i, c] * neg[c] / C)
    ```

    The loss is a sum over proxies, not over samples. Each proxy's term is split among
    the samples it sums over in proportion to their softmax weight in it (the share of
    the term's gradient each receives): hard samples carry most of it. The values add
    up to B times the loss, so their mean is the loss, which equals
    pytorch-metric-learning's `ProxyAnchorLoss` for the same proxies; so is its
    gradient. A class absent from the batch adds no positive term (and is not counted
    in the first divisor); its proxy still gets the negative term.

    Args:
        y_true: integer class ids, shape (B,) or (B, 1), in [0, C); float ids holding
            whole numbers are accepted.
        y_pred: embeddings, shape (B, D); they are L2-normalised here.
        proxies: one proxy per class, shape (C, D); L2-normalised here.
        margin: the margin delta >= 0 on the cosines.
        alpha: the scale alpha > 0 of the cosines inside the soft maxima.

    Returns:
        Shape (B,): each sample's share of the loss, times B, in the dtype of `y_pred`
        (16-bit embeddings are computed in float32). The values couple the batch.

    Raises:
        TypeError: if `margin` or `alpha` is not a real number.
        ValueError: if `margin` < 0, `alpha` <= 0, either is not finite, `y_pred` is not
            (B, D), `proxies` is not (C, D), or `y_true` is not one class id in [0, C)
            per embedding. Labels are checked whenever their values are known (eager
            execution; every step on torch); inside a compiled JAX or TensorFlow step
            an invalid label makes every value NaN.

    Example:
        >>> proxies = np.eye(2, dtype="float32")  # class 0: (1, 0), class 1: (0, 1)
        >>> x = np.array([[1.0, 0.0], [0.6, 0.8]], dtype="float32")
        >>> values = proxy_anchor_loss([0, 1], x, proxies, margin=0.1, alpha=4.0)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.9400 2.9181]
        >>> print(float(keras.ops.mean(values)))
        1.929

        Class 0's terms are log(1 + e^(-4 * 0.9)) = 0.0270 (row 0) and
        log(1 + e^(4 * 0.7)) = 2.8590 (row 1, cosine 0.6 to that proxy); class 1's are
        log(1 + e^(-4 * 0.7)) = 0.0590 (row 1) and log(1 + e^(4 * 0.1)) = 0.9130
        (row 0). The loss is (0.0270 + 0.0590) / 2 + (2.8590 + 0.9130) / 2 = 1.929; row 0
        carries 2 * (0.0270 / 2 + 0.9130 / 2) of it.

    Reference:
        Kim, Kim, Cho and Kwak, "Proxy Anchor Loss for Deep Metric Learning", CVPR 2020,
        eq. (4), https://arxiv.org/abs/2003.13911.
    """
    margin, alpha = _proxies.check_anchor_args(margin, alpha)
    cosine, ids, bad, num_classes, dtype = _proxies.prepare(y_true, y_pred, proxies)
    work = cosine.dtype
    positive = ops.cast(ops.one_hot(ids, num_classes, dtype="int32"), "bool")
    # A row with an invalid label (id -1) is in neither set; the values become NaN below.
    negative = ops.logical_not(positive) & ops.logical_not(bad)[:, None]
    alpha_t = ops.convert_to_tensor(alpha, dtype=work)
    margin_t = ops.convert_to_tensor(margin, dtype=work)
    pos_term, pos_share, with_positives = _split_softplus_lse(
        -alpha_t * (cosine - margin_t), positive
    )
    neg_term, neg_share, _ = _split_softplus_lse(alpha_t * (cosine + margin_t), negative)
    num_with_positives = ops.sum(ops.cast(with_positives, work))
    pos_divisor = ops.where(
        num_with_positives > 0, num_with_positives, ops.ones_like(num_with_positives)
    )
    batch = ops.cast(ops.shape(cosine)[0], work)
    per_sample = batch * (
        ops.sum(pos_share * pos_term[None, :], axis=-1) / pos_divisor
        + ops.sum(neg_share * neg_term[None, :], axis=-1) / ops.cast(num_classes, work)
    )
    return ops.cast(_labels.poison_all(per_sample, bad), dtype)


@register
def proxy_nca_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    proxies: TensorLike,
    *,
    softmax_scale: float = 1.0,
) -> Tensor:
    """Proxy-NCA loss: the cross-entropy of a softmax over distances to the class proxies.

    Proxy-NCA (Movshovitz-Attias et al. 2017) replaces NCA's neighbours by one proxy per
    class: each embedding should be nearer its class proxy than any other, in squared
    Euclidean distance between L2-normalised vectors.

    Formula:

    ```python
    d = ||l2_normalize(y_pred[i]) - l2_normalize(proxies[c])||^2    # (B, C), = 2 - 2 cos
    loss[i] = -log_softmax(-softmax_scale * d[i])[y_true[i]]
            = logsumexp_c(2 * softmax_scale * cos[i, c]) - 2 * softmax_scale * cos[i, y_true[i]]
    ```

    The softmax runs over every proxy, the embedding's own included, as in
    pytorch-metric-learning's `ProxyNCALoss`, whose value is the mean of these (for the
    same proxies). The paper's denominator leaves the own proxy out, a loss that is
    unbounded below; with it in, the loss is a cross-entropy, >= 0.

    Args:
        y_true: integer class ids, shape (B,) or (B, 1), in [0, C); float ids holding
            whole numbers are accepted.
        y_pred: embeddings, shape (B, D); they are L2-normalised here.
        proxies: one proxy per class, shape (C, D); L2-normalised here.
        softmax_scale: the inverse temperature s > 0 on the negative squared distances.

    Returns:
        The loss per sample, shape (B,), in the dtype of `y_pred` (16-bit embeddings
        are computed in float32).

    Raises:
        TypeError: if `softmax_scale` is not a real number.
        ValueError: if `softmax_scale` <= 0 or not finite, `y_pred` is not (B, D),
            `proxies` is not (C, D), or `y_true` is not one class id in [0, C) per
            embedding. Labels are checked whenever their values are known (eager
            execution; every step on torch); inside a compiled JAX or TensorFlow step
            an invalid label makes that sample's value NaN.

    Example:
        >>> proxies = np.eye(2, dtype="float32")  # class 0: (1, 0), class 1: (0, 1)
        >>> x = np.array([[1.0, 0.0], [0.6, 0.8]], dtype="float32")
        >>> values = proxy_nca_loss([0, 1], x, proxies)
        >>> # log(1 + exp(-2 * (1 - 0))), log(1 + exp(-2 * (0.8 - 0.6)))
        >>> print(keras.ops.convert_to_numpy(values))
        [0.1269 0.5130]

    Reference:
        Movshovitz-Attias, Toshev, Leung, Ioffe and Singh, "No Fuss Distance Metric
        Learning using Proxies", ICCV 2017, eq. (8), https://arxiv.org/abs/1703.07464.
    """
    softmax_scale = _proxies.check_nca_args(softmax_scale)
    cosine, ids, bad, num_classes, dtype = _proxies.prepare(y_true, y_pred, proxies)
    # -s * (2 - 2 cos) differs from 2 s cos by a constant per row, which the softmax
    # ignores; the cosine form has no cancellation near d = 0.
    logits = ops.convert_to_tensor(2 * softmax_scale, dtype=cosine.dtype) * cosine
    target = ops.one_hot(ids, num_classes, dtype=cosine.dtype)
    per_sample = ops.logsumexp(logits, axis=-1) - ops.sum(target * logits, axis=-1)
    return ops.cast(_labels.poison(per_sample, bad), dtype)
