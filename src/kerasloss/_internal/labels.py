"""Class labels of the layers and functions that index class weights: one rule, one place.

`ArcFace`, `CosFace`, `SphereFace`, `SubCenterArcFace`, `ProxyAnchor`, `ProxyNCA`,
`CenterLoss` and their functions take one class id per embedding, (B,) or (B, 1),
integer or float holding whole numbers. A label that is not a class id in
[0, num_classes) (out of range, fractional, NaN) is handled the same on every backend:

- when its value can be read (NumPy input, eager execution; on torch in every step,
  where a compiled step breaks its graph to read it): a `ValueError` naming `labels`,
  the range [0, num_classes) and the first bad value;
- inside a compiled step where it cannot (JAX `jit`, a TensorFlow graph or XLA), the
  sample is flagged: `class_labels` returns it as id -1, whose one-hot row is zero on
  every backend (so it indexes no class), and the caller makes that sample's loss NaN
  with `poison`, or every value NaN with `poison_all` (the margin heads, whose logits
  go to Keras' sparse cross-entropy: under XLA it gives 0 for an out-of-range target
  whatever that row holds; and a loss that couples the batch). The loss the user sees
  is then NaN, never 0 or another class's value, and
  `keras.callbacks.TerminateOnNaN` stops the run.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.types import Tensor, TensorLike


def _check_values(values: np.ndarray, num_classes: int, name: str = "labels") -> None:
    """ValueError naming `name`, the range and the first bad value, if any value is bad."""
    if values.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold integer class ids; got dtype {values.dtype}.")
    flat = values.reshape(-1).astype(np.float64)
    bad = ~np.isfinite(flat) | (flat != np.round(flat)) | (flat < 0) | (flat >= num_classes)
    if np.any(bad):
        index = int(np.argmax(bad))
        value = flat[index]
        shown = f"{int(value)}" if np.isfinite(value) and value == np.round(value) else f"{value:g}"
        raise ValueError(
            f"`{name}` must be integer class ids in [0, {num_classes}) for {num_classes} "
            f"classes; got {shown} (row {index}; {int(bad.sum())} bad label(s) in all)."
        )


def class_labels(
    labels: TensorLike,
    num_classes: int,
    *,
    batch_size: int | None = None,
    name: str = "labels",
) -> tuple[Tensor, Tensor]:
    """Class ids (B,) int32 and a (B,) bool mask of the invalid ones.

    Labels of shape (B,) or (B, 1), integer or float, are checked whenever their values
    are known (see the module docstring); inside a compiled step an invalid label is
    flagged in the mask and its id is -1. `batch_size`, if given, is the number of
    embeddings the labels must match; `name` is the argument the messages name.
    """
    labels = _checks.label_vector(name, labels, per="embedding")
    if batch_size is not None and labels.shape[0] is not None and labels.shape[0] != batch_size:
        raise ValueError(
            f"`{name}` must have one entry per row of the embeddings ({batch_size}); got "
            f"{labels.shape[0]}."
        )
    dtype = str(labels.dtype)
    if "float" in dtype and dtype not in ("float32", "float64"):
        labels = ops.cast(labels, "float32")  # NumPy cannot read bfloat16 values
    values = _checks._concrete_values(labels)
    if values is not None and values.size:
        _check_values(values, num_classes, name)
    if "float" in str(labels.dtype):
        whole = ops.equal(labels, ops.round(labels))  # False for NaN and inf too
    elif "bool" in str(labels.dtype):
        labels = ops.cast(labels, "int32")
        whole = ops.ones_like(labels, dtype="bool")
    else:
        whole = ops.ones_like(labels, dtype="bool")
    zero = ops.zeros_like(labels)
    in_range = ops.greater_equal(labels, zero) & ops.less(labels, zero + num_classes)
    bad = ops.logical_not(whole & in_range)
    # Cast only the valid ids (a NaN cast to int32 differs by backend).
    ids = ops.cast(ops.where(bad, zero, labels), "int32")
    return ops.where(bad, -ops.ones_like(ids), ids), bad


def safe_ids(ids: Tensor) -> Tensor:
    """`ids` with -1 (an invalid label) replaced by 0, for a gather that must stay defined."""
    return ops.maximum(ids, ops.zeros_like(ids))


def poison(values: Tensor, bad: Tensor) -> Tensor:
    """NaN in the rows of `values` whose label is invalid; `bad` is (B,), values (B, ...).

    The NaN is a constant of `where`, so the gradient of the other rows stays finite:
    the loss shows the problem, and the weights are not corrupted by it.
    """
    while len(bad.shape) < len(values.shape):
        bad = ops.expand_dims(bad, -1)
    return ops.where(bad, ops.full_like(values, np.nan), values)


def poison_all(values: Tensor, bad: Tensor) -> Tensor:
    """NaN in every entry of `values` if any label is invalid (losses that couple the batch)."""
    return ops.where(ops.any(bad), ops.full_like(values, np.nan), values)
