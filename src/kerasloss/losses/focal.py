"""Focal losses (Lin et al. 2017): binary, categorical and sparse categorical.

A focal loss multiplies the cross-entropy of each class by (1 - p)^gamma, so the
examples the model already gets right with confidence weigh (much) less than the hard
ones. From logits every factor comes from log-probabilities: -log p, and 1 - p without
subtracting a probability close to 1 from 1, so logits of +-40 or +-1e4 give the exact
value on every backend. Keras' focal losses clip the probabilities to [1e-7, 1 - 1e-7]
instead, which turns the 40 of a confidently wrong answer into 16.1. The losses follow
kerasloss' precision policy (`kerasloss._internal.dtypes`): float16 and bfloat16 inputs
are computed in float32 and the loss is returned in the input's dtype; float64 stays
float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal import sparse as _sparse
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant, smallest_normal, to_working
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike
from kerasloss.losses.classification import _clip_probabilities, _prologue

__all__ = [
    "BinaryFocalLoss",
    "CategoricalFocalLoss",
    "SparseCategoricalFocalLoss",
    "binary_focal_loss",
    "categorical_focal_loss",
    "sparse_categorical_focal_loss",
]

# --------------------------------------------------------------------------- helpers


def _integer_power(x: Tensor, n: int) -> Tensor:
    """x**n for a whole n >= 1, as n - 1 products (gamma is small: 1 to 5 in practice).

    `ops.power` with a whole exponent is a general power on torch (a tensor exponent,
    whose backward is another power and a `where`): for the usual gamma = 2 it cost
    about a quarter of the binary focal step on torch eager. Products are exact where
    the power is, and smooth at x = 0.
    """
    result = x
    for _ in range(n - 1):
        result = result * x
    return result


def _modulated(crossentropy: Tensor, not_p: Tensor, gamma: float) -> Tensor:
    """crossentropy * (1 - p)^gamma, with `not_p` = 1 - p computed without cancellation.

    gamma = 0 adds no factor, so the gradient never meets 0^-1. An integer gamma is an
    integer power: exact, and smooth at 1 - p = 0. Any other gamma needs a floor on
    1 - p to keep d/dx x^gamma finite for gamma < 1 where 1 - p underflows to 0 (the
    cross-entropy it multiplies is 0 there too). The floor is a `clip` with bounds of the
    tensor's dtype, not `maximum`: Keras' type promotion runs `maximum` of two float64
    tensors in float32 on JAX and torch, and torch turns a Python float bound into
    float32; either way a float64 floor would round to 0.
    """
    if gamma == 0:
        return crossentropy
    if gamma.is_integer():
        return _integer_power(not_p, int(gamma)) * crossentropy
    floor = constant(smallest_normal(not_p.dtype), not_p.dtype)
    return ops.power(ops.clip(not_p, floor, constant(1.0, not_p.dtype)), gamma) * crossentropy


def _check_alpha(alpha: object) -> float | list[float] | None:
    """None, one weight >= 0, or a non-empty list of weights >= 0; errors name `alpha`."""
    if alpha is None:
        return None
    if isinstance(alpha, (bool, np.bool_, str, bytes, dict)):
        raise TypeError(
            f"`alpha` must be a weight >= 0 or a list of one weight >= 0 per class; got "
            f"{alpha!r} ({type(alpha).__name__})."
        )
    if isinstance(alpha, (int, float, np.number)):
        return _checks.check_real("alpha", alpha, low=0.0)
    try:
        weights = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError) as err:  # ragged nesting, or entries that are not numbers
        raise TypeError(
            f"`alpha` must be a weight >= 0 or a list of one weight >= 0 per class: {err}"
        ) from err
    if weights.ndim == 0:
        return _checks.check_real("alpha", float(weights), low=0.0)
    if weights.ndim != 1 or weights.size == 0:
        raise ValueError(
            f"`alpha` must be a weight >= 0 or a list of one weight >= 0 per class, shape "
            f"(C,); got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"`alpha` must hold finite weights >= 0; got {weights.tolist()}.")
    return [float(w) for w in weights]


def _categorical_hyper(
    gamma: object, alpha: object, label_smoothing: object, from_logits: object
) -> tuple[float, float | list[float] | None, float, bool]:
    """The validated hyper-parameters of the categorical focal losses."""
    return (
        _checks.check_real("gamma", gamma, low=0.0),
        _check_alpha(alpha),
        _checks.check_real("label_smoothing", label_smoothing, low=0.0, high=1.0),
        _checks.check_bool("from_logits", from_logits),
    )


def _log_p_and_complement(logits: Tensor) -> tuple[Tensor, Tensor]:
    """log softmax(logits) and 1 - softmax(logits), both to full relative precision.

    With z = logits - max and S = sum(exp(z)) >= 1: log p = z - log(S) and
    1 - p = (S - exp(z)) / S. At logits (40, 0, 0), S = 1 + 8.5e-18 rounds to 1, which
    would make log p and 1 - p of the largest class 0. So r = S - 1 is summed directly:
    the terms exp(0) - 1 = 0 of the largest logits are left out (each enters as z, which
    is 0 there and has the derivative of exp(z) - 1) and each tie beyond the first adds
    its 1. Then log p = z - log1p(r), and 1 - p is r / S at the largest logits and
    (1 + r - exp(z)) / S elsewhere, where exp(z) <= S / 2 cannot cancel. The shift is a
    constant to autodiff: the result does not depend on it.
    """
    shift = ops.stop_gradient(ops.max(logits, axis=-1, keepdims=True))
    z = logits - shift
    e = ops.exp(z)
    top = ops.equal(z, ops.zeros_like(z))  # the largest logits; none in a NaN row
    d = ops.where(top, z, e)
    ties = ops.sum(ops.cast(top, z.dtype), axis=-1, keepdims=True) - 1.0
    r = ops.sum(d, axis=-1, keepdims=True) + ties
    not_p = ops.where(top, r - d, 1.0 + r - e) / (1.0 + r)
    return z - ops.log1p(r), not_p


def _categorical(
    labels: Tensor,
    y_pred: Tensor,
    dtype: str,
    *,
    gamma: float,
    alpha: float | list[float] | None,
    label_smoothing: float,
    from_logits: bool,
) -> Tensor:
    """The per-sample categorical focal loss of (soft) labels, in y_pred's working dtype."""
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    if isinstance(alpha, list) and len(alpha) != num_classes:
        raise ValueError(
            f"`alpha` must hold one weight per class, {num_classes} for `y_pred` of shape "
            f"{tuple(y_pred.shape)}; got {len(alpha)} weights."
        )
    if label_smoothing:
        labels = labels * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        log_p, not_p = _log_p_and_complement(y_pred)
    else:
        # Keras' convention for probabilities, kept on every backend: renormalise, then
        # clip away from 0 and 1 so that the log and its gradient stay finite.
        p = _clip_probabilities(y_pred / ops.sum(y_pred, axis=-1, keepdims=True), dtype)
        log_p, not_p = ops.log(p), 1.0 - p
    loss = _modulated(-labels * log_p, not_p, gamma)
    if alpha is not None:
        # A tensor of y_pred's dtype, not a cast of float32 weights: float64 keeps its digits.
        loss = ops.convert_to_tensor(alpha, dtype=y_pred.dtype) * loss
    return ops.sum(loss, axis=-1)


# ------------------------------------------------------------------------ binary focal


def _binary_hyper(
    gamma: object, alpha: object, label_smoothing: object, from_logits: object
) -> tuple[float, float | None, float, bool]:
    """The validated hyper-parameters of the binary focal loss, for the function and the class."""
    return (
        _checks.check_real("gamma", gamma, low=0.0),
        _checks.check_real("alpha", alpha, low=0.0, high=1.0, allow_none=True),
        _checks.check_real("label_smoothing", label_smoothing, low=0.0, high=1.0),
        _checks.check_bool("from_logits", from_logits),
    )


def _binary_targets(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """Keras' rule for binary targets: (B,) and (B, 1) pair either way; otherwise equal shapes."""
    if len(y_pred.shape) == 0:
        raise ValueError("`y_pred` must have a batch axis, shape (batch_size, ...); got a scalar.")
    if len(y_pred.shape) == 1:
        y_pred = y_pred[:, None]
    if len(y_true.shape) == len(y_pred.shape) - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    _checks.check_same_shape(y_true, y_pred)
    return y_true, y_pred


@register
def binary_focal_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    label_smoothing: float = 0.0,
    from_logits: bool = False,
) -> Tensor:
    """Binary focal loss, summed over the last axis.

    Per element this is torchvision's `sigmoid_focal_loss`. From logits, BCE and
    `1 - p_t` come from `softplus` and `sigmoid` of the logits, so a logit of
    +-40 gives the exact value on every backend (no clipping of probabilities).
    Label smoothing is Keras' (`keras.losses.BinaryFocalCrossentropy`): the smoothed
    targets enter the cross-entropy, `p_t` and `alpha_t`. Keras averages over the last
    axis where this loss sums, as the paper does.

    Formula:

    ```python
    # per element, with p = sigmoid(y_pred) from logits; summed over the last axis
    y = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    p_t = y * p + (1 - y) * (1 - p)
    alpha_t = alpha * y + (1 - alpha) * (1 - y)      # 1 when alpha is None
    loss = alpha_t * (1 - p_t) ** gamma * BCE(y, p)
    BCE(y, p) = -(y * log(p) + (1 - y) * log(1 - p))
    ```

    From probabilities, p is `y_pred` clipped to [eps, 1 - eps] (Keras' 1e-7; 2^-11
    and 2^-8 for float16 and bfloat16 probabilities).

    Args:
        y_true: binary (or soft) targets, shape (B, K) or (B,).
        y_pred: probabilities or logits, same shape.
        gamma: focusing parameter, >= 0; 0 gives (alpha-weighted) cross-entropy.
        alpha: weight of the positive class in [0, 1], or `None` for no class balancing.
        label_smoothing: in [0, 1]; squeezes the targets towards 0.5.
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,), in `y_pred`'s dtype (16-bit inputs are computed
        in float32).

    Raises:
        ValueError: if `gamma` < 0, `alpha` or `label_smoothing` is outside [0, 1], one
            of them is not finite, or the shapes of `y_true` and `y_pred` do not pair.
            When the values are known (eagerly): if `y_true`, or `y_pred` with
            `from_logits=False`, holds a value outside [0, 1].
        TypeError: if `gamma`, `alpha` or `label_smoothing` is not a real number or
            `from_logits` not a bool.

    Example:
        >>> loss = binary_focal_loss([[1.0, 0.0]], [[0.9, 0.3]], gamma=2.0, alpha=0.25)
        >>> print(keras.ops.convert_to_numpy(loss))  # 0.25*0.1**2*-log(0.9) + 0.75*0.3**2*-log(0.7)
        [0.0243]
        >>> loss = binary_focal_loss([[1.0, 0.0]], [[0.9, 0.3]], label_smoothing=0.2)
        >>> print(keras.ops.convert_to_numpy(loss))  # the targets become [0.9, 0.1]
        [0.0389]

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    gamma, alpha, label_smoothing, from_logits = _binary_hyper(
        gamma, alpha, label_smoothing, from_logits
    )
    _checks.check_probability_inputs(y_true, y_pred, from_logits=from_logits, binary=True)
    y_true, y_pred, dtype = _prologue(y_true, y_pred)
    y_true, y_pred = _binary_targets(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p, not_p = ops.sigmoid(y_pred), ops.sigmoid(-y_pred)
        if gamma > 0:
            # BCE = softplus(x) - x y: one softplus where two log_sigmoid cost 1.9x to
            # 3x the time (docs/benchmarks.md), smooth at x = 0 and with the exact
            # gradient sigmoid(x) - y. The subtraction loses relative precision only
            # where y = 1 and x >> 0, and there the factor (1 - p_t)^gamma = sigmoid(-x)^gamma
            # makes the element vanish next to any other.
            bce = ops.softplus(y_pred) - y_pred * y_true
        else:
            # No factor: a right answer's e^-40 must survive, so no subtraction.
            bce = -(y_true * ops.log_sigmoid(y_pred) + (1.0 - y_true) * ops.log_sigmoid(-y_pred))
    else:
        p = _clip_probabilities(y_pred, dtype)
        not_p = 1.0 - p  # exact in float32 for a 16-bit p
        bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(not_p))
    # 1 - p_t, written so that it needs no subtraction from 1 (exact for large logits).
    loss = _modulated(bce, y_true * not_p + (1.0 - y_true) * p, gamma)
    if alpha is not None:
        loss = (alpha * y_true + (1.0 - alpha) * (1.0 - y_true)) * loss
    return ops.cast(ops.sum(loss, axis=-1), dtype)


@register
class BinaryFocalLoss(PerSampleLoss):
    """Binary focal loss (Lin et al. 2017), summed over the last axis of each sample.

    Per element this is torchvision's `sigmoid_focal_loss`; from logits it works in log
    space, so a logit of +-40 gives the exact value on every backend. Label smoothing is
    Keras' (`keras.losses.BinaryFocalCrossentropy`): the smoothed targets enter the
    cross-entropy, `p_t` and `alpha_t`; Keras averages over the last axis where this
    loss sums.

    Formula:

    ```python
    # per element, with p = sigmoid(y_pred) from logits; summed over the last axis
    y = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    p_t = y * p + (1 - y) * (1 - p)
    alpha_t = alpha * y + (1 - alpha) * (1 - y)      # 1 when alpha is None
    loss = alpha_t * (1 - p_t) ** gamma * BCE(y, p)
    BCE(y, p) = -(y * log(p) + (1 - y) * log(1 - p))
    ```

    From probabilities, p is `y_pred` clipped to [eps, 1 - eps] (Keras' 1e-7; 2^-11
    and 2^-8 for float16 and bfloat16).

    Args:
        gamma: focusing parameter, >= 0; 0 gives (alpha-weighted) cross-entropy.
        alpha: weight of the positive class in [0, 1], or `None` for no class balancing.
        label_smoothing: in [0, 1]; squeezes the targets towards 0.5.
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `gamma` < 0, `alpha` or `label_smoothing` is outside [0, 1], or
            one of them is not finite.
        TypeError: if `gamma`, `alpha` or `label_smoothing` is not a real number or
            `from_logits` not a bool.

    Example:
        >>> loss = BinaryFocalLoss(gamma=2.0, alpha=0.25, from_logits=True)
        >>> print(float(loss([[1.0], [0.0]], [[2.0], [-1.0]])))  # (4.5e-4 + 0.0170) / 2
        0.0087

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | None = 0.25,
        label_smoothing: float = 0.0,
        from_logits: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "binary_focal_loss",
        dtype: DTypeLike = None,
    ) -> None:
        gamma, alpha, label_smoothing, from_logits = _binary_hyper(
            gamma, alpha, label_smoothing, from_logits
        )
        super().__init__(
            binary_focal_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            gamma=gamma,
            alpha=alpha,
            label_smoothing=label_smoothing,
            from_logits=from_logits,
        )


# ------------------------------------------------------------------- categorical focal


@register
def categorical_focal_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | None = None,
    label_smoothing: float = 0.0,
    from_logits: bool = False,
) -> Tensor:
    """Categorical (softmax) focal loss, per sample.

    Every class's cross-entropy term is scaled by (1 - p_j)^gamma, as
    `keras.losses.CategoricalFocalCrossentropy` does; with one-hot labels and no
    smoothing only the true class has a term, which is the paper's softmax focal loss.
    Keras' `alpha` defaults to 0.25, which only scales the loss by 0.25; here
    `alpha=None` means no weighting. From logits, -log p_j and 1 - p_j come from
    log-probabilities: exact at logits of +-40 or +-1e4, where Keras' clip of p to
    [1e-7, 1 - 1e-7] caps -log p at 16.1.

    Formula:

    ```python
    y = y_true * (1 - label_smoothing) + label_smoothing / C
    loss = sum_j alpha_j * (1 - p_j) ** gamma * -y_j * log(p_j),   p = softmax(y_pred)
    # alpha_j = 1 when alpha is None, = alpha for a scalar alpha
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16 probabilities), as Keras does.

    Args:
        y_true: one-hot (or soft) labels, shape (B, C), or (B, T, C) for (B, T) values.
        y_pred: probabilities or logits, same shape.
        gamma: focusing parameter, >= 0; 0 gives (weighted) cross-entropy.
        alpha: one weight >= 0 for every class, a list of C weights >= 0 (e.g. inverse
            class frequencies), or `None` for no weighting.
        label_smoothing: in [0, 1]; mixes the labels with the uniform distribution.
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,) (or (B, T)), in `y_pred`'s dtype (16-bit inputs
        are computed in float32).

    Raises:
        ValueError: if `gamma` < 0, `label_smoothing` is outside [0, 1], `alpha` holds a
            negative weight or not one weight per class, a hyper-parameter is not
            finite, or `y_true` does not have `y_pred`'s shape.
            When the values are known (eagerly): if `y_true`, or `y_pred` with
            `from_logits=False`, holds a value outside [0, 1].
        TypeError: if `gamma`, `alpha` or `label_smoothing` is not made of real numbers,
            or `from_logits` is not a bool.

    Example:
        >>> y_true, y_pred = [[0.0, 1.0, 0.0]], [[0.1, 0.8, 0.1]]
        >>> loss = categorical_focal_loss(y_true, y_pred, gamma=2.0)
        >>> print(keras.ops.convert_to_numpy(loss))  # 0.2**2 * -log(0.8)
        [0.0089]
        >>> loss = categorical_focal_loss(y_true, y_pred, gamma=2.0, label_smoothing=0.1)
        >>> print(keras.ops.convert_to_numpy(loss))  # labels [1/30, 28/30, 1/30]
        [0.1327]

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    gamma, alpha, label_smoothing, from_logits = _categorical_hyper(
        gamma, alpha, label_smoothing, from_logits
    )
    _checks.check_probability_inputs(y_true, y_pred, from_logits=from_logits, binary=False)
    y_true, y_pred, dtype = _prologue(y_true, y_pred)
    _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)
    loss = _categorical(
        y_true,
        y_pred,
        dtype,
        gamma=gamma,
        alpha=alpha,
        label_smoothing=label_smoothing,
        from_logits=from_logits,
    )
    return ops.cast(loss, dtype)


@register
class CategoricalFocalLoss(PerSampleLoss):
    """Categorical (softmax) focal loss (Lin et al. 2017) for one-hot or soft labels.

    Every class's cross-entropy term is scaled by (1 - p_j)^gamma, as
    `keras.losses.CategoricalFocalCrossentropy` does, but `alpha=None` (no weighting)
    is the default where Keras' 0.25 scales the loss by 0.25, and from logits the loss
    is exact at logits of +-40 or +-1e4, where Keras clips p to [1e-7, 1 - 1e-7].

    Formula:

    ```python
    y = y_true * (1 - label_smoothing) + label_smoothing / C
    loss = sum_j alpha_j * (1 - p_j) ** gamma * -y_j * log(p_j),   p = softmax(y_pred)
    # alpha_j = 1 when alpha is None, = alpha for a scalar alpha
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        gamma: focusing parameter, >= 0; 0 gives (weighted) cross-entropy.
        alpha: one weight >= 0 for every class, a list of C weights >= 0, or `None`
            for no weighting.
        label_smoothing: in [0, 1]; mixes the labels with the uniform distribution.
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `gamma` < 0, `label_smoothing` is outside [0, 1], `alpha` holds a
            negative weight or is not a scalar or a list, or a hyper-parameter is not
            finite; when called, if `alpha` does not hold one weight per class.
        TypeError: if `gamma`, `alpha` or `label_smoothing` is not made of real numbers,
            or `from_logits` is not a bool.

    Example:
        >>> loss = CategoricalFocalLoss(gamma=2.0, alpha=[0.25, 0.5, 0.25], from_logits=True)
        >>> y_true = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
        >>> logits = [[0.0, 2.0, 0.0], [0.0, 1.0, -1.0]]
        >>> print(float(loss(y_true, logits)))  # (0.0054 + 0.2007) / 2
        0.1031

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        from_logits: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "categorical_focal_loss",
        dtype: DTypeLike = None,
    ) -> None:
        gamma, alpha, label_smoothing, from_logits = _categorical_hyper(
            gamma, alpha, label_smoothing, from_logits
        )
        super().__init__(
            categorical_focal_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            gamma=gamma,
            alpha=alpha,
            label_smoothing=label_smoothing,
            from_logits=from_logits,
        )


# ------------------------------------------------------------ sparse categorical focal


@register
def sparse_categorical_focal_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | None = None,
    label_smoothing: float = 0.0,
    from_logits: bool = False,
    ignore_class: int | None = None,
) -> Tensor:
    """Categorical (softmax) focal loss of integer class ids, per sample.

    The same loss as `categorical_focal_loss` of the one-hot labels. Samples whose id is
    `ignore_class` give 0; an id that is neither a class nor `ignore_class` raises a
    `ValueError` when its value can be read (NumPy input, eager execution) and gives a
    NaN inside a compiled step, so that a bad label is never trained on silently.

    Formula:

    ```python
    y = one_hot(y_true, C) * (1 - label_smoothing) + label_smoothing / C
    loss = sum_j alpha_j * (1 - p_j) ** gamma * -y_j * log(p_j),   p = softmax(y_pred)
    loss = 0                                     # where y_true == ignore_class
    # alpha_j = 1 when alpha is None, = alpha for a scalar alpha
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16 probabilities).

    Args:
        y_true: integer class ids in [0, C), shape (B,) or (B, 1) (or (B, T) for
            (B, T, C) predictions); integer-valued floats are accepted.
        y_pred: probabilities or logits, shape (B, C) (or (B, T, C)).
        gamma: focusing parameter, >= 0; 0 gives (weighted) cross-entropy.
        alpha: one weight >= 0 for every class, a list of C weights >= 0, or `None`
            for no weighting.
        label_smoothing: in [0, 1]; mixes the one-hot labels with the uniform
            distribution.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples give 0, or `None`.

    Returns:
        The loss per sample, shape (B,) (or (B, T)), in `y_pred`'s dtype (16-bit inputs
        are computed in float32).

    Raises:
        ValueError: if a hyper-parameter is out of range or not finite, `alpha` does not
            hold one weight per class, `y_true` does not have one id per row of
            `y_pred`, or (when its values can be read) holds an id outside [0, C) that
            is not `ignore_class`.
            When the values are known (eagerly): if `y_pred` with
            `from_logits=False` holds a value outside [0, 1].
        TypeError: if `gamma`, `alpha` or `label_smoothing` is not made of real numbers,
            `from_logits` is not a bool or `ignore_class` not an integer or None.

    Example:
        >>> y_pred = [[0.1, 0.8, 0.1], [0.2, 0.3, 0.5]]
        >>> loss = sparse_categorical_focal_loss([1, 2], y_pred, gamma=2.0)
        >>> print(keras.ops.convert_to_numpy(loss))  # 0.2**2 * -log(0.8), 0.5**2 * -log(0.5)
        [0.0089 0.1733]

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    gamma, alpha, label_smoothing, from_logits = _categorical_hyper(
        gamma, alpha, label_smoothing, from_logits
    )
    ignore_class = _sparse.check_ignore_class(ignore_class)
    _checks.check_probability_inputs(None, y_pred, from_logits=from_logits, binary=False)
    y_pred, dtype = to_working(y_pred)
    ids, keep, bad = _sparse.class_ids(y_true, y_pred, ignore_class=ignore_class)
    labels = ops.one_hot(ids, y_pred.shape[-1], dtype=y_pred.dtype)
    loss = _categorical(
        labels,
        y_pred,
        dtype,
        gamma=gamma,
        alpha=alpha,
        label_smoothing=label_smoothing,
        from_logits=from_logits,
    )
    return ops.cast(_sparse.finish(loss, keep, bad), dtype)


@register
class SparseCategoricalFocalLoss(_sparse.SparseLoss):
    """Categorical (softmax) focal loss (Lin et al. 2017) of integer class ids.

    The same loss as `CategoricalFocalLoss` of the one-hot labels. Samples whose id is
    `ignore_class` give 0 and are left out of the mean, as in Keras'
    `SparseCategoricalCrossentropy(ignore_class=...)`: the "sum_over_batch_size"
    reduction divides by the number of samples that are not ignored.

    Formula:

    ```python
    y = one_hot(y_true, C) * (1 - label_smoothing) + label_smoothing / C
    loss = sum_j alpha_j * (1 - p_j) ** gamma * -y_j * log(p_j),   p = softmax(y_pred)
    loss = 0                                     # where y_true == ignore_class
    # alpha_j = 1 when alpha is None, = alpha for a scalar alpha
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        gamma: focusing parameter, >= 0; 0 gives (weighted) cross-entropy.
        alpha: one weight >= 0 for every class, a list of C weights >= 0, or `None`
            for no weighting.
        label_smoothing: in [0, 1]; mixes the one-hot labels with the uniform
            distribution.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples give 0 and do not count in the mean, or
            `None`.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if a hyper-parameter is out of range or not finite; when called, if
            `alpha` does not hold one weight per class or `y_true` holds an id outside
            [0, C) that is not `ignore_class` (a NaN loss inside a compiled step).
        TypeError: if `gamma`, `alpha` or `label_smoothing` is not made of real numbers,
            `from_logits` is not a bool or `ignore_class` not an integer or None.

    Example:
        >>> loss = SparseCategoricalFocalLoss(gamma=1.0, from_logits=True, ignore_class=-1)
        >>> logits = [[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [5.0, 0.0, 0.0]]
        >>> print(float(loss([1, 2, -1], logits)))  # (0.0510 + 1.2226) / 2: 2 samples count
        0.6368

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "sparse_categorical_focal_loss",
        dtype: DTypeLike = None,
    ) -> None:
        gamma, alpha, label_smoothing, from_logits = _categorical_hyper(
            gamma, alpha, label_smoothing, from_logits
        )
        super().__init__(
            sparse_categorical_focal_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            gamma=gamma,
            alpha=alpha,
            label_smoothing=label_smoothing,
            from_logits=from_logits,
            ignore_class=_sparse.check_ignore_class(ignore_class),
        )
