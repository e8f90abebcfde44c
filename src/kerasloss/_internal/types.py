"""Type aliases for the public signatures: what a reader of `help()` should understand.

Keras accepts the tensors of its active backend, Keras' symbolic tensors, NumPy arrays
and nested Python lists wherever a tensor is expected, and returns backend tensors. No
static type names all of those without importing every backend, so these are `Any` with
a name that says which is meant.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import keras

# An input: a backend tensor, a `keras.KerasTensor`, a NumPy array or nested lists of numbers.
TensorLike: TypeAlias = Any
# An output: a tensor of the active backend (`tf.Tensor`, `jax.Array`, `torch.Tensor`).
Tensor: TypeAlias = Any
# A dtype name ("float32"), a `keras.DTypePolicy`, or None for Keras' default.
DTypeLike: TypeAlias = "str | keras.DTypePolicy | None"
# A `keras.losses.Loss` reduction: "sum_over_batch_size", "sum", "mean", "none" or None.
Reduction: TypeAlias = "str | None"
