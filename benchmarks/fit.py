"""One `model.fit` step per loss, on the same model, against the same step with Keras' CE.

The model is the one a user would train: two dense layers, SGD, Keras' default
compilation for the backend (`jit_compile="auto"`: XLA on JAX and TensorFlow, eager on
torch). The time is the median of `train_on_batch` calls after warm-up; the ratio to
Keras' CE is the overhead a user feels, model and optimizer included.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

import kerasloss


@dataclasses.dataclass(frozen=True)
class FitCase:
    name: str
    loss: Callable[[int], Any]  # num_classes -> a loss object
    targets: str  # "one_hot", "ids", "multi_hot" or "labels" (class ids for metric learning)


def _table(c: int) -> np.ndarray:
    table = np.ones((c, c), "float32")
    np.fill_diagonal(table, 0.1)
    return table


FIT_CASES: tuple[FitCase, ...] = (
    FitCase(
        "keras_ce", lambda c: keras.losses.CategoricalCrossentropy(from_logits=True), "one_hot"
    ),
    FitCase(
        "cost_sensitive_ce",
        lambda c: kerasloss.CostSensitiveCrossentropy(cost_matrix=_table(c), from_logits=True),
        "one_hot",
    ),
    FitCase(
        "label_smoothing_ce",
        lambda c: kerasloss.LabelSmoothingCrossentropy(from_logits=True),
        "one_hot",
    ),
    FitCase(
        "categorical_focal", lambda c: kerasloss.CategoricalFocalLoss(from_logits=True), "one_hot"
    ),
    FitCase("poly1_ce", lambda c: kerasloss.Poly1Crossentropy(from_logits=True), "one_hot"),
    FitCase("sparsemax", lambda c: kerasloss.SparsemaxLoss(), "one_hot"),
    FitCase("weighted_kappa", lambda c: kerasloss.WeightedKappaLoss(num_classes=c), "one_hot"),
    FitCase(
        "combined_ce_focal",
        lambda c: kerasloss.CombinedLoss(
            [
                keras.losses.CategoricalCrossentropy(from_logits=True),
                kerasloss.CategoricalFocalLoss(from_logits=True),
            ]
        ),
        "one_hot",
    ),
    FitCase(
        "keras_sparse_ce",
        lambda c: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "ids",
    ),
    FitCase(
        "sparse_cost_sensitive_ce",
        lambda c: kerasloss.SparseCostSensitiveCrossentropy(
            cost_matrix=_table(c), from_logits=True
        ),
        "ids",
    ),
    FitCase(
        "sparse_categorical_focal",
        lambda c: kerasloss.SparseCategoricalFocalLoss(from_logits=True),
        "ids",
    ),
    FitCase("keras_bce", lambda c: keras.losses.BinaryCrossentropy(from_logits=True), "multi_hot"),
    FitCase("binary_focal", lambda c: kerasloss.BinaryFocalLoss(from_logits=True), "multi_hot"),
    FitCase("bpmll", lambda c: kerasloss.BPMLLLoss(), "multi_hot"),
    FitCase("asymmetric", lambda c: kerasloss.AsymmetricLoss(from_logits=True), "multi_hot"),
    FitCase("triplet_batch_hard", lambda c: kerasloss.TripletLoss(mining="batch_hard"), "labels"),
    FitCase("triplet_semi_hard", lambda c: kerasloss.TripletLoss(mining="semi_hard"), "labels"),
    FitCase("triplet_batch_all", lambda c: kerasloss.TripletLoss(mining="batch_all"), "labels"),
    FitCase("contrastive", lambda c: kerasloss.ContrastiveLoss(), "labels"),
    FitCase("supcon", lambda c: kerasloss.SupConLoss(), "labels"),
)


# The smoke run (`--quick`) fits only these: a floor and two of ours.
QUICK_FIT = ("keras_ce", "cost_sensitive_ce", "triplet_batch_hard")


def _targets(kind: str, rng: np.random.Generator, b: int, c: int) -> np.ndarray:
    ids = rng.integers(0, c, size=b)
    if kind == "one_hot":
        return np.eye(c, dtype="float32")[ids]
    if kind == "multi_hot":
        y = (rng.random((b, c)) < 0.2).astype("float32")
        y[:, 0], y[:, -1] = 1.0, 0.0
        return y
    return ids.astype("int32")


def run_fit_case(
    case: FitCase, *, batch: int, features: int, classes: int, warmup: int, repeats: int
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": case.name,
        "group": "fit",
        "kind": "keras" if case.name.startswith("keras_") else "ours",
        "sizes": {"B": batch, "F": features, "C": classes},
        "mode": "model.fit",
    }
    rng = np.random.default_rng(0)
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((features,)),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(classes),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss=case.loss(classes))
        x = rng.normal(size=(batch, features)).astype("float32")
        y = _targets(case.targets, rng, batch, classes)
        start = time.perf_counter()
        model.train_on_batch(x, y)
        record["build_and_first_call_s"] = time.perf_counter() - start
        for _ in range(max(warmup - 1, 0)):
            model.train_on_batch(x, y)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
        record["times_s"] = times
        record["median_s"] = statistics.median(times)
        record["min_s"] = min(times)
        record["repeats"] = len(times)
    except Exception as error:
        record["error"] = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}"
    finally:
        keras.backend.clear_session()
    return record
