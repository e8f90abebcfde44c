"""Dtype facts the maths needs, for every float dtype Keras computes in."""

from __future__ import annotations

import keras
from keras import ops

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


def smallest_normal(dtype) -> float:
    return _SMALLEST_NORMAL[keras.backend.standardize_dtype(dtype)]


def largest(dtype) -> float:
    return _LARGEST[keras.backend.standardize_dtype(dtype)]


def probability_epsilon(dtype) -> float:
    """How far from 0 and 1 probabilities are clipped before a log.

    Keras' `epsilon()` (1e-7) where the dtype can hold 1 - epsilon below 1; in float16
    and bfloat16 1 - 1e-7 rounds to 1, so the clip would let log(1 - p) reach log(0), and
    the gap below 1 is used instead.
    """
    return max(keras.config.epsilon(), _GAP_BELOW_ONE[keras.backend.standardize_dtype(dtype)])


def is_float(dtype) -> bool:
    return keras.backend.standardize_dtype(dtype) in _LARGEST


def working_dtype(dtype) -> str:
    """The dtype to compute in: float32 for 16-bit inputs, the input's dtype otherwise."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def float_tensor(x):
    """x as a tensor; integer values become Keras' default float type."""
    x = ops.convert_to_tensor(x)
    if not is_float(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    return x


def constant(value, dtype):
    """A Python number as a tensor of `dtype`.

    Not `ops.cast(value, dtype)`: that goes through float32 first, so a float64
    computation would see 0.3 as 0.30000001.
    """
    return ops.convert_to_tensor(value, dtype=dtype)


# ------------------------------------------------------------------ float64 on every backend
# Keras' type promotion computes some ops on two float64 tensors in float32 off TensorFlow
# (`maximum` on JAX and torch; `matmul` and `cumsum` on torch). These keep float64.


def positive_part(x):
    """max(x, 0), with `where`: Keras' `maximum` of float64 tensors rounds to float32 on torch."""
    return ops.where(x > 0, x, ops.zeros_like(x))


def cumsum(x, axis: int = -1):
    """Cumulative sum along `axis` in x's dtype (Keras' torch `cumsum` returns float32)."""
    return ops.cast(ops.cumsum(x, axis=axis), x.dtype)
