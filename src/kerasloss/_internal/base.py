"""The piece every loss class shares: a `keras.losses.Loss` around a per-sample function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from kerasloss._internal import replicas as _replicas
from kerasloss._internal.checks import check_bool
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike


class PerSampleLoss(keras.losses.Loss):
    """Applies `fn(y_true, y_pred, **hyper)`, which returns one value per sample.

    `keras.losses.Loss.__call__` adds reduction, `sample_weight`, masking and the dtype
    policy. Subclasses validate their hyper-parameters and pass them here, so that
    `get_config` always holds every constructor argument.
    """

    def __init__(
        self,
        fn: Callable[..., Tensor],
        *,
        name: str,
        reduction: Reduction,
        dtype: DTypeLike,
        **hyper: Any,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._fn = fn
        self._hyper = hyper

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        """The per-sample values of `fn`, which `keras.losses.Loss.__call__` reduces."""
        return self._fn(y_true, y_pred, **self._hyper)

    def get_config(self) -> dict[str, Any]:
        """Keras' config plus every hyper-parameter (arrays as nested lists, for JSON)."""
        config: dict[str, Any] = super().get_config()
        config["dtype"] = self.dtype
        for key, value in self._hyper.items():
            config[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return config


class PairLoss(PerSampleLoss):
    """A batch loss whose formula needs only the anchors' `Pairs` (`_internal/pairs.py`).

    `fn(y_true, y_pred, **hyper)` is the public function (the batch is its own reference
    set); `from_pairs(pairs, **hyper)` computes the per-anchor values from any `Pairs`,
    which is how `kerasloss.layers.CrossBatchMemory` runs the loss against its memory.

    In a data-parallel step the batch is the global batch (`_internal/replicas.py`):
    each replica gathers every replica's labels and embeddings and returns the values
    of its own anchors against all of them, so the loss and the gradients equal
    single-device training. `per_replica=True` keeps each replica to its own slice.
    """

    def __init__(
        self,
        fn: Callable[..., Tensor],
        from_pairs: Callable[..., Tensor],
        *,
        name: str,
        reduction: Reduction,
        dtype: DTypeLike,
        per_replica: bool = False,
        **hyper: Any,
    ) -> None:
        super().__init__(fn, name=name, reduction=reduction, dtype=dtype, **hyper)
        self._from_pairs = from_pairs
        self.per_replica = check_bool("per_replica", per_replica)

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> Tensor:
        """The per-anchor values of this replica's anchors against the global batch."""
        replica = None if self.per_replica else _replicas.current()
        if replica is not None:
            size = ops.shape(y_pred)[0]
            labels, embeddings = _replicas.gather(y_true), _replicas.gather(y_pred)
            return _replicas.local_rows(self._fn(labels, embeddings, **self._hyper), replica, size)
        shards = _replicas.jax_shards() if self.per_replica else 1
        if shards > 1 and y_pred.shape[0] is not None and y_pred.shape[0] % shards == 0:
            # JAX compiles the global batch: per-replica mining is one loss per shard.
            size = y_pred.shape[0] // shards
            parts = [slice(i * size, (i + 1) * size) for i in range(shards)]
            return ops.concatenate(
                [self._fn(y_true[p], y_pred[p], **self._hyper) for p in parts], axis=0
            )
        return self._fn(y_true, y_pred, **self._hyper)

    def get_config(self) -> dict[str, Any]:
        """Keras' config, every hyper-parameter and `per_replica`."""
        config = super().get_config()
        config["per_replica"] = self.per_replica
        return config

    def loss_from_pairs(self, pairs: Any) -> Tensor:
        """Per-anchor values, (B,), of the anchors of `pairs` against its reference set."""
        return self._from_pairs(pairs, **self._hyper)
