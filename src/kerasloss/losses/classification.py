"""Classification losses: cost-sensitive and label-smoothed cross-entropy.

Every function returns one value per sample and its class twin adds reduction,
`sample_weight` and serialization. All of them agree across the TensorFlow, JAX and
PyTorch backends: from logits they work in log space, and from probabilities they
clip the same way on every backend. They follow kerasloss' precision policy
(`kerasloss._internal.dtypes`): float16 and bfloat16 inputs are computed in float32 and
the loss is returned in the input's dtype, float64 stays float64, and integer inputs
become Keras' floatx. The focal losses, binary and categorical, are in
`kerasloss.losses.focal`.
"""

from __future__ import annotations

import warnings

import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.aliases import moved
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import (
    constant,
    largest,
    mean,
    probability_epsilon,
    to_working,
)
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = [
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "cost_sensitive_crossentropy",
    "label_smoothing_crossentropy",
    "pack_example_costs",
    "unpack_example_costs",
]


# --------------------------------------------------------------------------- helpers


def _prologue(y_true: TensorLike, y_pred: TensorLike) -> tuple[Tensor, Tensor, str]:
    """y_true and y_pred in the dtype to compute in, and the dtype to return (y_pred's)."""
    y_pred, dtype = to_working(y_pred)
    y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
    return y_true, y_pred, dtype


def _clip_probabilities(p: Tensor, given_dtype: str) -> Tensor:
    """p clipped to [eps, 1 - eps], eps from the dtype the probabilities were given in.

    The bounds are tensors of p's dtype: torch turns a Python float bound into float32,
    which would round a float64 clip.
    """
    eps = probability_epsilon(given_dtype)
    return ops.clip(p, constant(eps, p.dtype), constant(1.0 - eps, p.dtype))


def _log_probabilities(y_pred: Tensor, from_logits: bool, given_dtype: str) -> Tensor:
    """log p over the last axis, from logits or from (unnormalised) probabilities."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=-1)
    # Keras' convention for probabilities, kept on every backend: renormalise, then clip
    # away from 0 and 1 so that the log and its gradient stay finite.
    y_pred = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    return ops.log(_clip_probabilities(y_pred, given_dtype))


def _real(
    name: str, value: object, *, low: float | None = None, high: float | None = None
) -> float:
    """A finite real hyper-parameter within [low, high], never None."""
    return _checks.check_real(name, value, low=low, high=high)


# ------------------------------------------------------------ cost-sensitive cross-entropy


def pack_example_costs(
    y_true: TensorLike, costs: TensorLike, *, class_weight: dict[int, float] | None = None
) -> np.ndarray:
    """Packs labels and one cost table per example into one target array for `fit`.

    `model.fit(x, y)` takes a single `y` per output on every backend. This puts the
    one-hot labels (B, C) and the per-example cost tables (B, C, C) side by side, which
    `CostSensitiveCrossentropy(cost_matrix=None)` unpacks. The tables are targets, not
    model inputs, so prediction never needs them.

    Formula:

    ```python
    packed[k] = concatenate([y_true[k], costs[k].reshape(C * C)])   # C + C*C entries
    # with class_weight: costs[k, i, :] *= class_weight.get(i, 1) first
    ```

    `fit(class_weight=...)` cannot weight packed targets: Keras takes the class of each
    example from the argmax of the whole packed row, costs included. Scaling row i of
    every table by the weight of class i gives the loss `fit` would have weighted.

    Args:
        y_true: one-hot (or soft) labels, shape (B, C); integer class ids of shape
            (B,) are one-hot encoded.
        costs: cost tables, shape (B, C, C); `costs[k, i, j]` is the cost for example
            k of predicting class j when the true class is i. Entries are finite and >= 0.
        class_weight: optional `{class id: weight >= 0}`, as for `fit(class_weight=...)`;
            row i of every table is multiplied by the weight of class i (1 if absent).

    Returns:
        A float32 NumPy array of shape (B, C + C*C).

    Raises:
        ValueError: if the shapes do not match, a label is negative or not finite, a
            cost is negative, not finite or beyond float32's range, or `class_weight`
            names a class outside [0, C) or holds a negative or non-finite weight.
        TypeError: if `y_true` or `costs` does not hold numbers.

    Example:
        >>> y = pack_example_costs([0, 2], np.ones((2, 3, 3)))
        >>> print(y.shape)
        (2, 12)

    Reference: example-dependent costs as in Zadrozny, Langford and Abe, "Cost-Sensitive
    Learning by Cost-Proportionate Example Weighting", ICDM 2003.
    """
    costs = _checks.check_cost_table("costs", costs, batched=True, largest=largest("float32"))
    batch_size, num_classes, _ = costs.shape
    if class_weight is not None:
        costs = costs * _class_weight_rows(class_weight, num_classes)[:, None]
        costs = _checks.check_cost_table("costs", costs, batched=True, largest=largest("float32"))
    labels = np.asarray(y_true)
    if not np.issubdtype(labels.dtype, np.number) or np.issubdtype(
        labels.dtype, np.complexfloating
    ):
        raise TypeError(f"`y_true` must hold numbers; got dtype {labels.dtype}.")
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"`y_true` holds class ids outside [0, {num_classes - 1}] "
                f"(C = {num_classes} from `costs`)."
            )
        labels = np.eye(num_classes)[labels]
    if labels.shape != (batch_size, num_classes):
        raise ValueError(
            f"`y_true` must have shape (batch_size, C) = {(batch_size, num_classes)} to match "
            f"`costs` of shape {costs.shape}; got shape {labels.shape}."
        )
    if not np.all(np.isfinite(labels)) or np.any(labels < 0):
        raise ValueError("`y_true` must hold finite label weights >= 0 (one-hot rows).")
    flat = costs.reshape(batch_size, num_classes * num_classes)
    return np.concatenate([labels, flat], axis=1).astype(np.float32)


def _class_weight_rows(class_weight: object, num_classes: int) -> np.ndarray:
    """`{class id: weight}` as one weight per class (1 for absent ones), checked."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            "`class_weight` must be a dict {class id: weight}; got "
            f"{type(class_weight).__name__}."
        )
    rows = np.ones(num_classes)
    for key, weight in class_weight.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"`class_weight` keys must be integer class ids; got {key!r}.")
        if not 0 <= key < num_classes:
            raise ValueError(
                f"`class_weight` keys must be class ids in [0, {num_classes - 1}] (C = "
                f"{num_classes} from `costs`); got {key}."
            )
        rows[key] = _checks.check_real(f"class_weight[{key}]", weight, low=0.0)
    return rows


_PACKED_HINT = (
    " With `cost_matrix=None`, `y_true` holds the labels and per-example cost tables packed by "
    "`kerasloss.pack_example_costs`: last axis C + C*C. Pass `cost_matrix` for one table "
    "shared by all examples."
)


def unpack_example_costs(y_packed: TensorLike, num_classes: int) -> tuple[Tensor, Tensor]:
    """Splits `pack_example_costs` output into labels and flattened cost tables.

    Formula:

    ```python
    labels, flat_costs = y_packed[..., :C], y_packed[..., C:]   # costs: (..., C, C)
    ```

    Args:
        y_packed: packed targets, a tensor or NumPy array of shape (..., C + C*C).
        num_classes: C, the number of classes.

    Returns:
        `(labels, flat_costs)`: labels of shape (..., C) and the cost tables flattened
        row by row, shape (..., C*C), of `y_packed`'s type and dtype.

    Raises:
        ValueError: if the last axis of `y_packed` is not C + C*C.

    Example:
        >>> packed = pack_example_costs([0, 2], np.ones((2, 3, 3)))
        >>> labels, flat_costs = unpack_example_costs(packed, 3)
        >>> print(labels.shape, flat_costs.shape)
        (2, 3) (2, 9)

    Reference: the inverse of `pack_example_costs`.
    """
    width = num_classes + num_classes * num_classes
    if not y_packed.shape or y_packed.shape[-1] != width:
        raise ValueError(
            f"`y_true` must have a last axis of C + C*C = {width} for C = {num_classes} "
            f"classes; got shape {tuple(y_packed.shape)}.{_PACKED_HINT}"
        )
    return y_packed[..., :num_classes], y_packed[..., num_classes:]


@register
def cost_sensitive_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    cost_matrix: TensorLike | None = None,
    from_logits: bool = False,
) -> Tensor:
    """Cross-entropy weighted by the cost of the (true, predicted) class pair.

    The weight is a constant: no gradient flows through the argmax. It is looked up
    directly in the table, never through a (B, C, C) tensor. A zero on the diagonal
    means an example classified right adds no loss and no gradient, however unsure the
    model is; a small positive diagonal keeps pulling such examples towards confidence.

    Formula:

    ```python
    t, p = argmax(y_true), argmax(y_pred)        # first index on ties
    loss = W[t, p] * -sum(y_true * log(softmax(y_pred)))
    ```

    From probabilities, `softmax` is replaced by renormalising and clipping to
    [eps, 1 - eps]: Keras' 1e-7, or for float16 and bfloat16 probabilities the gap below
    1 of their dtype (2^-11, 2^-8), since 1 - 1e-7 rounds to 1 there.

    Args:
        y_true: labels, shape (B, C), one-hot or soft. With `cost_matrix=None`, labels
            and per-example tables packed by `pack_example_costs`, shape (B, C + C*C).
        y_pred: probabilities or logits, shape (B, C).
        cost_matrix: (C, C) table W, row the true class and column the predicted class,
            entries finite and >= 0; `None` to read one table per example from `y_true`.
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,), in `y_pred`'s dtype (16-bit inputs are computed
        in float32; a float16 loss above 65504 is inf).

    Raises:
        ValueError: if a table has the wrong shape or a negative, non-finite or
            too large entry (beyond the range of the dtype the loss computes in; entries
            are checked when the table is an array, not a backend tensor), or if `y_true`
            does not match `y_pred`'s shape.
            When the values are known (eagerly): if `y_true`, or `y_pred` with
            `from_logits=False`, holds a value outside [0, 1].
        TypeError: if `from_logits` is not a bool.

    Example:
        >>> w = [[0.1, 1.0], [5.0, 0.1]]  # missing class 1 costs five times more
        >>> loss = cost_sensitive_crossentropy([[0.0, 1.0]], [[0.8, 0.2]], cost_matrix=w)
        >>> print(keras.ops.convert_to_numpy(loss))  # 5 * -log(0.2)
        [8.0472]

    Reference: in the spirit of Elkan, "The foundations of cost-sensitive learning",
    IJCAI 2001: the cost of each decision scales its error.
    """
    from_logits = _checks.check_bool("from_logits", from_logits)
    packed = cost_matrix is None
    _checks.check_probability_inputs(
        None if packed else y_true, y_pred, from_logits=from_logits, binary=False
    )
    y_true, y_pred, dtype = _prologue(y_true, y_pred)
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    if cost_matrix is None:
        labels, flat_costs = unpack_example_costs(y_true, num_classes)
        _checks.check_same_shape(
            y_true, y_pred, last_axis=num_classes * (num_classes + 1), hint=_PACKED_HINT
        )
        _checks.check_unit_interval("y_true", labels, hint=_checks.CATEGORICAL_TARGET_HINT)
    else:
        # The shapes first: a y_pred of the wrong rank is then named, not the table.
        _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)
        if not ops.is_tensor(cost_matrix):
            cost_matrix = _checks.check_cost_table(
                "cost_matrix", cost_matrix, num_classes, largest=largest(y_pred.dtype)
            )
        elif tuple(cost_matrix.shape) != (num_classes, num_classes):
            raise ValueError(
                f"`cost_matrix` must have shape (C, C) = {(num_classes, num_classes)} for "
                f"y_pred with {num_classes} classes; got shape {tuple(cost_matrix.shape)}."
            )
        labels = y_true
        flat_costs = ops.reshape(ops.cast(cost_matrix, y_pred.dtype), (-1,))
    log_p = _log_probabilities(y_pred, from_logits, dtype)
    crossentropy = -ops.sum(labels * log_p, axis=-1)
    pair = first_argmax(labels) * num_classes + first_argmax(y_pred)
    if cost_matrix is None:
        weight = ops.squeeze(ops.take_along_axis(flat_costs, pair[..., None], axis=-1), -1)
    else:
        weight = ops.take(flat_costs, pair)
    return ops.cast(ops.stop_gradient(weight) * crossentropy, dtype)


_CLASS_WEIGHT_WARNING = (
    "CostSensitiveCrossentropy(cost_matrix=None) got a `sample_weight` with per-example "
    "cost tables. If it comes from `fit(class_weight=...)`, Keras took each example's "
    "class from the argmax of the packed target (labels and costs together), so the class "
    "weights were not applied: pass them to `kerasloss.pack_example_costs(..., "
    "class_weight=...)` instead. Sample weights computed from the labels apply as usual."
)


@register
class CostSensitiveCrossentropy(PerSampleLoss):
    """Cross-entropy weighted by a (true class, predicted class) cost table.

    With `cost_matrix=None` each example brings its own table, packed into the targets
    by `pack_example_costs`. The weight is a constant (no gradient through the argmax).
    Packed targets do not mix with `fit(class_weight=...)` (Keras reads the classes from
    the packed rows): the loss warns once when it gets a `sample_weight`, and
    `pack_example_costs(..., class_weight=...)` applies class weights instead. Metrics on
    that output need `kerasloss.metrics.PackedLabelsMetric` to see the labels.

    Formula:

    ```python
    t, p = argmax(y_true), argmax(y_pred)        # first index on ties
    loss = W[t, p] * -sum(y_true * log(softmax(y_pred)))
    ```

    From probabilities, `softmax` is replaced by renormalising and clipping to
    [eps, 1 - eps] (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        cost_matrix: (C, C) table W of finite costs >= 0 (row: true class, column:
            predicted class), or `None` for per-example tables.
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `cost_matrix` is not (C, C) or has a negative or non-finite entry.
        TypeError: if `from_logits` is not a bool.

    Example:
        >>> loss = CostSensitiveCrossentropy(cost_matrix=[[0.1, 1.0], [5.0, 0.1]])
        >>> y_true = [[0.0, 1.0], [1.0, 0.0]]
        >>> y_pred = [[0.8, 0.2], [0.6, 0.4]]  # wrong (cost 5), right (cost 0.1)
        >>> print(float(loss(y_true, y_pred)))  # (5 * -log 0.2 + 0.1 * -log 0.6) / 2
        4.0491

    Reference: Elkan, "The foundations of cost-sensitive learning", IJCAI 2001.
    """

    def __init__(
        self,
        *,
        cost_matrix: TensorLike | None = None,
        from_logits: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "cost_sensitive_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        if cost_matrix is not None:
            cost_matrix = _checks.check_cost_table("cost_matrix", cost_matrix)
        super().__init__(
            cost_sensitive_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            cost_matrix=cost_matrix,
            from_logits=_checks.check_bool("from_logits", from_logits),
        )
        self._warned_sample_weight = False

    def __call__(
        self, y_true: TensorLike, y_pred: TensorLike, sample_weight: TensorLike | None = None
    ) -> Tensor:
        """The reduced loss; with packed tables, warns once if a `sample_weight` is given."""
        if self._hyper["cost_matrix"] is None and sample_weight is not None:
            if not self._warned_sample_weight:
                self._warned_sample_weight = True
                warnings.warn(_CLASS_WEIGHT_WARNING, UserWarning, stacklevel=2)
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)


# ---------------------------------------------------------------------- label smoothing


def _smoothing_hyper(epsilon: object, from_logits: object) -> tuple[float, bool]:
    """The validated hyper-parameters of label smoothing, for the function and the class."""
    return (
        _real("epsilon", epsilon, low=0.0, high=1.0),
        _checks.check_bool("from_logits", from_logits),
    )


@register
def label_smoothing_crossentropy(
    y_true: TensorLike, y_pred: TensorLike, *, epsilon: float = 0.1, from_logits: bool = False
) -> Tensor:
    """Cross-entropy against labels mixed with the uniform distribution.

    This is `keras.losses.CategoricalCrossentropy(label_smoothing=epsilon)`, per sample.

    Formula:

    ```python
    loss = (1 - epsilon) * CE(y_true, p) + epsilon * CE(uniform, p)
         = CE((1 - epsilon) * y_true + epsilon / C, p)
    CE(t, p) = -sum(t * log(p)),   p = softmax(y_pred)
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16 probabilities).

    Args:
        y_true: one-hot (or soft) labels, shape (B, C).
        y_pred: probabilities or logits, shape (B, C).
        epsilon: smoothing weight in [0, 1].
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,), in `y_pred`'s dtype (16-bit inputs are computed
        in float32).

    Raises:
        ValueError: if `epsilon` is outside [0, 1] or not finite, or `y_true` does not
            have `y_pred`'s shape.
            When the values are known (eagerly): if `y_true`, or `y_pred` with
            `from_logits=False`, holds a value outside [0, 1].
        TypeError: if `epsilon` is not a real number or `from_logits` not a bool.

    Example:
        >>> y_true, y_pred = [[0.0, 1.0, 0.0]], [[0.1, 0.8, 0.1]]
        >>> loss = label_smoothing_crossentropy(y_true, y_pred, epsilon=0.1)
        >>> print(keras.ops.convert_to_numpy(loss))  # targets [1/30, 28/30, 1/30]
        [0.3618]

    Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016, section 7.
    """
    epsilon, from_logits = _smoothing_hyper(epsilon, from_logits)
    _checks.check_probability_inputs(y_true, y_pred, from_logits=from_logits, binary=False)
    y_true, y_pred, dtype = _prologue(y_true, y_pred)
    _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)
    log_p = _log_probabilities(y_pred, from_logits, dtype)
    to_labels = -ops.sum(y_true * log_p, axis=-1)
    to_uniform = -mean(log_p, axis=-1)
    return ops.cast((1.0 - epsilon) * to_labels + epsilon * to_uniform, dtype)


@register
class LabelSmoothingCrossentropy(PerSampleLoss):
    """Categorical cross-entropy against labels mixed with the uniform distribution.

    The same as `keras.losses.CategoricalCrossentropy(label_smoothing=epsilon)`.

    Formula:

    ```python
    loss = (1 - epsilon) * CE(y_true, p) + epsilon * CE(uniform, p)
         = CE((1 - epsilon) * y_true + epsilon / C, p)
    CE(t, p) = -sum(t * log(p)),   p = softmax(y_pred)
    ```

    From probabilities, p is `y_pred` renormalised and clipped to [eps, 1 - eps]
    (Keras' 1e-7; 2^-11 and 2^-8 for float16 and bfloat16).

    Args:
        epsilon: smoothing weight in [0, 1].
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `epsilon` is outside [0, 1] or not finite.
        TypeError: if `epsilon` is not a real number or `from_logits` not a bool.

    Example:
        >>> loss = LabelSmoothingCrossentropy(epsilon=0.1, from_logits=True)
        >>> print(float(loss([[0.0, 1.0]], [[0.0, 2.0]])))  # targets [0.05, 0.95]
        0.2269

    Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016, section 7.
    """

    def __init__(
        self,
        *,
        epsilon: float = 0.1,
        from_logits: bool = False,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "label_smoothing_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        epsilon, from_logits = _smoothing_hyper(epsilon, from_logits)
        super().__init__(
            label_smoothing_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            epsilon=epsilon,
            from_logits=from_logits,
        )


# The binary focal loss lived here before kerasloss 0.2; the focal losses have their own
# module now.
__getattr__ = moved(
    __name__,
    {name: f"kerasloss.losses.focal:{name}" for name in ("BinaryFocalLoss", "binary_focal_loss")},
)
