"""Classification losses: cost-sensitive and label-smoothed cross-entropy, binary focal loss.

Every function returns one value per sample and its class twin adds reduction,
`sample_weight` and serialization. All of them agree across the TensorFlow, JAX and
PyTorch backends: from logits they work in log space, and from probabilities they
clip the same way on every backend.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import (
    float_tensor,
    largest,
    probability_epsilon,
    smallest_normal,
)
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register

__all__ = [
    "BinaryFocalLoss",
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "binary_focal_loss",
    "cost_sensitive_crossentropy",
    "label_smoothing_crossentropy",
    "pack_example_costs",
    "unpack_example_costs",
]


# --------------------------------------------------------------------------- helpers


def _prologue(y_true, y_pred):
    y_pred = float_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
    return y_true, y_pred


def _log_probabilities(y_pred, from_logits):
    """log p over the last axis, from logits or from (unnormalised) probabilities."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=-1)
    # Keras' convention for probabilities, kept on every backend: renormalise, then clip
    # away from 0 and 1 so that the log and its gradient stay finite.
    eps = probability_epsilon(y_pred.dtype)
    y_pred = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    return ops.log(ops.clip(y_pred, eps, 1.0 - eps))


# ------------------------------------------------------------ cost-sensitive cross-entropy


def pack_example_costs(y_true, costs):
    """Packs labels and one cost table per example into one target array for `fit`.

    `model.fit(x, y)` takes a single `y` per output on every backend. This puts the
    one-hot labels (B, C) and the per-example cost tables (B, C, C) side by side as
    (B, C + C*C), which `CostSensitiveCrossentropy(cost_matrix=None)` unpacks. The
    tables are targets, not model inputs, so prediction never needs them.

    Args:
        y_true: one-hot (or soft) labels, shape (B, C); integer class ids of shape
            (B,) are one-hot encoded.
        costs: cost tables, shape (B, C, C); `costs[k, i, j]` is the cost for example
            k of predicting class j when the true class is i. Entries are finite and >= 0.

    Returns:
        A float32 NumPy array of shape (B, C + C*C).

    Raises:
        ValueError: if the shapes do not match, a label is negative or not finite, or a
            cost is negative, not finite or beyond float32's range.
        TypeError: if `y_true` or `costs` does not hold numbers.

    Example:
        >>> y = pack_example_costs(np.eye(3)[[0, 2]], np.ones((2, 3, 3)))
        >>> y.shape
        (2, 12)
    """
    costs = _checks.check_cost_table("costs", costs, batched=True, largest=largest("float32"))
    batch_size, num_classes, _ = costs.shape
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


_PACKED_HINT = (
    " With `cost_matrix=None`, `y_true` holds the labels and per-example cost tables packed by "
    "`kerasloss.pack_example_costs`: last axis C + C*C. Pass `cost_matrix` for one table "
    "shared by all examples."
)


def unpack_example_costs(y_packed, num_classes: int):
    """Splits `pack_example_costs` output into labels (..., C) and flat tables (..., C*C)."""
    width = num_classes + num_classes * num_classes
    if not y_packed.shape or y_packed.shape[-1] != width:
        raise ValueError(
            f"`y_true` must have a last axis of C + C*C = {width} for C = {num_classes} "
            f"classes; got shape {tuple(y_packed.shape)}.{_PACKED_HINT}"
        )
    return y_packed[..., :num_classes], y_packed[..., num_classes:]


@register
def cost_sensitive_crossentropy(y_true, y_pred, *, cost_matrix=None, from_logits=False):
    """Cross-entropy weighted by the cost of the (true, predicted) class pair.

    Formula:

    ```python
    t, p = argmax(y_true), argmax(y_pred)        # first index on ties
    loss = W[t, p] * -sum(y_true * log(softmax(y_pred)))
    ```

    The weight is a constant: no gradient flows through the argmax. It is looked up
    directly in the table, never through a (B, C, C) tensor. A zero on the diagonal
    means an example classified right adds no loss and no gradient, however unsure the
    model is; a small positive diagonal keeps pulling such examples towards confidence.

    Args:
        y_true: labels, shape (B, C), one-hot or soft. With `cost_matrix=None`, labels
            and per-example tables packed by `pack_example_costs`, shape (B, C + C*C).
        y_pred: probabilities or logits, shape (B, C).
        cost_matrix: (C, C) table, row the true class and column the predicted class,
            entries finite and >= 0; `None` to read one table per example from `y_true`.
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,).

    Raises:
        ValueError: if a table has the wrong shape or a negative, non-finite or
            too large entry (entries are checked when the table is an array, not a
            backend tensor), or if `y_true` does not match `y_pred`'s shape.

    Example:
        >>> w = [[0.1, 1.0], [5.0, 0.1]]  # missing class 1 costs five times more
        >>> cost_sensitive_crossentropy([[0.0, 1.0]], [[0.8, 0.2]], cost_matrix=w)

    Reference: in the spirit of Elkan, "The foundations of cost-sensitive learning",
    IJCAI 2001: the cost of each decision scales its error.
    """
    from_logits = _checks.check_bool("from_logits", from_logits)
    y_true, y_pred = _prologue(y_true, y_pred)
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    if cost_matrix is None:
        labels, flat_costs = unpack_example_costs(y_true, num_classes)
        _checks.check_same_shape(
            y_true, y_pred, last_axis=num_classes * (num_classes + 1), hint=_PACKED_HINT
        )
    else:
        if not ops.is_tensor(cost_matrix):
            cost_matrix = _checks.check_cost_table(
                "cost_matrix", cost_matrix, num_classes, largest=largest(y_pred.dtype)
            )
        elif tuple(cost_matrix.shape) != (num_classes, num_classes):
            raise ValueError(
                f"`cost_matrix` must have shape (C, C) = {(num_classes, num_classes)} for "
                f"y_pred with {num_classes} classes; got shape {tuple(cost_matrix.shape)}."
            )
        _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)
        labels = y_true
        flat_costs = ops.reshape(ops.cast(cost_matrix, y_pred.dtype), (-1,))
    crossentropy = -ops.sum(labels * _log_probabilities(y_pred, from_logits), axis=-1)
    pair = first_argmax(labels) * num_classes + first_argmax(y_pred)
    if cost_matrix is None:
        weight = ops.squeeze(ops.take_along_axis(flat_costs, pair[..., None], axis=-1), -1)
    else:
        weight = ops.take(flat_costs, pair)
    return ops.stop_gradient(weight) * crossentropy


@register
class CostSensitiveCrossentropy(PerSampleLoss):
    """Cross-entropy weighted by a (true class, predicted class) cost table.

    See `cost_sensitive_crossentropy` for the formula. With `cost_matrix=None` each
    example brings its own table, packed into the targets by `pack_example_costs`.

    Args:
        cost_matrix: (C, C) table of finite costs >= 0 (row: true class, column:
            predicted class), or `None` for per-example tables.
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Raises:
        ValueError: if `cost_matrix` is not (C, C) or has a negative or non-finite entry.

    Example:
        >>> loss = CostSensitiveCrossentropy(cost_matrix=[[0.1, 1], [5, 0.1]], from_logits=True)
        >>> model.compile(optimizer="adam", loss=loss)
    """

    def __init__(
        self,
        *,
        cost_matrix=None,
        from_logits: bool = False,
        reduction="sum_over_batch_size",
        name: str = "cost_sensitive_crossentropy",
        dtype=None,
    ):
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


# ---------------------------------------------------------------------- label smoothing


@register
def label_smoothing_crossentropy(y_true, y_pred, *, epsilon=0.1, from_logits=False):
    """Cross-entropy against labels mixed with the uniform distribution.

    Formula:

    ```python
    loss = (1 - epsilon) * CE(y_true, p) + epsilon * CE(uniform, p)
         = CE((1 - epsilon) * y_true + epsilon / C, p)
    ```

    which is `keras.losses.CategoricalCrossentropy(label_smoothing=epsilon)`.

    Args:
        y_true: one-hot (or soft) labels, shape (B, C).
        y_pred: probabilities or logits, shape (B, C).
        epsilon: smoothing weight in [0, 1].
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,).

    Raises:
        ValueError: if `epsilon` is outside [0, 1].

    Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016, section 7.
    """
    epsilon = _checks.check_real("epsilon", epsilon, low=0.0, high=1.0)
    from_logits = _checks.check_bool("from_logits", from_logits)
    y_true, y_pred = _prologue(y_true, y_pred)
    _checks.check_same_shape(y_true, y_pred, hint=_checks.ONE_HOT_HINT)
    log_p = _log_probabilities(y_pred, from_logits)
    to_labels = -ops.sum(y_true * log_p, axis=-1)
    to_uniform = -ops.mean(log_p, axis=-1)
    return (1.0 - epsilon) * to_labels + epsilon * to_uniform


@register
class LabelSmoothingCrossentropy(PerSampleLoss):
    """Label-smoothed categorical cross-entropy; see `label_smoothing_crossentropy`.

    Args:
        epsilon: smoothing weight in [0, 1].
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Raises:
        ValueError: if `epsilon` is outside [0, 1].
    """

    def __init__(
        self,
        *,
        epsilon: float = 0.1,
        from_logits: bool = False,
        reduction="sum_over_batch_size",
        name: str = "label_smoothing_crossentropy",
        dtype=None,
    ):
        super().__init__(
            label_smoothing_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            epsilon=_checks.check_real("epsilon", epsilon, low=0.0, high=1.0),
            from_logits=_checks.check_bool("from_logits", from_logits),
        )


# -------------------------------------------------------------------------- focal loss


def _binary_targets(y_true, y_pred):
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
def binary_focal_loss(y_true, y_pred, *, gamma=2.0, alpha=0.25, from_logits=False):
    """Binary focal loss, summed over the last axis.

    Formula, per element:

    ```python
    p_t = y * p + (1 - y) * (1 - p)
    alpha_t = alpha * y + (1 - alpha) * (1 - y)      # 1 when alpha is None
    loss = alpha_t * (1 - p_t) ** gamma * BCE(y, p)
    ```

    Per element this is torchvision's `sigmoid_focal_loss`. From logits, BCE and
    `1 - p_t` come from `log_sigmoid` and `sigmoid` of the logits, so a logit of
    +-40 gives the exact value on every backend (no clipping of probabilities).

    Args:
        y_true: binary (or soft) targets, shape (B, K) or (B,).
        y_pred: probabilities or logits, same shape.
        gamma: focusing parameter, >= 0; 0 gives (alpha-weighted) cross-entropy.
        alpha: weight of the positive class in [0, 1], or `None` for no class balancing.
        from_logits: whether `y_pred` holds logits.

    Returns:
        The loss per sample, shape (B,).

    Raises:
        ValueError: if `gamma` < 0 or `alpha` is outside [0, 1].

    Reference: Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """
    gamma = _checks.check_real("gamma", gamma, low=0.0)
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, allow_none=True)
    from_logits = _checks.check_bool("from_logits", from_logits)
    y_true, y_pred = _prologue(y_true, y_pred)
    y_true, y_pred = _binary_targets(y_true, y_pred)
    if from_logits:
        log_p, log_not_p = ops.log_sigmoid(y_pred), ops.log_sigmoid(-y_pred)
        p, not_p = ops.sigmoid(y_pred), ops.sigmoid(-y_pred)
    else:
        eps = probability_epsilon(y_pred.dtype)
        p = ops.clip(y_pred, eps, 1.0 - eps)
        not_p = 1.0 - p
        log_p, log_not_p = ops.log(p), ops.log(not_p)
    bce = -(y_true * log_p + (1.0 - y_true) * log_not_p)
    if gamma > 0:
        # 1 - p_t, written so that it needs no subtraction from 1 (exact for large logits).
        not_p_t = y_true * not_p + (1.0 - y_true) * p
        # The floor keeps d/dx x**gamma finite for gamma < 1 where a probability underflows.
        # `clip` with bounds of y_pred's dtype, not `maximum`: Keras' type promotion runs
        # `maximum` of two float64 tensors in float32 on JAX and torch, and torch turns a
        # Python float bound into float32; either way a float64 floor would round to 0.
        floor = ops.convert_to_tensor(smallest_normal(y_pred.dtype), dtype=y_pred.dtype)
        one = ops.convert_to_tensor(1.0, dtype=y_pred.dtype)
        bce = ops.power(ops.clip(not_p_t, floor, one), gamma) * bce
    if alpha is not None:
        bce = (alpha * y_true + (1.0 - alpha) * (1.0 - y_true)) * bce
    return ops.sum(bce, axis=-1)


@register
class BinaryFocalLoss(PerSampleLoss):
    """Binary focal loss (Lin et al. 2017); see `binary_focal_loss`.

    Args:
        gamma: focusing parameter, >= 0.
        alpha: weight of the positive class in [0, 1], or `None` for no class balancing.
        from_logits: whether `y_pred` holds logits.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Raises:
        ValueError: if `gamma` < 0 or `alpha` is outside [0, 1].
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | None = 0.25,
        from_logits: bool = False,
        reduction="sum_over_batch_size",
        name: str = "binary_focal_loss",
        dtype=None,
    ):
        super().__init__(
            binary_focal_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            gamma=_checks.check_real("gamma", gamma, low=0.0),
            alpha=_checks.check_real("alpha", alpha, low=0.0, high=1.0, allow_none=True),
            from_logits=_checks.check_bool("from_logits", from_logits),
        )
