"""Dtype facts the maths needs, for every float dtype Keras computes in."""

from __future__ import annotations

import keras

# Smallest positive normal number per dtype. `numpy.finfo` does not know bfloat16,
# which has float32's exponent range.
_SMALLEST_NORMAL = {
    "float16": 6.103515625e-05,
    "bfloat16": 1.1754943508222875e-38,
    "float32": 1.1754943508222875e-38,
    "float64": 2.2250738585072014e-308,
}


def smallest_normal(dtype) -> float:
    return _SMALLEST_NORMAL[keras.backend.standardize_dtype(dtype)]
