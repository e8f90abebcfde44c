"""LossWeightScheduler: the value set at epoch start reaches the compiled train step."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasloss.callbacks.schedule import LossWeightScheduler
from kerasloss.layers import CenterLoss
from kerasloss.metrics import OutputMean

BACKEND = keras.backend.backend()
C, D = 3, 4


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_arguments_are_validated():
    weight = keras.Variable(0.0, trainable=False)
    with pytest.raises(TypeError, match=r"`variable` must be a keras\.Variable"):
        LossWeightScheduler(0.5, lambda epoch: 1.0)
    with pytest.raises(TypeError, match="scalar float variable"):
        LossWeightScheduler(keras.Variable(np.zeros(2)), lambda epoch: 1.0)
    with pytest.raises(TypeError, match="scalar float variable"):
        LossWeightScheduler(keras.Variable(1, dtype="int32", trainable=False), lambda epoch: 1.0)
    with pytest.raises(TypeError, match="`schedule` must be a function"):
        LossWeightScheduler(weight, 1.0)
    with pytest.raises(ValueError, match="`verbose`"):
        LossWeightScheduler(weight, lambda epoch: 1.0, verbose=2)


@pytest.mark.parametrize(
    "value, error",
    [(-1.0, ValueError), (float("nan"), ValueError), ("1", TypeError), (None, TypeError)],
)
def test_a_bad_scheduled_value_is_refused(value, error):
    weight = keras.Variable(0.5, trainable=False)
    callback = LossWeightScheduler(weight, lambda epoch: value)
    with pytest.raises(error, match=r"schedule\(3\).*finite loss weight >= 0"):
        callback.on_epoch_begin(3)
    assert float(_np(weight)) == 0.5


def test_sets_the_value_of_each_epoch():
    weight = keras.Variable(0.5, trainable=False)
    callback = LossWeightScheduler(weight, lambda epoch: [0.0, 2, np.float32(0.25)][epoch])
    seen = []
    for epoch in range(3):
        callback.on_epoch_begin(epoch)
        seen.append(float(_np(weight)))
    assert seen == [0.0, 2.0, 0.25]


@pytest.mark.slow
def test_schedule_reaches_the_compiled_step():
    """Weight 0 leaves gradient-learned centres alone for an epoch, weight 1 moves them.

    The layer starts at weight 1, so a step that kept the value it was traced with
    would move the centres in epoch 0; epoch 2 switches back to 0 after a step has run
    with 1. Compiled with XLA on TensorFlow and jit on JAX; torch runs its default eager
    step: with jit_compile=True (torch.compile) this test passes as well, but compiling
    takes one to two minutes on a two-core machine.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, D)).astype(np.float32)
    y = rng.integers(0, C, size=64)
    keras.utils.set_random_seed(0)
    x_in, y_in = keras.Input((D,)), keras.Input((), dtype="int32")
    layer = CenterLoss(
        C,
        loss_weight=1.0,
        return_center_loss=True,
        centers_initializer=keras.initializers.RandomNormal(seed=1),
        name="center",
    )
    features, center = layer([keras.layers.Dense(D, name="embedding")(x_in), y_in])
    logits = keras.layers.Dense(C, name="logits")(features)
    model = keras.Model([x_in, y_in], {"logits": logits, "center": center})
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),  # no momentum: a zero gradient moves nothing
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        metrics={"center": OutputMean()},
        jit_compile=BACKEND != "torch",
    )
    assert model.jit_compile is (BACKEND != "torch")

    schedule = {0: 0.0, 1: 1.0, 2: 0.0}
    snapshots, weights = [_np(layer.centers).copy()], []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(_np(layer.centers).copy())
            weights.append(float(_np(layer.loss_weight)))

    model.fit(
        [x, y],
        {"logits": y, "center": y},
        batch_size=16,
        epochs=3,
        verbose=0,
        callbacks=[LossWeightScheduler(layer.loss_weight, schedule.__getitem__), Snapshot()],
    )
    assert weights == [0.0, 1.0, 0.0]
    np.testing.assert_array_equal(snapshots[1], snapshots[0])  # weight 0: no gradient
    assert np.abs(snapshots[2] - snapshots[1]).max() > 1e-3  # weight 1: moved
    np.testing.assert_array_equal(snapshots[3], snapshots[2])  # back to 0
