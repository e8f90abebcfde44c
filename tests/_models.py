"""A small multi-head model that trains every classification loss at once, on learnable data."""

from __future__ import annotations

import keras
import numpy as np

import kerasloss

C, K, D = 4, 5, 16


def data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype(np.float32)
    onehot = np.eye(C, dtype=np.float32)[np.argmax(x @ rng.normal(size=(D, C)), axis=1)]
    multi_hot = (x @ rng.normal(size=(D, K)) > 0.5).astype(np.float32)
    tables = rng.uniform(0.5, 2.0, size=(n, C, C))
    targets = {
        "cost": onehot,
        "per_example": kerasloss.pack_example_costs(onehot, tables),
        "smooth": onehot,
        "focal": multi_hot,
        "combined": multi_hot,
    }
    return x, targets


def losses():
    table = np.array(
        [[0.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, 1.0], [1.0, 3.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0]]
    )
    table = table + 0.5  # a right answer still costs something, so its loss trains
    return {
        "cost": kerasloss.CostSensitiveCrossentropy(cost_matrix=table, from_logits=True),
        "per_example": kerasloss.CostSensitiveCrossentropy(from_logits=True),
        "smooth": kerasloss.LabelSmoothingCrossentropy(epsilon=0.1, from_logits=True),
        "focal": kerasloss.BinaryFocalLoss(gamma=2.0, alpha=0.25, from_logits=True),
        "combined": kerasloss.CombinedLoss(
            ["binary_crossentropy", kerasloss.BinaryFocalLoss(gamma=1.0, alpha=None)], [0.8, 0.2]
        ),
    }


def build(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((D,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    outputs = {
        "cost": keras.layers.Dense(C, name="cost")(hidden),
        "per_example": keras.layers.Dense(C, name="per_example")(hidden),
        "smooth": keras.layers.Dense(C, name="smooth")(hidden),
        "focal": keras.layers.Dense(K, name="focal")(hidden),
        "combined": keras.layers.Dense(K, activation="sigmoid", name="combined")(hidden),
    }
    return keras.Model(inputs, outputs)
