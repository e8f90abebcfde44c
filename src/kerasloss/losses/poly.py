"""Poly-1 cross-entropy: categorical cross-entropy plus a weighted first polynomial term.

Leng et al. (2022) write cross-entropy as the series sum_j (1 - p_t)^j / j and change
the weight of its first term only: Poly-1 = CE + epsilon * (1 - p_t). Like kerasloss'
other classification losses it follows the precision policy of
`kerasloss._internal.dtypes`: float16 and bfloat16 inputs are computed in float32 and the
loss is returned in the input's dtype, float64 stays float64, integer inputs become
Keras' floatx.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike
from kerasloss.losses.classification import _clip_probabilities, _prologue

__all__ = ["Poly1Crossentropy", "poly1_crossentropy"]


def _poly_hyper(epsilon: object, from_logits: object) -> tuple[float, bool]:
    """The validated hyper-parameters of Poly-1, for the function and the class."""
    return (
        _checks.check_real("epsilon", epsilon, low=-1.0),
        _checks.check_bool("from_logits", from_logits),
    )


# -log(1 - r) - r = sum_{j >= 2} r^j / j is summed as a series below this r (the terms
# up to r^26 / 26 leave a relative error below 2^-53), and from the closed form above
# it, where the subtraction loses at most 3 bits.
_SERIES_BELOW = 0.25
_SERIES_TERMS = 26


def _log1p_excess(r: Tensor) -> Tensor:
    """-log(1 - r) - r for 0 <= r < 1, accurate also where it is far below r."""
    acc = ops.full_like(r, 1.0 / _SERIES_TERMS)
    for j in range(_SERIES_TERMS - 1, 1, -1):  # Horner: 1/2 + r (1/3 + r (1/4 + ...))
        acc = constant(1.0 / j, r.dtype) + r * acc
    closed = -ops.log1p(-r) - r
    return ops.where(ops.less(r, constant(_SERIES_BELOW, r.dtype)), r * r * acc, closed)


def _poly1_terms(logits: Tensor, epsilon: float) -> Tensor:
    """-log p_j + epsilon * (1 - p_j) for every class j of softmax(logits), exact at extremes.

    `log_softmax` gives log p of the most probable class as z_max - logsumexp(z), which
    rounds to 0 once the other classes' total probability r falls below the unit
    roundoff (a margin of about 17 in float32): the loss of a confident right answer
    would be 0, and 1 - p computed as a difference too. For the most probable class,
    while r < 1/2, the term comes from r itself, the sum of the other probabilities, in
    the paper's expansion: (1 + epsilon) * r + sum_{j >= 2} r^j / j, exact also for
    epsilon = -1, where the first term vanishes. Every other class has p <= 1/2, where
    log_softmax and 1 - p are accurate as they are.
    """
    log_p = ops.log_softmax(logits, axis=-1)
    p = ops.exp(log_p)
    num_classes = _checks.static_num_classes("y_pred", logits)
    top = ops.cast(ops.one_hot(first_argmax(logits), num_classes), "bool")
    rest = ops.sum(ops.where(top, ops.zeros_like(p), p), axis=-1, keepdims=True)
    not_p = ops.where(top, rest, 1.0 - p)
    terms = -log_p + epsilon * not_p
    # `rest < 1/2` is False for NaN, which then keeps the NaN of the general terms.
    expanded = ops.logical_and(top, ops.less(rest, constant(0.5, rest.dtype)))
    top_term = (1.0 + epsilon) * rest + _log1p_excess(rest)
    return ops.where(expanded, top_term, terms)


@register
def poly1_crossentropy(
    y_true: TensorLike, y_pred: TensorLike, *, epsilon: float = 1.0, from_logits: bool = False
) -> Tensor:
    """Poly-1 cross-entropy: categorical cross-entropy plus epsilon * (1 - p_t).

    The same definition as optax's `poly_loss_cross_entropy`: with soft labels the poly
    term is sum_j y_j * (1 - p_j), which is 1 - p_t with p_t = sum_j y_j * p_j whenever
    each row of labels sums to 1, and keeps the loss linear in `y_true` otherwise (as
    the cross-entropy is). epsilon = 0 is categorical cross-entropy. The paper recommends
    epsilon = 2 for ImageNet classification and epsilon = -1 for detection; it must be
    >= -1, where the coefficient of (1 - p_t), 1 + epsilon, stops being negative: below
    -1 the loss would grow again as p_t approaches 1 and push the model away from
    confident right answers.

    From logits every term is computed in log space and is exact at extreme logits,
    including the tiny loss of a confident right answer: for the most probable class the
    term comes from the sum r of the other classes' probabilities, as the paper's series
    (1 + epsilon) * r + r^2 / 2 + r^3 / 3 + ..., which stays exact for epsilon = -1.

    Formula:

    ```python
    p = softmax(y_pred)
    CE = -sum(y_true * log(p))
    loss = CE + epsilon * sum(y_true * (1 - p))    # = CE + epsilon * (1 - p_t)
    ```

    From probabilities, p is `y_pred` renormalised to sum to 1; the log is taken of p
    clipped to [eps, 1 - eps] (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16
    probabilities), the poly term uses p itself.

    Args:
        y_true: one-hot (or soft) labels, shape (B, C) (or (B, T, C)).
        y_pred: probabilities or logits, same shape.
        epsilon: weight of the first polynomial term, a finite number >= -1.
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,) (or (B, T)), in `y_pred`'s dtype (16-bit inputs
        are computed in float32).

    Raises:
        ValueError: if `epsilon` is below -1 or not finite, `y_true` does not have
            `y_pred`'s shape, or the class axis of `y_pred` is unknown.
        TypeError: if `epsilon` is not a real number or `from_logits` not a bool.

    Example:
        >>> y_true, y_pred = [[0.0, 1.0, 0.0]], [[0.1, 0.8, 0.1]]
        >>> loss = poly1_crossentropy(y_true, y_pred, epsilon=1.0)
        >>> print(keras.ops.convert_to_numpy(loss))  # -log(0.8) + 1.0 * (1 - 0.8)
        [0.4231]

    Reference: Leng et al., "PolyLoss: A Polynomial Expansion Perspective of
    Classification Loss Functions", ICLR 2022 (Poly-1).
    """
    epsilon, from_logits = _poly_hyper(epsilon, from_logits)
    y_true, y_pred, dtype = _prologue(y_true, y_pred)
    _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)
    if from_logits:
        terms = _poly1_terms(y_pred, epsilon)
    else:
        # Keras' convention for probabilities: renormalise, clip before the log.
        p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        terms = -ops.log(_clip_probabilities(p, dtype)) + epsilon * (1.0 - p)
    return ops.cast(ops.sum(y_true * terms, axis=-1), dtype)


@register
class Poly1Crossentropy(PerSampleLoss):
    """Poly-1 cross-entropy (Leng et al. 2022): cross-entropy plus epsilon * (1 - p_t).

    The same definition as optax's `poly_loss_cross_entropy`. epsilon = 0 is categorical
    cross-entropy; the paper recommends 2 for ImageNet classification and -1 for
    detection. epsilon must be >= -1: below, the loss would grow again as p_t approaches
    1. From logits every term is computed in log space, exact at extreme logits.

    Formula:

    ```python
    p = softmax(y_pred)
    CE = -sum(y_true * log(p))
    loss = CE + epsilon * sum(y_true * (1 - p))    # = CE + epsilon * (1 - p_t)
    ```

    From probabilities, p is `y_pred` renormalised to sum to 1; the log is taken of p
    clipped to [eps, 1 - eps] (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        epsilon: weight of the first polynomial term, a finite number >= -1.
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `epsilon` is below -1 or not finite.
        TypeError: if `epsilon` is not a real number or `from_logits` not a bool.

    Example:
        >>> loss = Poly1Crossentropy(epsilon=2.0, from_logits=True)
        >>> # p_t = sigmoid(2) = 0.8808: -log(0.8808) + 2 * (1 - 0.8808)
        >>> print(float(loss([[1.0, 0.0]], [[2.0, 0.0]])))
        0.3653

    Reference: Leng et al., "PolyLoss: A Polynomial Expansion Perspective of
    Classification Loss Functions", ICLR 2022 (Poly-1).
    """

    def __init__(
        self,
        *,
        epsilon: float = 1.0,
        from_logits: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "poly1_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        epsilon, from_logits = _poly_hyper(epsilon, from_logits)
        super().__init__(
            poly1_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            epsilon=epsilon,
            from_logits=from_logits,
        )
