"""Sparse classification losses: integer class ids as targets, with `ignore_class`.

The sparse twins of `cost_sensitive_crossentropy` and `label_smoothing_crossentropy`.
`y_true` holds one integer class id per sample, shape (B,) or (B, 1) (or (B, T) and
(B, T, 1) for `y_pred` of shape (B, T, C)), and on the one-hot of those ids each loss
equals its dense twin, value and gradient. The probability of the true class is
gathered from the log-probabilities; no one-hot tensor is built.

`ignore_class`, as in `keras.losses.SparseCategoricalCrossentropy`: samples with that id
give 0, and the class's "sum_over_batch_size" and "mean" reductions divide by the
number of samples that are not ignored. An id that is neither a class nor
`ignore_class` raises a `ValueError` when the ids can be read (NumPy input, eager
execution) and makes that sample's loss NaN inside a compiled step, where they cannot.
"""

from __future__ import annotations

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import largest, mean, to_working
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register
from kerasloss._internal.sparse import SparseLoss, check_ignore_class, class_ids, finish
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike
from kerasloss.losses.classification import _log_probabilities, _smoothing_hyper

__all__ = [
    "SparseCostSensitiveCrossentropy",
    "SparseLabelSmoothingCrossentropy",
    "sparse_cost_sensitive_crossentropy",
    "sparse_label_smoothing_crossentropy",
]


# --------------------------------------------------------------------------- helpers


def _true_class(values: Tensor, ids: Tensor) -> Tensor:
    """values[..., ids]: one entry of the last axis per sample."""
    return ops.squeeze(ops.take_along_axis(values, ops.expand_dims(ids, -1), axis=-1), -1)


def _require_table(cost_matrix: TensorLike) -> None:
    """TypeError for `cost_matrix=None`: the sparse loss has no per-example tables."""
    if cost_matrix is None:
        raise TypeError(
            "`cost_matrix` is required: a (C, C) table of costs >= 0 (row: true class, "
            "column: predicted class). For one table per example, use "
            "`CostSensitiveCrossentropy` with `pack_example_costs`."
        )


def _flat_cost_table(cost_matrix: TensorLike, num_classes: int, dtype: DTypeLike) -> Tensor:
    """The (C, C) table flattened row by row, in `dtype`, with the dense loss's checks."""
    if not ops.is_tensor(cost_matrix):
        cost_matrix = _checks.check_cost_table(
            "cost_matrix", cost_matrix, num_classes, largest=largest(dtype)
        )
    elif tuple(cost_matrix.shape) != (num_classes, num_classes):
        raise ValueError(
            f"`cost_matrix` must have shape (C, C) = {(num_classes, num_classes)} for "
            f"y_pred with {num_classes} classes; got shape {tuple(cost_matrix.shape)}."
        )
    return ops.reshape(ops.cast(cost_matrix, dtype), (-1,))


# ------------------------------------------------------------ cost-sensitive cross-entropy


@register
def sparse_cost_sensitive_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    cost_matrix: TensorLike,
    from_logits: bool = False,
    ignore_class: int | None = None,
) -> Tensor:
    """Cross-entropy of integer class ids, weighted by the cost of (true, predicted) class.

    `cost_sensitive_crossentropy` on the one-hot of `y_true`. The weight is a constant:
    no gradient flows through the argmax. It is looked up in the flattened table at
    `t * C + p`, never through a (B, C, C) tensor.

    Formula:

    ```python
    t = y_true                                    # an integer class id per sample
    p = argmax(y_pred)                            # first index on ties
    loss = W[t, p] * -log(softmax(y_pred)[t])
    loss = 0                                      # where t == ignore_class
    ```

    From probabilities, `softmax` is replaced by renormalising and clipping to
    [eps, 1 - eps]: Keras' 1e-7, or for float16 and bfloat16 probabilities the gap below
    1 of their dtype (2^-11, 2^-8).

    Args:
        y_true: integer class ids, shape (B,) or (B, 1); (B, T) or (B, T, 1) for `y_pred`
            of shape (B, T, C).
        y_pred: probabilities or logits, shape (B, C) or (B, T, C).
        cost_matrix: (C, C) table W, row the true class and column the predicted class,
            entries finite and >= 0. Required.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples give 0, or `None`.

    Returns:
        The loss per sample, shape (B,) (or (B, T)), in `y_pred`'s dtype (16-bit inputs
        are computed in float32); 0 where `y_true` is `ignore_class`, and NaN inside a
        compiled step where `y_true` is not a valid id.

    Raises:
        ValueError: if `cost_matrix` is not (C, C) for the C classes of `y_pred`, or has a
            negative, non-finite or too large entry (beyond the range of the dtype the
            loss computes in; entries are checked when the table is an array, not a
            backend tensor); if `y_true`'s shape is not `y_pred`'s without the class
            axis; if an id is neither in [0, C) nor `ignore_class` (when the ids can be
            read); or if 16-bit ids cannot hold every class id.
        TypeError: if `cost_matrix` is missing or None, `from_logits` is not a bool,
            `ignore_class` is not an integer or None, or `y_true` does not hold numbers.

    Example:
        >>> w = [[0.1, 1.0], [5.0, 0.1]]  # missing class 1 costs five times more
        >>> y_pred = [[0.8, 0.2], [0.6, 0.4], [0.5, 0.5]]
        >>> loss = sparse_cost_sensitive_crossentropy(
        ...     [1, 0, -1], y_pred, cost_matrix=w, ignore_class=-1
        ... )
        >>> print(keras.ops.convert_to_numpy(loss))  # 5 * -log 0.2, 0.1 * -log 0.6, ignored
        [8.0472 0.0511 0.]

    Reference: in the spirit of Elkan, "The foundations of cost-sensitive learning",
    IJCAI 2001: the cost of each decision scales its error. `ignore_class` as in
    `keras.losses.SparseCategoricalCrossentropy`.
    """
    _require_table(cost_matrix)
    from_logits = _checks.check_bool("from_logits", from_logits)
    ignore_class = check_ignore_class(ignore_class)
    y_pred, dtype = to_working(y_pred)
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    flat_costs = _flat_cost_table(cost_matrix, num_classes, y_pred.dtype)
    ids, keep, bad = class_ids(y_true, y_pred, ignore_class=ignore_class)
    _checks.check_probability_inputs(None, y_pred, from_logits=from_logits, binary=False)
    log_p = _log_probabilities(y_pred, from_logits, dtype)
    weight = ops.take(flat_costs, ids * num_classes + first_argmax(y_pred))
    loss = -ops.stop_gradient(weight) * _true_class(log_p, ids)
    return ops.cast(finish(loss, keep, bad), dtype)


@register
class SparseCostSensitiveCrossentropy(SparseLoss):
    """Cross-entropy of integer class ids, weighted by a (true, predicted) class cost table.

    `CostSensitiveCrossentropy` for integer ids. The table fixes the number of classes C
    at construction: `y_pred` must then have C classes. The weight is a constant (no
    gradient through the argmax). With `ignore_class`, those samples give 0 and the
    mean is over the other samples, as `keras.losses.SparseCategoricalCrossentropy`.

    Formula:

    ```python
    t = y_true                                    # an integer class id per sample
    p = argmax(y_pred)                            # first index on ties
    loss = W[t, p] * -log(softmax(y_pred)[t])
    loss = 0                                      # where t == ignore_class
    ```

    From probabilities, `softmax` is replaced by renormalising and clipping to
    [eps, 1 - eps] (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        cost_matrix: (C, C) table W of finite costs >= 0 (row: true class, column:
            predicted class). Required.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples give 0 and are left out of the mean, or
            `None`.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).
        "sum_over_batch_size" and "mean" divide by the number of samples not ignored.

    Raises:
        ValueError: if `cost_matrix` is not square or has a negative or non-finite entry;
            when called, if `y_pred` does not have C classes or an id is neither in
            [0, C) nor `ignore_class` (when the ids can be read; a NaN loss inside a
            compiled step).
        TypeError: if `cost_matrix` is missing, `from_logits` is not a bool or
            `ignore_class` not an integer or None.

    Example:
        >>> loss = SparseCostSensitiveCrossentropy(
        ...     cost_matrix=[[0.1, 1.0], [5.0, 0.1]], ignore_class=-1
        ... )
        >>> y_pred = [[0.8, 0.2], [0.6, 0.4], [0.5, 0.5]]
        >>> print(float(loss([1, 0, -1], y_pred)))  # (5 * -log 0.2 + 0.1 * -log 0.6) / 2
        4.0491

    Reference: Elkan, "The foundations of cost-sensitive learning", IJCAI 2001.
    """

    def __init__(
        self,
        *,
        cost_matrix: TensorLike,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "sparse_cost_sensitive_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        _require_table(cost_matrix)
        super().__init__(
            sparse_cost_sensitive_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            cost_matrix=_checks.check_cost_table("cost_matrix", cost_matrix),
            from_logits=_checks.check_bool("from_logits", from_logits),
            ignore_class=check_ignore_class(ignore_class),
        )


# ---------------------------------------------------------------------- label smoothing


@register
def sparse_label_smoothing_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    epsilon: float = 0.1,
    from_logits: bool = False,
    ignore_class: int | None = None,
) -> Tensor:
    """Cross-entropy of integer class ids against labels mixed with the uniform distribution.

    `label_smoothing_crossentropy` on the one-hot of `y_true`, which is
    `keras.losses.CategoricalCrossentropy(label_smoothing=epsilon)` per sample.

    Formula:

    ```python
    log_p = log(softmax(y_pred))                  # over the C classes
    loss = (1 - epsilon) * -log_p[y_true] + epsilon * -mean(log_p)
         = CE((1 - epsilon) * one_hot(y_true) + epsilon / C, p)
    loss = 0                                      # where y_true == ignore_class
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16 probabilities).

    Args:
        y_true: integer class ids, shape (B,) or (B, 1); (B, T) or (B, T, 1) for `y_pred`
            of shape (B, T, C).
        y_pred: probabilities or logits, shape (B, C) or (B, T, C).
        epsilon: smoothing weight in [0, 1].
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples give 0, or `None`.

    Returns:
        The loss per sample, shape (B,) (or (B, T)), in `y_pred`'s dtype (16-bit inputs
        are computed in float32); 0 where `y_true` is `ignore_class`, and NaN inside a
        compiled step where `y_true` is not a valid id.

    Raises:
        ValueError: if `epsilon` is outside [0, 1] or not finite; if `y_true`'s shape is
            not `y_pred`'s without the class axis; if an id is neither in [0, C) nor
            `ignore_class` (when the ids can be read); or if 16-bit ids cannot hold
            every class id.
        TypeError: if `epsilon` is not a real number, `from_logits` not a bool,
            `ignore_class` not an integer or None, or `y_true` does not hold numbers.

    Example:
        >>> y_pred = [[0.1, 0.8, 0.1], [0.2, 0.3, 0.5]]
        >>> loss = sparse_label_smoothing_crossentropy([1, 9], y_pred, ignore_class=9)
        >>> print(keras.ops.convert_to_numpy(loss))  # targets [1/30, 28/30, 1/30], ignored
        [0.3618 0.]

    Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016, section 7. `ignore_class` as in
    `keras.losses.SparseCategoricalCrossentropy`.
    """
    epsilon, from_logits = _smoothing_hyper(epsilon, from_logits)
    ignore_class = check_ignore_class(ignore_class)
    _checks.check_probability_inputs(None, y_pred, from_logits=from_logits, binary=False)
    y_pred, dtype = to_working(y_pred)
    ids, keep, bad = class_ids(y_true, y_pred, ignore_class=ignore_class)
    log_p = _log_probabilities(y_pred, from_logits, dtype)
    to_label = -_true_class(log_p, ids)
    to_uniform = -mean(log_p, axis=-1)
    loss = (1.0 - epsilon) * to_label + epsilon * to_uniform
    return ops.cast(finish(loss, keep, bad), dtype)


@register
class SparseLabelSmoothingCrossentropy(SparseLoss):
    """Cross-entropy of integer class ids against labels mixed with the uniform distribution.

    `LabelSmoothingCrossentropy` for integer ids. With `ignore_class`, those samples
    give 0 and the mean is over the other samples, as
    `keras.losses.SparseCategoricalCrossentropy`; with `epsilon=0` it is that loss.

    Formula:

    ```python
    log_p = log(softmax(y_pred))                  # over the C classes
    loss = (1 - epsilon) * -log_p[y_true] + epsilon * -mean(log_p)
         = CE((1 - epsilon) * one_hot(y_true) + epsilon / C, p)
    loss = 0                                      # where y_true == ignore_class
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        epsilon: smoothing weight in [0, 1].
        from_logits: whether `y_pred` holds logits.
        ignore_class: a class id whose samples give 0 and are left out of the mean, or
            `None`.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).
        "sum_over_batch_size" and "mean" divide by the number of samples not ignored.

    Raises:
        ValueError: if `epsilon` is outside [0, 1] or not finite; when called, if an id
            is neither in [0, C) nor `ignore_class` (when the ids can be read; a NaN
            loss inside a compiled step).
        TypeError: if `epsilon` is not a real number, `from_logits` not a bool or
            `ignore_class` not an integer or None.

    Example:
        >>> loss = SparseLabelSmoothingCrossentropy(
        ...     epsilon=0.1, from_logits=True, ignore_class=-1
        ... )
        >>> print(float(loss([1, -1], [[0.0, 2.0], [3.0, 0.0]])))  # targets [0.05, 0.95]
        0.2269

    Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016, section 7.
    """

    def __init__(
        self,
        *,
        epsilon: float = 0.1,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "sparse_label_smoothing_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        epsilon, from_logits = _smoothing_hyper(epsilon, from_logits)
        super().__init__(
            sparse_label_smoothing_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            epsilon=epsilon,
            from_logits=from_logits,
            ignore_class=check_ignore_class(ignore_class),
        )
