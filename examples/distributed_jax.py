"""Triplet loss and CenterLoss with Keras' DataParallel on JAX: the numbers of one device.

On JAX, `keras.distribution.DataParallel` compiles one program for the global batch
and shards it over the devices, so a batch-coupled loss already mines the whole batch
and CenterLoss's alpha rule already sees every example: nothing to gather. This script
trains the same model from the same weights on one device and over 8 simulated CPU
devices and prints the losses and how far apart the weights end.

Run:

    KERAS_BACKEND=jax python examples/distributed_jax.py

Across processes (here two on localhost, 4 devices each), every process runs the same
script with its own id; `keras.distribution.initialize` joins them, and with
`DataParallel(..., auto_shard_dataset=False)` each process feeds its own half of every
global batch:

    XLA_FLAGS=--xla_force_host_platform_device_count=4 KERAS_BACKEND=jax \\
        python examples/distributed_jax.py --process 0 &
    XLA_FLAGS=--xla_force_host_platform_device_count=4 KERAS_BACKEND=jax \\
        python examples/distributed_jax.py --process 1
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
PROCESS = int(sys.argv[sys.argv.index("--process") + 1]) if "--process" in sys.argv else None
# Simulated CPU devices, set before JAX starts.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasloss.layers import CenterLoss  # noqa: E402
from kerasloss.losses import TripletLoss  # noqa: E402

GLOBAL_BATCH, STEPS, CLASSES = 32, 4, 4


def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, size=GLOBAL_BATCH * STEPS)
    x = rng.normal(size=(len(y), 8)) + np.eye(CLASSES, 8)[y]
    return x.astype("float32"), y.astype("int32")


def train(x, y, batch_size=GLOBAL_BATCH):
    x_in, y_in = keras.Input((8,)), keras.Input((), dtype="int32")
    hidden = keras.layers.Dense(16, activation="tanh")(x_in)
    hidden = CenterLoss(CLASSES, loss_weight=0.1, alpha=0.5, name="center")([hidden, y_in])
    model = keras.Model([x_in, y_in], keras.layers.Dense(4)(hidden))
    rng = np.random.default_rng(1)  # the same initial weights in every run
    for v in model.trainable_weights:
        v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss=TripletLoss(margin=0.5))
    history = model.fit([x, y], y, batch_size=batch_size, shuffle=False, verbose=0)
    return history.history["loss"][-1], [keras.ops.convert_to_numpy(w) for w in model.weights]


if __name__ == "__main__":
    x, y = data()
    if PROCESS is None:
        one_loss, one_weights = train(x, y)
        with keras.distribution.DataParallel(devices=jax.devices()).scope():
            dp_loss, dp_weights = train(x, y)
        gap = max(np.abs(a - b).max() for a, b in zip(one_weights, dp_weights, strict=True))
        print(f"one device:  loss {one_loss:.6f}")
        print(f"{len(jax.devices())} devices:   loss {dp_loss:.6f}, weights {gap:.1e} apart")
    else:
        keras.distribution.initialize("localhost:12391", num_processes=2, process_id=PROCESS)
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
        )
        half = GLOBAL_BATCH // 2
        mine = np.concatenate(
            [
                np.arange(
                    s * GLOBAL_BATCH + PROCESS * half, s * GLOBAL_BATCH + (PROCESS + 1) * half
                )
                for s in range(STEPS)
            ]
        )
        loss, weights = train(x[mine], y[mine], batch_size=half)
        print(f"process {PROCESS} of 2, {len(jax.devices())} devices: loss {loss:.6f}")
