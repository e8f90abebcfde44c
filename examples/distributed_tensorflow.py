"""Triplet loss under TensorFlow's MirroredStrategy: the numbers of one device.

A batch-coupled loss mines its triplets from the whole batch. Under `MirroredStrategy`
each replica runs the loss on its own slice; kerasloss gathers the replicas' embeddings
and labels, so every replica mines from the global batch and the summed gradients are
those of one device. This script trains the same model from the same weights on one
device and on two replicas (two logical CPUs; on a machine with GPUs, pass them to
`MirroredStrategy` instead) and prints the losses and how far apart the weights end.
`per_replica=True` mines within each replica's slice instead, for comparison.

Run:

    KERAS_BACKEND=tensorflow python examples/distributed_tensorflow.py
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf

# Two logical CPU devices, configured before TensorFlow starts its runtime.
CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasloss.losses import TripletLoss  # noqa: E402

GLOBAL_BATCH, STEPS, CLASSES = 32, 4, 4


def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, size=GLOBAL_BATCH * STEPS)
    x = rng.normal(size=(len(y), 8)) + np.eye(CLASSES, 8)[y]
    return x.astype("float32"), y.astype("int32")


def train(strategy, **loss_options):
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((8,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(4)]
        )
        rng = np.random.default_rng(1)  # the same initial weights in every run
        model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
        model.compile(
            optimizer=keras.optimizers.SGD(0.05),
            loss=TripletLoss(margin=0.5, **loss_options),
        )
    x, y = data()
    # The global batch size: MirroredStrategy gives each replica half of every batch.
    history = model.fit(x, y, batch_size=GLOBAL_BATCH, shuffle=False, verbose=0)
    return history.history["loss"][-1], model.get_weights()


if __name__ == "__main__":
    one_loss, one_weights = train(tf.distribute.get_strategy())
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    two_loss, two_weights = train(mirrored)
    local_loss, local_weights = train(mirrored, per_replica=True)
    gap = max(np.abs(a - b).max() for a, b in zip(one_weights, two_weights, strict=True))
    local_gap = max(np.abs(a - b).max() for a, b in zip(one_weights, local_weights, strict=True))
    print(f"one device:              loss {one_loss:.6f}")
    print(f"2 replicas (gathered):   loss {two_loss:.6f}, weights {gap:.1e} from one device")
    print(
        f"2 replicas, per_replica: loss {local_loss:.6f}, weights {local_gap:.1e} from one device"
    )
