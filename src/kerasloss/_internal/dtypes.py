"""The precision policy of every kerasloss loss, written once, and the dtype facts it needs.

Policy, the same in every family (classification, multi-label, metric learning, center,
margin softmax) and on every backend:

- Integer and boolean inputs become Keras' default float type, `keras.config.floatx()`.
- float16 and bfloat16 inputs are computed in float32 and the result is cast back to
  the input's dtype. The loss is the float32 loss of the same, already rounded, inputs,
  rounded once to 16 bits: a log, a power or a sum of a few dozen numbers computed in
  16 bits loses digits at every step (computed so, binary focal loss at p = 0.03 was
  0.14% off in float16 and 0.9% in bfloat16, where rounding the result costs at most
  0.05% and 0.4%).
- float32 stays float32, and float64 stays float64, also off TensorFlow.

This is the policy of the functions. A loss class computes in its own `dtype`, as every
`keras.losses.Loss`: Keras casts `y_true` and `y_pred` to it before `call`, and it is
`keras.config.floatx()` (float32) unless given, whatever the global dtype policy. Under
`mixed_float16` or `mixed_bfloat16` a class therefore gets the 16-bit model output as
float32 and returns a float32 loss, as Keras' own losses do; with `dtype="mixed_float16"`
it gets float16 and the policy above applies. Only the gradient that flows back into
the model is 16-bit: where it is beyond float16's range (BP-MLL at score gaps above
about 11) it is inf of the right sign, never NaN, and Keras' loss scaling skips the step.

A loss therefore starts with `to_working(y_pred)`, which returns the tensor to compute
with and the dtype to return (or with `float_tensor` and `working_dtype`), and ends with
`ops.cast(loss, dtype)`.

float64 on every backend: Keras' type promotion (`keras.backend.result_type`) maps
float64 to float32 off TensorFlow, and some ops follow it for float64 inputs: `matmul`,
`maximum`, `minimum` and `cumsum` on torch (even with `dtype="float64"`), `mean` and
`norm` on torch and JAX (`mean` computes in float32 and casts back), and a Python float
passed to `clip` or `where` on torch becomes a float32 tensor. The code of the losses
uses `einsum` for `matmul`, `positive_part` for `maximum(x, 0)`, and `cumsum`, `mean`
and `constant` from this module, which keep every digit.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasloss._internal.types import DTypeLike, Tensor, TensorLike

# Per dtype: the smallest positive normal number, the largest finite number, and the
# gap between 1 and the next smaller number. `numpy.finfo` does not know bfloat16.
_SMALLEST_NORMAL = {
    "float16": 6.103515625e-05,
    "bfloat16": 1.1754943508222875e-38,
    "float32": 1.1754943508222875e-38,
    "float64": 2.2250738585072014e-308,
}
_LARGEST = {
    "float16": 65504.0,
    "bfloat16": 3.3895313892515355e38,
    "float32": 3.4028234663852886e38,
    "float64": 1.7976931348623157e308,
}
_GAP_BELOW_ONE = {
    "float16": 2.0**-11,
    "bfloat16": 2.0**-8,
    "float32": 2.0**-24,
    "float64": 2.0**-53,
}


def smallest_normal(dtype: DTypeLike) -> float:
    """The smallest positive normal number of a float dtype."""
    return _SMALLEST_NORMAL[keras.backend.standardize_dtype(dtype)]


def largest(dtype: DTypeLike) -> float:
    """The largest finite number of a float dtype."""
    return _LARGEST[keras.backend.standardize_dtype(dtype)]


def unit_roundoff(dtype: DTypeLike) -> float:
    """Half the gap between 1 and the next larger number: 2^-24 for float32."""
    return _GAP_BELOW_ONE[keras.backend.standardize_dtype(dtype)]


def is_float(dtype: DTypeLike) -> bool:
    """Whether `dtype` is one of the float dtypes Keras computes in."""
    return keras.backend.standardize_dtype(dtype) in _LARGEST


def probability_epsilon(dtype: DTypeLike) -> float:
    """How far from 0 and 1 probabilities given in `dtype` are clipped before a log.

    `dtype` is the dtype of the probabilities as the caller gave them, not the dtype
    the loss computes in. Keras' `epsilon()` (1e-7) where `dtype` holds 1 - 1e-7 below
    1 (float32, float64); in float16 and bfloat16 the gap below 1, 2^-11 and 2^-8.

    A 16-bit probability is computed in float32 but keeps the meaning of its 16 bits:
    float16 has no number between 1 - 2^-11 and 1, so p = 1 stands for any probability
    above 1 - 2^-12. Clipped at 1 - 2^-11, -log(1 - p) at p = 1 is 7.6, its value at the
    largest float16 below 1; clipped at float32's 1 - 1e-7 it would be 16.1, a jump of 8.5
    between two neighbouring inputs that their precision cannot justify. It is also the
    clip these losses used when they computed in 16 bits, so saturated 16-bit
    probabilities keep their loss.
    """
    return max(keras.config.epsilon(), _GAP_BELOW_ONE[keras.backend.standardize_dtype(dtype)])


def working_dtype(dtype: DTypeLike) -> str:
    """The dtype to compute in: float32 for 16-bit inputs, the input's dtype otherwise."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def float_tensor(x: TensorLike) -> Tensor:
    """x as a tensor; integer values become Keras' default float type."""
    x = ops.convert_to_tensor(x)
    if not is_float(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    return x


def to_working(x: TensorLike) -> tuple[Tensor, str]:
    """x as a float tensor in its working dtype, and the dtype to cast the result back to."""
    x = float_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    return ops.cast(x, working_dtype(dtype)), dtype


def constant(value: float, dtype: DTypeLike) -> Tensor:
    """A Python number as a tensor of `dtype`.

    Not `ops.cast(value, dtype)`: that goes through float32 first, so a float64
    computation would see 0.3 as 0.30000001.
    """
    return ops.convert_to_tensor(value, dtype=dtype)


def hyper_tensor(value: TensorLike, dtype: DTypeLike) -> Tensor:
    """A hyper-parameter (a number, a list or array of them, or a tensor) in `dtype`.

    Numbers and lists go through float64 NumPy and are rounded once, to `dtype`: not
    through a float32 tensor (`ops.convert_to_tensor` of a list, `ops.cast` of a number),
    which would give a float64 loss 0.10000000149 for 0.1. A tensor or variable is cast.
    """
    if ops.is_tensor(value) or isinstance(value, keras.Variable):
        return ops.cast(value, dtype)
    return ops.convert_to_tensor(np.asarray(value, dtype=np.float64), dtype=dtype)


# ------------------------------------------------------------------ float64 on every backend


def positive_part(x: Tensor) -> Tensor:
    """max(x, 0), with `where`: Keras' `maximum` of float64 tensors rounds to float32 on torch."""
    return ops.where(x > 0, x, ops.zeros_like(x))


def mean(x: Tensor, axis: int = -1) -> Tensor:
    """The mean along `axis` as sum / count: Keras' `mean` of float64 is float32 off TensorFlow."""
    x = ops.convert_to_tensor(x)
    return ops.sum(x, axis=axis) / ops.cast(ops.shape(x)[axis], x.dtype)


def _shifted_sum(x: Tensor, shift: int) -> Tensor:
    """x[..., k] + x[..., k - shift], with x[..., k - shift] = 0 for k < shift."""
    return x + ops.concatenate([ops.zeros_like(x[..., :shift]), x[..., :-shift]], axis=-1)


def cumsum(x: Tensor, axis: int = -1) -> Tensor:
    """Cumulative sum along `axis` in x's dtype, every digit of float64 kept on every backend.

    Keras' torch `cumsum` computes float64 in float32 (casting the result back does not
    bring the digits back, and `dtype="float64"` is promoted to float32 too). float64 is
    summed by a Hillis-Steele scan instead: ceil(log2(n)) shifted additions, no rounding
    beyond float64's own, the same numbers on every backend. Its error is at most
    ceil(log2(n)) * 2^-53 * sum |x|, against (n - 1) * 2^-53 * sum |x| for a running sum.
    An axis of unknown length (TensorFlow tracing) uses `ops.cumsum`, which keeps float64
    on TensorFlow. Other dtypes use `ops.cumsum`.
    """
    x = ops.convert_to_tensor(x)
    width = x.shape[axis]
    if keras.backend.standardize_dtype(x.dtype) != "float64" or width is None:
        return ops.cumsum(x, axis=axis)
    x = ops.moveaxis(x, axis, -1)
    shift = 1
    while shift < width:
        x = _shifted_sum(x, shift)
        shift *= 2
    return ops.moveaxis(x, -1, axis)
