"""Where a loss runs on one replica of a data-parallel step: the gather across replicas.

This is the one module of kerasloss that touches a backend's own API, and only inside
its functions, after asking Keras which backend is active: `import kerasloss` loads no
framework, and off a distributed run every function here returns its input or None.

- TensorFlow, `tf.distribute.MirroredStrategy` (and the other strategies that run the
  step once per replica): each replica computes the loss of its own slice of the
  global batch. `ReplicaContext.all_gather` concatenates the replicas' slices in
  replica order; its gradient is the sum over replicas of the gradients of the
  gathered rows, sent back to the replica that owns them.
- torch, `torch.distributed` with a process group of more than one rank (DDP): each
  rank computes the loss of its own slice. An all-gather concatenates them in rank order,
  with the same summed gradient (its backward all-reduces the gradient).
- JAX: Keras' `keras.distribution` (DataParallel, ModelParallel) compiles one program
  for the global batch, so a loss already sees every replica's rows: nothing to gather.
  `jax_shards` gives the number of data-parallel shards, for per-replica mining.

Why the local values of the gathered batch give single-device training: a batch loss
returns per-anchor values whose mean over the global batch is the loss L. Each
replica returns the values of its own anchors, so their mean over a replica, averaged
over the replicas (equal slices), is L. TensorFlow's Keras divides each replica's mean
by the number of replicas R and sums the gradients; DDP averages them; and the
gather's backward sums, into each replica's rows, the gradients that every replica's
loss sends to them. Both give the gradient of L.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
from keras import ops

from kerasloss._internal.types import Tensor


class Replica(NamedTuple):
    """This replica's place in a step that runs once per replica."""

    total: int  # the number of replicas in sync (> 1)
    index: Any  # this replica's position, 0 <= index < total (an int or a scalar tensor)


def current() -> Replica | None:
    """This replica, when the loss runs per replica and must gather; else None.

    None outside any distribution, on one replica, in TensorFlow's cross-replica
    context (the model's symbolic build) and always on JAX, whose distributed step
    already sees the global batch.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return None
        return Replica(context.num_replicas_in_sync, context.replica_id_in_sync_group)
    if backend == "torch":
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return None
        return Replica(dist.get_world_size(), dist.get_rank())
    return None


def gather(x: Tensor) -> Tensor:
    """Every replica's `x` concatenated along axis 0, in replica order.

    Call it only where `current()` is not None, on every replica (it is a collective),
    with the same shape on each. The gradient of the result reaches each replica's own
    `x`, summed over the replicas that used it.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_replica_context().all_gather(x, axis=0)
    if backend == "torch":
        return _torch_gather()(ops.convert_to_tensor(x))
    raise RuntimeError(f"no per-replica gather on the {backend} backend.")


@functools.cache
def _torch_gather() -> Callable[[Tensor], Tensor]:
    """torch's all-gather along axis 0 whose backward sums the gradient over the ranks.

    Not `torch.distributed.nn.functional.all_gather`: it is deprecated, and on gloo
    (torch 2.13) its backward receives a non-contiguous gradient (an einsum's backward
    can give a transposed one) into buffers of the same strides, which gloo fills as if
    they were contiguous, so the gradient arrives scrambled.
    """
    import torch
    import torch.distributed as dist

    class Gather(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            x = x.contiguous()
            parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, x)
            ctx.rows = x.shape[0]
            return torch.cat(parts, dim=0)

        @staticmethod
        def backward(ctx: Any, gradient: Tensor) -> Tensor:
            total = gradient.contiguous().clone()
            dist.all_reduce(total, op=dist.ReduceOp.SUM)
            start = dist.get_rank() * ctx.rows
            return total[start : start + ctx.rows]

    return Gather.apply


def local_rows(values: Tensor, replica: Replica, size: Any) -> Tensor:
    """The `size` rows of `values` (gathered in replica order) that belong to `replica`."""
    start = ops.cast(replica.index, "int32") * ops.cast(size, "int32")
    return ops.take(values, start + ops.arange(size, dtype="int32"), axis=0)


def sum_over_replicas(x: Tensor) -> Tensor:
    """The sum of `x` over the replicas of a per-replica step (no gradient); else `x`.

    Statistics such as CenterLoss's class counts and sums go through it, so every
    replica computes the same update from the global batch.
    """
    if current() is None:
        return x
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(x))
    import torch.distributed as dist

    total = ops.convert_to_tensor(x).detach().clone().contiguous()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def jax_shards() -> int:
    """How many data-parallel shards a JAX `keras.distribution` splits the batch into.

    1 on other backends and without a distribution. The compiled step sees the global
    batch, shard after shard, so shard i holds rows [i * B / n, (i + 1) * B / n).
    """
    if keras.backend.backend() != "jax":
        return 1
    distribution = keras.distribution.distribution()
    name = getattr(distribution, "batch_dim_name", None)
    if distribution is None or name is None:
        return 1
    mesh = distribution.device_mesh
    return int(mesh.shape[list(mesh.axis_names).index(name)])
