"""Argument checks shared by every loss: clear errors that name the argument."""

from __future__ import annotations

import math
import warnings
from typing import Literal, overload

import keras
import numpy as np
from keras import ops

from kerasloss._internal.types import Tensor, TensorLike


def check_bool(name: str, value: object) -> bool:
    """True or False (a NumPy bool too) as a Python bool; TypeError naming `name` otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False; got {value!r} ({type(value).__name__}).")
    return bool(value)


@overload
def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    allow_none: Literal[False] = False,
) -> float: ...


@overload
def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    allow_none: bool,
) -> float | None: ...


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    allow_none: bool = False,
) -> float | None:
    """A finite real number inside [low, high] (either bound may be None).

    With `allow_none`, None passes through; the return type says so to the type checker.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"`{name}` must be a real number; got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}.")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"`{name}` must be in [{lo}, {hi}]; got {value}.")
    return value


def check_cost_table(
    name: str,
    table: object,
    num_classes: int | None = None,
    *,
    batched: bool = False,
    largest: float | None = None,
) -> np.ndarray:
    """A (C, C) table, or a (B, C, C) stack of them, with finite entries >= 0.

    With `largest`, entries must also fit the dtype the loss computes in. Returns the
    table as a float64 NumPy array.
    """
    expected = "(batch_size, C, C)" if batched else "(C, C)"
    if isinstance(table, (str, bytes, dict)):
        raise TypeError(f"`{name}` must be an array of real numbers; got {type(table).__name__}.")
    try:
        array = np.asarray(table, dtype=np.float64)
    except (TypeError, ValueError) as err:  # ragged nesting, or entries that are not numbers
        raise ValueError(
            f"`{name}` must be an array of real numbers of shape {expected}: {err}"
        ) from err
    rank = 3 if batched else 2
    square = array.ndim == rank and array.shape[-1] == array.shape[-2] and array.shape[-1] > 0
    if not square or (num_classes is not None and array.shape[-1] != num_classes):
        c = "C" if num_classes is None else str(num_classes)
        classes = "" if num_classes is None else f", one row and column per class of `y_pred` ({c})"
        raise ValueError(
            f"`{name}` must have shape {expected.replace('C', c)}{classes} (row: true class, "
            f"column: predicted class); got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must hold finite numbers; it contains NaN or inf.")
    if np.any(array < 0):
        raise ValueError(f"`{name}` must hold costs >= 0; its smallest entry is {array.min()}.")
    if largest is not None and array.size and array.max() > largest:
        raise ValueError(
            f"`{name}` holds {array.max():g}, more than {largest:g}, the largest number of the "
            f"dtype the loss computes in."
        )
    return array


def static_num_classes(name: str, tensor: TensorLike) -> int:
    """The size of the last axis, which every class-wise loss needs before tracing."""
    if len(tensor.shape) == 0 or tensor.shape[-1] is None:
        raise ValueError(
            f"`{name}` must have a known last (class) axis, shape (batch_size, C); "
            f"got shape {tuple(tensor.shape)}."
        )
    return int(tensor.shape[-1])


ONE_HOT_HINT = (
    " Integer class ids must be one-hot encoded first (keras.ops.one_hot or "
    "keras.utils.to_categorical)."
)


def _same(a: tuple[int | None, ...], b: tuple[int | None, ...]) -> bool:
    """Static shapes agree where both are known."""
    return len(a) == len(b) and all(
        x is None or y is None or x == y for x, y in zip(a, b, strict=True)
    )


def _looks_like_class_ids(
    true_shape: tuple[int | None, ...], pred_shape: tuple[int | None, ...]
) -> bool:
    """Whether `y_true` of `true_shape` could be integer class ids for `y_pred`'s classes.

    Class ids have one axis fewer than the scores, or a last axis of 1; a (B, 4) one-hot
    for 3 classes is a one-hot of the wrong width, not class ids.
    """
    if len(true_shape) == len(pred_shape) - 1:
        return True
    return len(true_shape) == len(pred_shape) and bool(true_shape) and true_shape[-1] == 1


def check_same_shape(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    hint: str = "",
    last_axis: int | None = None,
    names: tuple[str, str] = ("y_true", "y_pred"),
) -> None:
    """`y_true` has `y_pred`'s shape, or with `last_axis`, its shape but for the last axis.

    `names` are the argument names the message uses. `ONE_HOT_HINT` is only shown when
    `y_true` has the shape of class ids.
    """
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if last_axis is None:
        if _same(true_shape, pred_shape):
            return
        expected = pred_shape
    else:
        if true_shape and _same(true_shape[:-1], pred_shape[:-1]) and true_shape[-1] == last_axis:
            return
        expected = (*pred_shape[:-1], last_axis)
    if hint == ONE_HOT_HINT and not _looks_like_class_ids(true_shape, pred_shape):
        hint = ""
    raise ValueError(
        f"`{names[0]}` must have shape {expected} to match `{names[1]}` of shape {pred_shape}; "
        f"got shape {true_shape}.{hint}"
    )


def check_num_classes(num_classes: object) -> int:
    """An integer >= 1 (not a bool); TypeError or ValueError naming `num_classes`."""
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"`num_classes` must be an integer >= 1; got {num_classes!r} "
            f"({type(num_classes).__name__})."
        )
    if num_classes < 1:
        raise ValueError(f"`num_classes` must be an integer >= 1; got {num_classes}.")
    return int(num_classes)


def label_vector(name: str, labels: TensorLike, *, per: str) -> Tensor:
    """Class ids of shape (B,) or (B, 1) as a (B,) tensor; ValueError naming `name` otherwise.

    `per` names what each label belongs to ("embedding", "sample") in the message.
    """
    labels = ops.convert_to_tensor(labels)
    shape = tuple(labels.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError(
            f"`{name}` must hold one integer class id per {per}, shape (batch_size,) or "
            f"(batch_size, 1); got shape {shape}."
        )
    return ops.reshape(labels, (-1,)) if len(shape) == 2 else labels


def _concrete_values(tensor: TensorLike) -> np.ndarray | None:
    """The values of `tensor` as a NumPy array if they are known now, else None.

    They are known for NumPy input and in eager execution. While a compiled step is
    traced (a JAX tracer, a symbolic `tf.Tensor`, Keras' symbolic build) the conversion
    raises, and the check that needs the values is skipped. Under `torch.compile`
    the conversion is a graph break, so the check still runs, outside the graph.
    """
    if isinstance(tensor, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(tensor)
    if keras.utils.is_keras_tensor(tensor):
        return None
    try:
        with warnings.catch_warnings():
            # Keras' torch backend reads a tensor with `np.array(x)`, for which NumPy 2
            # can warn (DeprecationWarning: `__array__` without `copy`): the conversion
            # is this check's, not the user's, so its warning is not shown to them.
            warnings.simplefilter("ignore", DeprecationWarning)
            return ops.convert_to_numpy(tensor)
    except (TypeError, NotImplementedError):
        # jax.errors.TracerArrayConversionError is a TypeError; a symbolic tf.Tensor and
        # a torch tensor on the meta device raise NotImplementedError.
        return None


def class_ids(labels: TensorLike, num_classes: int, batch_size: int | None = None) -> Tensor:
    """Integer class ids (B,) from labels of shape (B,) or (B, 1), integer or float.

    Values are checked (integers in [0, num_classes)) whenever they are known; see
    `_concrete_values`.
    """
    labels = label_vector("labels", labels, per="sample")
    if batch_size is not None and labels.shape[0] is not None and labels.shape[0] != batch_size:
        raise ValueError(
            f"`labels` must have one entry per row of `features` ({batch_size}); "
            f"got {labels.shape[0]}."
        )
    values = _concrete_values(labels)
    if values is not None and values.size:
        if values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)):
            raise ValueError(f"`labels` must hold finite class ids; got dtype {values.dtype}.")
        if np.any(values != np.round(values)):
            raise ValueError("`labels` must hold whole class ids; got a fractional value.")
        low, high = values.min(), values.max()
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"`labels` must be class ids in [0, {num_classes - 1}] for {num_classes} "
                f"centres; got values from {low:g} to {high:g}."
            )
    return ops.cast(labels, "int32")


def check_unit_interval(name: str, values: TensorLike, *, hint: str = "") -> None:
    """Every value of `values` in [0, 1], when the values are known now (`_concrete_values`).

    For probabilities given with `from_logits=False` and for targets of cross-entropy
    losses. NaN passes (it must reach the loss value); so does anything under a compiled
    step, where the values are not known. ValueError naming `name`, the range and the
    values found otherwise; `hint` is appended.
    """
    known = _concrete_values(values)
    if known is None or not known.size:
        return
    if known.dtype.kind not in "biuf":  # bfloat16 comes back as an ml_dtypes type
        try:
            known = known.astype(np.float32)
        except (TypeError, ValueError):
            return
    if np.any((known < 0) | (known > 1)):  # False for NaN
        low, high = np.nanmin(known), np.nanmax(known)
        raise ValueError(
            f"`{name}` must hold values in [0, 1]; got values from {float(low):g} to "
            f"{float(high):g}.{hint}"
        )


PROBABILITY_HINT = (
    " With `from_logits=False`, `y_pred` holds probabilities; pass `from_logits=True` for "
    "logits (scores of any sign)."
)
BINARY_TARGET_HINT = (
    " Targets are 0 and 1, or soft targets in between: map labels in {-1, 1} with "
    "(y + 1) / 2 and masks in {0, 255} with y / 255."
)
CATEGORICAL_TARGET_HINT = " Labels are one-hot rows, or soft labels in between."


def check_probability_inputs(
    y_true: TensorLike | None, y_pred: TensorLike, *, from_logits: bool, binary: bool
) -> None:
    """The one value check of the cross-entropy family, eager only (see `_concrete_values`).

    Targets must be in [0, 1] (`y_true=None` skips them, for losses whose targets are
    class ids or packed with costs), and so must `y_pred` when it holds probabilities.
    Logits passed with `from_logits=False` are caught when one of them is outside
    [0, 1]; probabilities passed with `from_logits=True` cannot be told from logits.
    """
    # A categorical y_true of another shape than y_pred (class ids, a wrong width) gets
    # the shape check's message, which says more than its values would.
    if y_true is not None and (binary or tuple(np.shape(y_true)) == tuple(np.shape(y_pred))):
        check_unit_interval(
            "y_true", y_true, hint=BINARY_TARGET_HINT if binary else CATEGORICAL_TARGET_HINT
        )
    if not from_logits:
        check_unit_interval("y_pred", y_pred, hint=PROBABILITY_HINT)
