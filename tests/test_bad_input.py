"""Bad input gives a clear error or a documented value, the same on every backend.

One test (or a few) per row of docs/bad-input.md that this module owns. Expected values
come from NumPy written from the formulas.
"""

from __future__ import annotations

import re
import warnings

import keras
import numpy as np
import pytest

import kerasloss
from kerasloss.callbacks import LossWeightScheduler
from kerasloss.losses import focal
from kerasloss.metrics import HammingLoss, PackedLabelsMetric, hamming_loss

BACKEND_TEXT = re.compile(r"Traceback|jax\.|tensorflow|torch\.|tf\.|XLA|Tracer", re.IGNORECASE)


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _clean(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert not BACKEND_TEXT.search(text), text
    return text


# ------------------------------------------------- probabilities and targets out of range

LOGITS = np.array([[2.5, -1.0], [-3.0, 0.5]], "float32")
PROBS = np.array([[0.7, 0.2], [0.1, 0.6]], "float32")
BINARY = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
ONE_HOT = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")

# name, loss(y_true, y_pred, from_logits), targets checked
PROBABILITY_LOSSES = {
    "binary_focal_loss": (
        lambda t, p, fl: kerasloss.binary_focal_loss(t, p, from_logits=fl),
        True,
    ),
    "BinaryFocalLoss": (lambda t, p, fl: kerasloss.BinaryFocalLoss(from_logits=fl)(t, p), True),
    "categorical_focal_loss": (
        lambda t, p, fl: focal.categorical_focal_loss(t, p, from_logits=fl),
        True,
    ),
    "sparse_categorical_focal_loss": (
        lambda t, p, fl: focal.sparse_categorical_focal_loss(np.argmax(t, -1), p, from_logits=fl),
        False,
    ),
    "cost_sensitive_crossentropy": (
        lambda t, p, fl: kerasloss.CostSensitiveCrossentropy(
            cost_matrix=np.ones((2, 2)), from_logits=fl
        )(t, p),
        True,
    ),
    "label_smoothing_crossentropy": (
        lambda t, p, fl: kerasloss.LabelSmoothingCrossentropy(from_logits=fl)(t, p),
        True,
    ),
}


@pytest.mark.parametrize("name", PROBABILITY_LOSSES)
def test_logits_given_as_probabilities_are_an_error(name):
    loss, _ = PROBABILITY_LOSSES[name]
    with pytest.raises(ValueError, match=r"`y_pred` must hold values in \[0, 1\]") as err:
        loss(ONE_HOT, LOGITS, False)
    text = _clean(err)
    assert "from -3 to 2.5" in text and "from_logits=True" in text
    # The same numbers as logits are fine, and so are probabilities.
    assert np.all(np.isfinite(_np(loss(ONE_HOT, LOGITS, True))))
    assert np.all(np.isfinite(_np(loss(ONE_HOT, PROBS, False))))


@pytest.mark.parametrize("name", [n for n, (_, targets) in PROBABILITY_LOSSES.items() if targets])
@pytest.mark.parametrize("scale", ["plus_minus_one", "byte_mask"])
def test_targets_outside_zero_one_are_an_error(name, scale):
    loss, _ = PROBABILITY_LOSSES[name]
    y_true = 2.0 * ONE_HOT - 1.0 if scale == "plus_minus_one" else 255.0 * ONE_HOT
    with pytest.raises(ValueError, match=r"`y_true` must hold values in \[0, 1\]") as err:
        loss(y_true, PROBS, False)
    text = _clean(err)
    low, high = (-1, 1) if scale == "plus_minus_one" else (0, 255)
    assert f"from {low} to {high}" in text


def test_binary_focal_hint_names_the_mappings():
    with pytest.raises(ValueError) as err:
        kerasloss.binary_focal_loss([[255.0, 0.0]], [[0.3, 0.2]])
    assert "y / 255" in str(err.value) and "(y + 1) / 2" in str(err.value)


def test_nan_still_reaches_the_loss():
    value = _np(kerasloss.binary_focal_loss(BINARY, np.array([[np.nan, 0.2], [0.1, 0.6]])))
    assert np.isnan(value[0]) and np.isfinite(value[1])


def _binary_focal_reference(y, z, gamma=2.0, alpha=0.25):
    """Binary focal loss from logits, per sample, from the paper's formula."""
    y, z = np.asarray(y, np.float64), np.asarray(z, np.float64)
    p = 1.0 / (1.0 + np.exp(-z))
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    p_t = y * p + (1 - y) * (1 - p)
    alpha_t = alpha * y + (1 - alpha) * (1 - y)
    return np.sum(alpha_t * (1 - p_t) ** gamma * bce, axis=-1)


def test_probabilities_given_as_logits_cannot_be_detected():
    # Documented: numbers in [0, 1] are valid logits, so the loss takes them as logits.
    value = _np(kerasloss.binary_focal_loss(BINARY, PROBS, from_logits=True))
    np.testing.assert_allclose(value, _binary_focal_reference(BINARY, PROBS), rtol=1e-5)


def test_values_are_checked_only_where_they_are_known():
    # Documented: the check needs concrete values. JAX and TensorFlow trace the step, so
    # the check cannot run there; torch runs Keras' step eagerly, so it raises.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Identity()])
    model.compile(loss=kerasloss.BinaryFocalLoss())
    if keras.backend.backend() == "torch":
        with pytest.raises(ValueError, match=r"`y_pred` must hold values in \[0, 1\]"):
            model.evaluate(LOGITS, BINARY, verbose=0)
    else:
        assert np.isfinite(model.evaluate(LOGITS, BINARY, verbose=0))


# ------------------------------------------------------------------------- Hamming loss


def test_hamming_loss_without_threshold_warns_and_keeps_zero():
    y = np.array([[1, 0, 1, 0]], "float32")
    s = np.array([[0.9, 0.7, 0.2, 0.1]], "float32")  # sigmoid outputs
    with pytest.warns(DeprecationWarning, match=r"threshold=0\.5"):
        metric = HammingLoss()
    metric.update_state(y, s)
    assert float(metric.result()) == pytest.approx(np.mean(y != (s > 0.0)))  # 0.5, old cut
    with pytest.warns(DeprecationWarning, match="threshold"):
        values = hamming_loss(y, s)
    np.testing.assert_allclose(_np(values), [0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = HammingLoss(threshold=0.5)
        explicit.update_state(y, s)
        assert float(explicit.result()) == pytest.approx(np.mean(y != (s > 0.5)))  # 0.25
        assert HammingLoss.from_config(metric.get_config()).threshold == 0.0


# -------------------------------------------------------------- packed cost tables


def _packed_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    ids = rng.integers(0, 3, n)
    # Zero diagonal, costs 2 to 4 elsewhere: the argmax of a packed row is never its label.
    tables = rng.uniform(2.0, 4.0, size=(n, 3, 3)) * (1 - np.eye(3))
    return x, ids, tables


def test_pack_example_costs_applies_class_weight_to_the_rows():
    _, ids, tables = _packed_data(6)
    weights = {1: 5.0, 2: 0.5}
    packed = kerasloss.pack_example_costs(ids, tables, class_weight=weights)
    row = np.array([1.0, 5.0, 0.5])
    np.testing.assert_allclose(
        packed[:, 3:].reshape(6, 3, 3), (tables * row[:, None]).astype("float32"), rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"class_weight.*\[0, 2\]"):
        kerasloss.pack_example_costs(ids, tables, class_weight={3: 1.0})
    with pytest.raises(ValueError, match=r"class_weight\[0\]"):
        kerasloss.pack_example_costs(ids, tables, class_weight={0: -1.0})
    with pytest.raises(TypeError, match="class_weight"):
        kerasloss.pack_example_costs(ids, tables, class_weight=[1.0, 2.0, 3.0])


def test_packed_labels_metric_reads_the_labels():
    _, ids, tables = _packed_data(8)
    y = kerasloss.pack_example_costs(ids, tables)
    scores = np.eye(3, dtype="float32")[(ids + np.arange(8) % 2) % 3]  # every other one wrong
    metric = PackedLabelsMetric("accuracy", num_classes=3)
    metric.update_state(y, scores)
    assert float(metric.result()) == pytest.approx(np.mean(np.argmax(scores, -1) == ids))
    plain = keras.metrics.CategoricalAccuracy()
    plain.update_state(y, np.pad(scores, ((0, 0), (0, 9))))
    assert float(plain.result()) == 0.0  # what Keras reads from the packed rows
    with pytest.raises(ValueError, match=r"C \+ C\*C = 12"):
        metric.update_state(y[:, :6], scores)
    with pytest.raises(TypeError, match="num_classes"):
        PackedLabelsMetric("accuracy", num_classes=3.0)


@pytest.mark.slow
def test_class_weight_with_packed_tables_warns_and_metric_reads_labels(tmp_path):
    x, ids, tables = _packed_data()
    y = kerasloss.pack_example_costs(ids, tables)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer="sgd",
        loss=kerasloss.CostSensitiveCrossentropy(from_logits=True),
        metrics=[PackedLabelsMetric("accuracy", num_classes=3), "accuracy"],
        jit_compile=keras.backend.backend() != "torch",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, class_weight={1: 5.0}, epochs=2, batch_size=16, verbose=0)
    ours = [w for w in caught if "pack_example_costs" in str(w.message)]
    assert len(ours) == 1 and issubclass(ours[0].category, UserWarning)
    truth = np.mean(np.argmax(model.predict(x, verbose=0), -1) == ids)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(truth)  # the wrapper
    assert logs["accuracy_1"] == pytest.approx(0.0)  # Keras' accuracy on packed rows
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "packed.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(truth)


# ---------------------------------------------------------------------------- messages


def test_triplet_margin_loss_names_its_own_arguments():
    rng = np.random.default_rng(0)
    a, n = (rng.normal(size=(8, 4)).astype("float32") for _ in range(2))
    p = rng.normal(size=(7, 4)).astype("float32")
    with pytest.raises(ValueError) as err:
        kerasloss.losses.triplet_margin_loss(a, p, n)
    text = _clean(err)
    assert "`positive` must have shape (8, 4) to match `anchor`" in text
    assert "y_true" not in text and "y_pred" not in text


def test_triplet_layer_says_how_many_inputs_it_got():
    a = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"three .* embeddings; got a list of 2"):
        kerasloss.layers.TripletMarginLossLayer()([a, a])


def test_schedule_with_learning_rate_signature_is_refused_at_construction():
    variable = keras.Variable(0.0, trainable=False)
    with pytest.raises(TypeError, match=r"schedule\(epoch\) -> float.*\(epoch, lr\)"):
        LossWeightScheduler(variable, lambda epoch, lr: 0.1)
    LossWeightScheduler(variable, lambda epoch, lr=None: 0.1)  # one argument is enough


def test_scheduler_prints_only_changes(capsys):
    variable = keras.Variable(0.0, trainable=False)
    callback = LossWeightScheduler(variable, lambda epoch: 0.01 if epoch else 0.0, verbose=1)
    for epoch in range(4):
        callback.on_epoch_begin(epoch)
    assert capsys.readouterr().out.count("LossWeightScheduler sets") == 1


def test_cost_table_for_fewer_classes_names_shape_and_class_count():
    loss = kerasloss.CostSensitiveCrossentropy(cost_matrix=np.ones((2, 2)))  # accepted
    with pytest.raises(ValueError) as err:
        loss(np.eye(3)[[0, 1]], np.full((2, 3), 1 / 3, "float32"))
    text = _clean(err)
    assert "(3, 3)" in text and "got shape (2, 2)" in text and "(3)" in text


def test_one_hot_hint_only_for_class_ids():
    loss = kerasloss.LabelSmoothingCrossentropy()
    y_pred = np.full((2, 3), 1 / 3, "float32")
    with pytest.raises(ValueError) as err:
        loss(np.eye(4, dtype="float32")[[0, 1]], y_pred)  # a one-hot of the wrong width
    assert "got shape (2, 4)" in str(err.value) and "one-hot encoded" not in str(err.value)
    with pytest.raises(ValueError, match="one-hot encoded"):
        loss(np.array([[0.0], [2.0]], "float32"), y_pred)  # class ids


# ---------------------------------------------------------------- 16-bit probabilities


@pytest.mark.parametrize(
    ("dtype", "floor"),
    [("float16", 2.0**-11), ("bfloat16", 2.0**-8), ("float32", 1e-7), ("float64", 1e-7)],
)
def test_cross_entropy_floor_per_dtype(dtype, floor):
    # Documented in the README: probabilities are clipped to [eps, 1 - eps] with eps the
    # gap below 1 of a 16-bit dtype, so -log(p) of a tiny 16-bit p stops at -log(eps).
    y_true = np.array([[1.0, 0.0]], "float32")
    y_pred = keras.ops.cast(np.array([[1e-5, 1.0 - 1e-5]]), dtype)
    loss = kerasloss.LabelSmoothingCrossentropy(epsilon=0.0, dtype=dtype)
    expected = -np.log(max(floor, 1e-5))
    value = float(_np(keras.ops.cast(loss(y_true, y_pred), "float32")))
    assert value == pytest.approx(expected, rel=2.0**-7)


# --------------------------------------------------------------------- string names


def test_registered_string_names_are_not_loss_identifiers_in_keras():
    # Documented: keras.losses.get looks strings up among Keras' built-ins only.
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        keras.losses.get("kerasloss>CostSensitiveCrossentropy")
    config = {"class_name": "kerasloss>CostSensitiveCrossentropy", "config": {}}
    assert isinstance(keras.losses.get(config), kerasloss.CostSensitiveCrossentropy)
    cls = keras.saving.get_registered_object("kerasloss>CostSensitiveCrossentropy")
    assert cls is kerasloss.CostSensitiveCrossentropy


@pytest.mark.slow
def test_compile_by_registered_object_trains_and_reloads(tmp_path):
    x, ids, tables = _packed_data(32)
    y = kerasloss.pack_example_costs(ids, tables)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        model.compile(optimizer="sgd", loss="kerasloss>CostSensitiveCrossentropy")
        model.fit(x, y, epochs=1, verbose=0)
    loss = keras.saving.get_registered_object("kerasloss>CostSensitiveCrossentropy")
    model.compile(optimizer="sgd", loss=loss(from_logits=True))
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    path = tmp_path / "by_name.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.loss, kerasloss.CostSensitiveCrossentropy)
    np.testing.assert_allclose(
        restored.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
    )
