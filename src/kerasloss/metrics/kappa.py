"""Cohen's kappa, plain or weighted, accumulated over batches in a confusion matrix.

Kappa is not a mean of per-example values: it is computed from the (C, C) confusion
matrix of every example seen since the last `reset_state()`, so the metric keeps that
matrix as its state and accumulating batches equals computing on their concatenation.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import constant
from kerasloss._internal.kappa import check_kappa_classes, check_weightage, kappa_weights
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Tensor, TensorLike

__all__ = ["CohenKappa"]


def _true_classes(y_true: TensorLike, num_classes: int) -> Tensor:
    """Class ids (B,) from one-hot rows (B, C) or from integer ids (B,) or (B, 1)."""
    y_true = ops.convert_to_tensor(y_true)
    shape = tuple(y_true.shape)
    if len(shape) == 2 and shape[-1] == num_classes:
        _checks.check_unit_interval("y_true", y_true, hint=_checks.CATEGORICAL_TARGET_HINT)
        return first_argmax(y_true)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1)):
        raise ValueError(
            f"`y_true` must hold one-hot rows, shape (batch_size, {num_classes}), or class "
            f"ids, shape (batch_size,) or (batch_size, 1); got shape {shape}."
        )
    ids = ops.reshape(y_true, (-1,))
    values = _checks._concrete_values(ids)
    if values is not None and values.size:
        if values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)):
            raise ValueError(f"`y_true` must hold finite class ids; got dtype {values.dtype}.")
        if np.any(values != np.round(values)) or values.min() < 0 or values.max() >= num_classes:
            raise ValueError(
                f"`y_true` must hold whole class ids in [0, {num_classes - 1}]; got values "
                f"from {values.min():g} to {values.max():g}."
            )
    return ops.cast(ids, "int32")


@register
class CohenKappa(keras.metrics.Metric):
    """Cohen's kappa between labels and argmax predictions, unweighted or weighted.

    1 is perfect agreement, 0 the agreement expected by chance, below 0 worse than
    chance. Higher is better, and the metric says so:
    `EarlyStopping(monitor="val_cohen_kappa")` needs no `mode`. It accumulates the
    (C, C) confusion matrix (non-trainable state, in the metric's dtype) over every
    batch since the last `reset_state()`, so the result is scikit-learn's
    `cohen_kappa_score(y1, y2, labels=range(num_classes), weights=weightage,
    sample_weight=w)` on all of them at once.

    Formula:

    ```python
    M[i, j] += sum_b w_b * [t_b == i] * [argmax(y_pred[b]) == j]   # update_state
    E[i, j] = sum(M[i, :]) * sum(M[:, j]) / sum(M)                 # chance agreement
    kappa = 1 - sum(W * M) / sum(W * E)                           # result
    W[i, j] = [i != j] (None), |i - j| ("linear"), (i - j) ** 2 ("quadratic")
    ```

    Where kappa is undefined (no example yet, all weights 0, or sum(W * E) = 0: every
    label and every prediction the same one class), the result is 0, not NaN:
    scikit-learn's `replace_undefined_by=0.0`, and TensorFlow Addons' value for an
    empty matrix. A prediction row holding NaN makes the result NaN until the next
    `reset_state()`. Ties in `y_pred` go to the first class.

    `update_state(y_true, y_pred, sample_weight=None)` takes labels as one-hot rows
    (B, C) or integer class ids (B,) or (B, 1), probabilities or scores (B, C) whose
    argmax is the predicted class, and weights (B,) or (B, 1).

    Args:
        num_classes: C, an integer >= 2.
        weightage: None (plain kappa), "linear" or "quadratic" (weighted kappa, for
            ordinal classes).
        name: the name `fit` logs the value under (with "val_" for validation data).
        dtype: the dtype of the confusion matrix and of the result.

    Returns:
        `result()`: kappa, a scalar in [-1, 1]; 0 where it is undefined.

    Raises:
        ValueError: if `num_classes` < 2 or `weightage` is not None, "linear" or
            "quadratic"; from `update_state`, if `y_pred` is not (B, num_classes),
            `y_true` has neither accepted shape or another batch size, or a class id
            is outside [0, num_classes) (checked when the values are known).
        TypeError: if `num_classes` is not an integer or `weightage` not a string.

    Example:
        >>> metric = kerasloss.metrics.CohenKappa(num_classes=3)
        >>> y_pred = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]]
        >>> metric.update_state([0, 1, 2, 2], y_pred)  # predicted 0, 1, 2, 0
        >>> print(float(metric.result()))  # observed 3/4, chance 5/16: (12 - 5) / (16 - 5)
        0.6364
        >>> metric.update_state([[1, 0, 0]], [[0.1, 0.1, 0.8]])  # one-hot labels too
        >>> print(float(metric.result()))  # observed 3/5, chance 9/25
        0.375

    Reference: Cohen, "A Coefficient of Agreement for Nominal Scales", Educational and
    Psychological Measurement 20(1), 1960; weighted: Cohen, "Weighted kappa", Psychological
    Bulletin 70(4), 1968.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        weightage: str | None = None,
        name: str = "cohen_kappa",
        dtype: DTypeLike = None,
    ) -> None:
        num_classes = check_kappa_classes(num_classes)
        weightage = check_weightage(weightage, allow_none=True)
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.weightage = weightage
        self._direction = "up"
        self.confusion_matrix = self.add_variable(
            shape=(num_classes, num_classes),
            initializer="zeros",
            dtype=self.dtype,
            name="confusion_matrix",
        )

    def update_state(
        self, y_true: TensorLike, y_pred: TensorLike, sample_weight: TensorLike = None
    ) -> None:
        """Adds the batch's (weighted) (label, argmax prediction) pairs to the matrix."""
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_pred.shape) != 2 or y_pred.shape[-1] != self.num_classes:
            raise ValueError(
                f"`y_pred` must have shape (batch_size, {self.num_classes}), one score per "
                f"class; got shape {tuple(y_pred.shape)}."
            )
        true = _true_classes(y_true, self.num_classes)
        n_pred, n_true = y_pred.shape[0], true.shape[0]
        if n_pred is not None and n_true is not None and n_pred != n_true:
            raise ValueError(
                f"`y_true` must have one label per row of `y_pred` ({n_pred}); got {n_true}."
            )
        predicted = first_argmax(y_pred)
        dtype = self.dtype
        weight = ops.ones_like(predicted, dtype=dtype)
        if sample_weight is not None:
            sample_weight = ops.convert_to_tensor(sample_weight, dtype=dtype)
            if len(sample_weight.shape) == 2 and sample_weight.shape[-1] == 1:
                sample_weight = ops.reshape(sample_weight, (-1,))
            weight = weight * sample_weight
        # argmax would read a NaN row as some class; a NaN weight carries it to the result.
        nan_row = ops.any(ops.isnan(ops.cast(y_pred, "float32")), axis=-1)
        weight = ops.where(nan_row, constant(float("nan"), dtype), weight)
        rows = ops.one_hot(true, self.num_classes, dtype=dtype) * weight[:, None]
        columns = ops.one_hot(predicted, self.num_classes, dtype=dtype)
        self.confusion_matrix.assign_add(ops.einsum("bi,bj->ij", rows, columns))

    def result(self) -> Tensor:
        """Kappa of the accumulated matrix; 0 where it is undefined."""
        matrix = ops.convert_to_tensor(self.confusion_matrix)
        total = ops.sum(matrix)
        one = ops.ones_like(total)
        actual, predicted = ops.sum(matrix, axis=1), ops.sum(matrix, axis=0)
        expected = actual[:, None] * predicted[None, :] / ops.where(total == 0, one, total)
        weights = ops.convert_to_tensor(
            kappa_weights(self.num_classes, self.weightage), dtype=matrix.dtype
        )
        observed, chance = ops.sum(weights * matrix), ops.sum(weights * expected)
        # == 0, not <= 0: a NaN matrix must give NaN, not the undefined value.
        undefined = ops.equal(chance, 0)
        kappa = 1 - observed / ops.where(undefined, one, chance)
        return ops.where(undefined, ops.zeros_like(kappa), kappa)

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments."""
        return {
            "num_classes": self.num_classes,
            "weightage": self.weightage,
            "name": self.name,
            "dtype": self.dtype,
        }
