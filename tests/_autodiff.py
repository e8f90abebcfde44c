"""Gradients by the backend's own autodiff, and by central finite differences."""

from __future__ import annotations

import contextlib

import keras
import numpy as np


def float64_context():
    """JAX computes in float32 unless x64 is on; the other backends keep float64 as given."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def autodiff(fn, x):
    """d fn(x) / dx for a scalar-valued fn, as a NumPy array, with x float64."""
    backend = keras.backend.backend()
    x = np.asarray(x, dtype=np.float64)
    if backend == "jax":
        import jax

        with float64_context():
            return np.asarray(jax.grad(lambda v: fn(v))(jax.numpy.asarray(x)))
    if backend == "tensorflow":
        import tensorflow as tf

        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            y = fn(v)
        return tape.gradient(y, v).numpy()
    if backend == "torch":
        import torch

        v = torch.tensor(x, requires_grad=True)
        fn(v).backward()
        return v.grad.numpy()
    raise NotImplementedError(backend)


def finite_differences(fn, x, step=1e-6):
    """Central differences of a NumPy function, in float64."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (fn(up) - fn(down)) / (2 * step)
    return grad
