"""Integer class ids as targets, and `ignore_class`, shared by every sparse loss.

A sparse loss takes `y_true` of shape `y_pred.shape[:-1]` (or with a trailing axis of
1) holding class ids. Three kinds of id exist:

- a valid id in [0, C): the sample's class;
- `ignore_class`: the sample gives 0 and is left out of the mean, as Keras'
  `SparseCategoricalCrossentropy(ignore_class=...)` does;
- anything else (out of range, fractional, NaN): a `ValueError` when the values can be
  read (NumPy input, eager execution), and a NaN loss for that sample inside a compiled
  step, where they cannot, so that a bad label is never trained on silently.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.types import Tensor, TensorLike


def check_ignore_class(ignore_class: object) -> int | None:
    """`ignore_class` as an int or None; TypeError otherwise."""
    if ignore_class is None:
        return None
    if isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer)):
        raise TypeError(
            f"`ignore_class` must be an integer class id or None; got {ignore_class!r}."
        )
    return int(ignore_class)


def _id_shape(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """y_true reshaped to y_pred.shape[:-1]; ValueError naming both shapes otherwise."""
    want = tuple(y_pred.shape[:-1])
    got = tuple(y_true.shape)
    if len(got) == len(want) + 1 and got[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
        got = got[:-1]
    if len(got) != len(want) or not all(
        a is None or b is None or a == b for a, b in zip(got, want, strict=True)
    ):
        hint = ""
        if len(got) == len(want) + 1 and got[-1] == y_pred.shape[-1]:
            hint = " It looks one-hot: use the dense loss, or pass argmax(y_true, axis=-1)."
        raise ValueError(
            f"`y_true` must hold one integer class id per row of `y_pred`, shape {want} "
            f"or {(*want, 1)} for `y_pred` of shape {tuple(y_pred.shape)}; got shape "
            f"{tuple(y_true.shape)}.{hint}"
        )
    return y_true


def class_ids(
    y_true: TensorLike, y_pred: Tensor, *, ignore_class: int | None
) -> tuple[Tensor, Tensor, Tensor]:
    """The ids to gather with, which samples count, and which are invalid.

    Returns `(ids, keep, bad)`: `ids` int32 of shape `y_pred.shape[:-1]`, in [0, C) for
    every sample (0 where the id is ignored or invalid, so every gather is defined);
    `keep` is False where the id is `ignore_class`; `bad` is True where the id is
    neither a valid class nor `ignore_class`.
    """
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    y_true = _id_shape(ops.convert_to_tensor(y_true), y_pred)
    dtype = keras.backend.standardize_dtype(y_true.dtype)
    _check_exact_in(dtype, num_classes, ignore_class)
    # Ids arrive as floats when `keras.losses.Loss.__call__` casts y_true to the loss's
    # dtype; 16-bit ids are exact in float32 (NumPy cannot read bfloat16 values).
    labels = y_true if "int" in dtype else ops.cast(y_true, "float32")
    values = _checks._concrete_values(labels)
    if values is not None and values.size:
        _check_values(values, num_classes, ignore_class)
    if ignore_class is None:
        keep = ops.ones_like(labels, dtype="bool")
    else:
        keep = ops.not_equal(labels, ops.cast(ignore_class, labels.dtype))
    if "float" in str(labels.dtype):
        whole = ops.equal(labels, ops.round(labels))  # False for NaN too
    else:
        whole = ops.ones_like(labels, dtype="bool")
    in_range = (
        whole
        & ops.greater_equal(labels, ops.cast(0, labels.dtype))
        & ops.less(labels, ops.cast(num_classes, labels.dtype))
    )
    bad = keep & ~in_range
    ids = ops.where(keep & in_range, ops.cast(labels, "int32"), 0)
    return ids, keep, bad


# The largest n such that every integer in [0, n] is exact in the dtype.
_EXACT_INTEGERS = {"float16": 2**11, "bfloat16": 2**8}


def _check_exact_in(dtype: str, num_classes: int, ignore_class: int | None) -> None:
    """ValueError if class ids of `dtype` could have been rounded to another class."""
    limit = _EXACT_INTEGERS.get(dtype)
    largest = max(num_classes - 1, abs(ignore_class) if ignore_class is not None else 0)
    if limit is not None and largest > limit:
        raise ValueError(
            f"`y_true` holds class ids as {dtype}, which rounds integers above {limit}: "
            f"with {num_classes} classes (ignore_class={ignore_class}) ids would be "
            "silently merged. Give integer ids, or a loss dtype of float32."
        )


def _check_values(values: np.ndarray, num_classes: int, ignore_class: int | None) -> None:
    if values.dtype.kind not in "biuf":
        raise TypeError(f"`y_true` must hold integer class ids; got dtype {values.dtype}.")
    flat = values.reshape(-1).astype(np.float64)
    if ignore_class is not None:
        flat = flat[flat != ignore_class]
    if not flat.size:
        return
    extra = "" if ignore_class is None else f" (or `ignore_class` = {ignore_class})"
    not_whole = ~np.isfinite(flat) | (flat != np.round(flat))
    if np.any(not_whole):
        raise ValueError(
            f"`y_true` must hold whole class ids in [0, {num_classes - 1}]{extra}; got "
            f"{flat[np.argmax(not_whole)]:g}."
        )
    low, high = flat.min(), flat.max()
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"`y_true` must hold class ids in [0, {num_classes - 1}]{extra} for `y_pred` "
            f"with {num_classes} classes; got values from {low:g} to {high:g}."
        )


def finish(loss: Tensor, keep: Tensor, bad: Tensor) -> Tensor:
    """0 where the id is ignored, NaN where it is invalid, the loss elsewhere."""
    loss = ops.where(keep, loss, ops.zeros_like(loss))
    return ops.where(bad, ops.full_like(loss, np.nan), loss)


class SparseLoss(PerSampleLoss):
    """A `PerSampleLoss` whose mean leaves out the samples of `ignore_class`.

    Keras' reductions divide by the number of samples; with `ignore_class` set, the
    "sum_over_batch_size" and "mean" reductions divide by the number of samples that
    are not ignored instead (0 when every sample is ignored), and
    "mean_with_sample_weight" by the weights of those samples, as Keras'
    `SparseCategoricalCrossentropy` does. Sample weights multiply as usual.
    """

    def __call__(
        self, y_true: TensorLike, y_pred: TensorLike, sample_weight: TensorLike | None = None
    ) -> Tensor:
        ignore_class = self._hyper.get("ignore_class")
        if ignore_class is None or self.reduction not in (
            "sum_over_batch_size",
            "mean",
            "mean_with_sample_weight",
        ):
            return super().__call__(y_true, y_pred, sample_weight=sample_weight)
        y_pred_t = ops.convert_to_tensor(y_pred)
        y_true_t = _id_shape(ops.convert_to_tensor(y_true), y_pred_t)
        keep = ops.not_equal(ops.cast(y_true_t, "float32"), ops.cast(ignore_class, "float32"))
        # Samples kept weigh total / kept, so that Keras' division by the number of
        # samples becomes a division by the number kept.
        dtype = self.dtype if keras.backend.is_float_dtype(self.dtype) else "float32"
        total = ops.cast(ops.sum(ops.ones_like(keep, dtype="int32")), dtype)
        kept = ops.sum(ops.cast(keep, dtype))
        if self.reduction == "mean_with_sample_weight":
            # Keras divides by the sum of the weights: weight 0 leaves a sample out.
            weight = ops.cast(keep, dtype)
        else:
            weight = ops.where(keep, ops.divide_no_nan(total, kept), ops.cast(0, dtype))
        if sample_weight is not None:
            sample_weight = ops.cast(ops.convert_to_tensor(sample_weight), dtype)
            rank, weight_rank = len(sample_weight.shape), len(weight.shape)
            if rank == weight_rank + 1 and sample_weight.shape[-1] == 1:
                sample_weight = ops.squeeze(sample_weight, -1)
            while len(sample_weight.shape) < weight_rank:
                sample_weight = ops.expand_dims(sample_weight, -1)
            weight = weight * sample_weight
        return super().__call__(y_true, y_pred, sample_weight=weight)
