"""Ordinal classification losses: the weighted kappa loss of de la Torre et al. (2018).

Weighted kappa compares the disagreement between labels and predictions with the
disagreement expected by chance from the two class distributions of the batch, so the
loss is a property of the whole batch, not a sum over samples. The function still
returns one value per sample, the batch value repeated, so that Keras' reductions give
the batch value back. It follows kerasloss' precision policy
(`kerasloss._internal.dtypes`): float16 and bfloat16 inputs are computed in float32 and
the loss is returned in the input's dtype, float64 stays float64.
"""

from __future__ import annotations

from typing import cast

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant, to_working
from kerasloss._internal.kappa import check_kappa_classes, check_weightage, kappa_weights
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["WeightedKappaLoss", "weighted_kappa_loss"]


def _kappa_hyper(num_classes: object, weightage: object, epsilon: object) -> tuple[int, str, float]:
    """The validated hyper-parameters, for the function and the class."""
    epsilon = _checks.check_real("epsilon", epsilon)
    if epsilon <= 0:
        raise ValueError(
            f"`epsilon` must be in (0, inf) (it keeps log(0) out of the loss); got {epsilon}."
        )
    # allow_none=False: the check never returns None.
    weightage = cast(str, check_weightage(weightage, allow_none=False))
    return check_kappa_classes(num_classes), weightage, epsilon


def _check_shapes(y_true: Tensor, y_pred: Tensor, num_classes: int) -> None:
    if len(y_pred.shape) != 2 or y_pred.shape[-1] != num_classes:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, num_classes) = (batch_size, {num_classes}), "
            f"one probability per class (a batch loss of (B, C) inputs only); got shape "
            f"{tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)


@register
def weighted_kappa_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    num_classes: int,
    weightage: str = "quadratic",
    epsilon: float = 1e-6,
) -> Tensor:
    """Weighted kappa loss of a batch, log(1 - kappa + epsilon), repeated for each sample.

    The batch's soft weighted kappa (de la Torre et al. 2018): with W the disagreement
    weights (|i - j| or (i - j)^2), the observed disagreement N of the predicted
    probabilities with the labels, over the disagreement D expected by chance from the
    label histogram and the summed probabilities. The value is TensorFlow Addons'
    `WeightedKappaLoss`: log(epsilon) for perfect predictions, log(1 + epsilon) (about
    0) at chance level, positive below chance (Addons quotes log 2 as the worst). It
    couples the batch: a sample's value depends on every other sample.

    Per sample, every entry is the batch value, so the mean over the batch (Keras'
    default reduction) is exactly Addons' value and its gradient; "sum" gives B times
    it. A `sample_weight` multiplies each copy: the reduced loss is the batch value
    times the mean weight (times 1 with `reduction="mean_with_sample_weight"`); weights
    do not weight samples inside the kappa.

    Formula:

    ```python
    t_b = sum_i i * y_true[b, i]                 # the class of row b (one-hot)
    N = sum_b sum_j W(t_b, j) * y_pred[b, j]
    D = sum_ij (sum_b y_true[b, i]) * W(i, j) * (sum_b y_pred[b, j]) / B
    loss[b] = log(N / D + epsilon)               # N / D read as 0 when D = 0
    W(i, j) = |i - j| ("linear") or (i - j) ** 2 ("quadratic")
    ```

    D = 0 only when every label and all the probability mass sit on one class (then
    N = 0 too); the loss is then log(epsilon), with a zero gradient, as in Addons.

    Args:
        y_true: one-hot labels, shape (B, C). A soft row is read as Addons reads it:
            its class is the expected index sum_i i * y_i (numerator) and it adds its
            weights to the label histogram (denominator).
        y_pred: class probabilities (a softmax output), shape (B, C).
        num_classes: C, an integer >= 2.
        weightage: "linear" or "quadratic".
        epsilon: added to N / D before the log, > 0.

    Returns:
        The batch loss repeated for every sample, shape (B,), in `y_pred`'s dtype (16-bit
        inputs are computed in float32).

    Raises:
        ValueError: if `num_classes` < 2, `weightage` is not "linear" or "quadratic",
            `epsilon` <= 0 or not finite, `y_pred` is not (B, num_classes) or `y_true`
            does not have its shape; when the values are known (eagerly), if `y_true`
            or `y_pred` holds a value outside [0, 1].
        TypeError: if `num_classes` is not an integer, `weightage` not a string or
            `epsilon` not a real number.

    Example:
        >>> y_true = [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
        >>> y_pred = [[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1],
        ...           [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]]
        >>> loss = weighted_kappa_loss(y_true, y_pred, num_classes=4)
        >>> print(keras.ops.convert_to_numpy(loss))  # log(3.2 / 10.22 + 1e-6), four times
        [-1.1612 -1.1612 -1.1612 -1.1612]

    Reference: de la Torre, Puig and Valls, "Weighted kappa loss function for
    multi-class classification of ordinal data in deep learning", Pattern Recognition
    Letters 105, 2018.
    """
    num_classes, weightage, epsilon = _kappa_hyper(num_classes, weightage, epsilon)
    y_pred, dtype = to_working(y_pred)
    y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
    _check_shapes(y_true, y_pred, num_classes)
    _checks.check_unit_interval("y_true", y_true, hint=_checks.CATEGORICAL_TARGET_HINT)
    _checks.check_unit_interval("y_pred", y_pred, hint=" `y_pred` holds class probabilities.")
    work = y_pred.dtype
    classes = ops.arange(num_classes, dtype=work)
    # (B, C) weights of each row's class against every class; no (B, C, C) tensor.
    gap = ops.einsum("bc,c->b", y_true, classes)[:, None] - classes[None, :]
    weight = ops.abs(gap) if weightage == "linear" else ops.square(gap)
    numerator = ops.sum(weight * y_pred)
    table = ops.convert_to_tensor(kappa_weights(num_classes, weightage), dtype=work)
    chance = ops.einsum("i,ij->j", ops.sum(y_true, axis=0), table)
    batch_size = ops.cast(ops.shape(y_pred)[0], work)
    denominator = ops.sum(chance * ops.sum(y_pred, axis=0)) / batch_size
    # D == 0, not D <= 0: a NaN denominator must stay NaN. Both branches are finite, so
    # the gradient of the unused one (0 * finite) cannot be NaN.
    empty = ops.equal(denominator, 0)
    ratio = numerator / ops.where(empty, ops.ones_like(denominator), denominator)
    value = ops.log(ops.where(empty, ops.zeros_like(ratio), ratio) + constant(epsilon, work))
    return ops.cast(ops.zeros_like(y_pred[:, 0]) + value, dtype)


@register
class WeightedKappaLoss(PerSampleLoss):
    """Weighted kappa loss of a batch (de la Torre et al. 2018), as TensorFlow Addons'.

    log(1 - kappa + epsilon) for the batch's soft weighted kappa: the observed weighted
    disagreement N of the predicted probabilities with the one-hot labels, over the
    disagreement D expected by chance. Lower is better: log(epsilon) for perfect
    predictions, log(1 + epsilon) (about 0) at chance level, positive below chance
    (Addons quotes log 2 as the worst).

    It is a batch loss: each sample's value (`reduction=None`) is the batch value, so
    the default reduction returns exactly Addons' value and gradient, and "sum" returns
    B times it. `sample_weight` multiplies each copy, so the reduced loss is the batch
    value times the mean weight (the value itself with
    `reduction="mean_with_sample_weight"`); it does not weight samples inside the kappa.

    Formula:

    ```python
    t_b = sum_i i * y_true[b, i]                 # the class of row b (one-hot)
    N = sum_b sum_j W(t_b, j) * y_pred[b, j]
    D = sum_ij (sum_b y_true[b, i]) * W(i, j) * (sum_b y_pred[b, j]) / B
    loss[b] = log(N / D + epsilon)               # N / D read as 0 when D = 0
    W(i, j) = |i - j| ("linear") or (i - j) ** 2 ("quadratic")
    ```

    Args:
        num_classes: C, an integer >= 2; `y_true` and `y_pred` are (B, C).
        weightage: "linear" or "quadratic".
        epsilon: added to N / D before the log, > 0 (Addons replaced 0 by 1e-7).
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `num_classes` < 2, `weightage` is not "linear" or "quadratic", or
            `epsilon` <= 0 or not finite; when called, if `y_pred` is not
            (B, num_classes) or `y_true` does not have its shape.
        TypeError: if `num_classes` is not an integer, `weightage` not a string or
            `epsilon` not a real number.

    Example:
        >>> loss = WeightedKappaLoss(num_classes=3, weightage="linear")
        >>> y_true = [[1, 0, 0], [0, 0, 1]]
        >>> y_pred = [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]  # each half a class off
        >>> print(float(loss(y_true, y_pred)))  # N = 1, D = 2: log(0.5 + 1e-6)
        -0.6931

    Reference: de la Torre, Puig and Valls, "Weighted kappa loss function for
    multi-class classification of ordinal data in deep learning", Pattern Recognition
    Letters 105, 2018.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        weightage: str = "quadratic",
        epsilon: float = 1e-6,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "weighted_kappa_loss",
        dtype: DTypeLike = None,
    ) -> None:
        num_classes, weightage, epsilon = _kappa_hyper(num_classes, weightage, epsilon)
        super().__init__(
            weighted_kappa_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            num_classes=num_classes,
            weightage=weightage,
            epsilon=epsilon,
        )
