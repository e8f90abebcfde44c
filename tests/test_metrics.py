"""The multi-label metrics against scikit-learn (and a NumPy loop for one-error): the
per-example functions, the classes that average them, and what callbacks read off them."""

from __future__ import annotations

import functools
import inspect
import json

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

import _reference as ref
import kerasloss
from kerasloss.metrics import (
    CoverageError,
    HammingLoss,
    LabelRankingAveragePrecision,
    LabelRankingLoss,
    OneError,
    coverage_error,
    hamming_loss,
    label_ranking_average_precision,
    label_ranking_loss,
    multilabel,
    one_error,
)


def _one_error(y_true, scores, sample_weight=None):
    return np.average(ref.one_error(y_true, scores), weights=sample_weight)


def _hamming(threshold):
    def reference(y_true, scores, sample_weight=None):
        return skm.hamming_loss(y_true, scores > threshold, sample_weight=sample_weight)

    return reference


# metric factory, reference(y_true, scores, sample_weight)
METRICS = {
    "hamming": (lambda: HammingLoss(threshold=0.0), _hamming(0.0)),
    "hamming_half": (lambda: HammingLoss(threshold=0.5, name="hamming_half"), _hamming(0.5)),
    "ranking_loss": (LabelRankingLoss, skm.label_ranking_loss),
    "one_error": (OneError, _one_error),
    "coverage": (CoverageError, skm.coverage_error),
    "lrap": (LabelRankingAveragePrecision, skm.label_ranking_average_precision_score),
}
each_metric = pytest.mark.parametrize("key", list(METRICS))


def _value(metric, y_true, scores, sample_weight=None):
    metric.reset_state()
    metric.update_state(y_true, scores, sample_weight=sample_weight)
    return float(keras.ops.convert_to_numpy(metric.result()))


# A few shapes only: JAX compiles each operation anew for every shape it meets.
SHAPES = [(24, 7), (9, 2), (17, 11)]


def _random_cases(seed, count=12):
    """Scores with heavy ties (few distinct values) and without; rows with no and all labels."""
    rng = np.random.default_rng(seed)
    for trial in range(count):
        b, c = SHAPES[trial % len(SHAPES)]
        if trial % 4 == 0:
            scores = rng.normal(size=(b, c))
        else:
            scores = rng.integers(-2, int(rng.integers(-1, 3)), size=(b, c)) / 2.0
        y_true = (rng.uniform(size=(b, c)) < rng.uniform(0.1, 0.9)).astype(np.float32)
        y_true[0] = 0.0
        y_true[1] = 1.0
        weights = rng.uniform(0.0, 2.0, size=b).astype(np.float32)
        yield y_true, scores.astype(np.float32), weights


@each_metric
def test_matches_the_reference_with_ties_and_edge_rows(key):
    make, reference = METRICS[key]
    metric = make()
    for y_true, scores, weights in _random_cases(seed=len(key)):
        np.testing.assert_allclose(
            _value(metric, y_true, scores), reference(y_true, scores), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            _value(metric, y_true, scores, weights),
            reference(y_true, scores, sample_weight=weights),
            rtol=1e-5,
            atol=1e-6,
        )


# y_true, scores: a tied row, a row with no relevant label, a row with all labels relevant
EDGE_Y = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 1, 0]], np.float32)
EDGE_S = np.array([[1, 1, 1], [3, 2, 1], [0, 5, 1], [0.2, 0.9, 0.9]], np.float32)
EDGE_EXPECTED = {  # per row, worked out by hand from the docstrings' conventions
    "ranking_loss": [1.0, 0.0, 0.0, 0.5],
    "coverage": [3.0, 0.0, 3.0, 2.0],
    "lrap": [1 / 3, 1.0, 1.0, 0.5],
    "one_error": [0.0, 1.0, 0.0, 0.0],
    "hamming": [2 / 3, 1.0, 1 / 3, 2 / 3],  # every score but one is > 0
}


@pytest.mark.parametrize("key", list(EDGE_EXPECTED))
def test_edge_rows_follow_the_documented_conventions(key):
    make, reference = METRICS[key]
    for row, expected in enumerate(EDGE_EXPECTED[key]):
        y_true, scores = EDGE_Y[row : row + 1], EDGE_S[row : row + 1]
        assert _value(make(), y_true, scores) == pytest.approx(expected, abs=1e-6)
        assert reference(y_true, scores) == pytest.approx(expected, abs=1e-12)


def test_one_error_takes_the_first_of_tied_top_scores():
    scores = np.array([[2.0, 2.0, 2.0]], np.float32)
    assert _value(OneError(), np.array([[0, 1, 1]], np.float32), scores) == 1.0
    assert _value(OneError(), np.array([[1, 0, 0]], np.float32), scores) == 0.0
    scores = np.array([[0.5, 0.7, 0.7]], np.float32)
    assert _value(OneError(), np.array([[1, 0, 1]], np.float32), scores) == 1.0
    assert _value(OneError(), np.array([[0, 1, 0]], np.float32), scores) == 0.0


@each_metric
def test_accumulating_batches_equals_the_concatenation(key):
    make, reference = METRICS[key]
    batches = list(_random_cases(seed=99, count=len(SHAPES) * 2))[::3]
    batches += [(y[:7], s[:7], w[:7]) for y, s, w in batches]  # one with a smaller batch
    metric = make()
    for y_true, scores, weights in batches:
        metric.update_state(y_true, scores, sample_weight=weights)
    y_all, s_all, w_all = (np.concatenate(parts) for parts in zip(*batches, strict=True))
    got = float(keras.ops.convert_to_numpy(metric.result()))
    np.testing.assert_allclose(got, reference(y_all, s_all, sample_weight=w_all), rtol=1e-5)
    np.testing.assert_allclose(got, _value(make(), y_all, s_all, w_all), rtol=1e-5)
    metric.reset_state()
    assert float(keras.ops.convert_to_numpy(metric.result())) == 0.0  # nothing seen yet


@each_metric
def test_sample_weight_shapes(key):
    make, reference = METRICS[key]
    y_true, scores, weights = next(_random_cases(seed=5))
    expected = reference(y_true, scores, sample_weight=weights)
    np.testing.assert_allclose(
        _value(make(), y_true, scores, weights[:, None]), expected, rtol=1e-5
    )
    np.testing.assert_allclose(_value(make(), y_true, scores, 3.0), reference(y_true, scores), 1e-5)
    assert _value(make(), y_true, scores, np.zeros_like(weights)) == 0.0


@each_metric
def test_config_holds_every_constructor_argument_and_round_trips(key):
    metric = METRICS[key][0]()
    config = metric.get_config()
    parameters = set(inspect.signature(type(metric).__init__).parameters) - {"self"}
    assert parameters <= set(config), parameters - set(config)
    json.dumps(config)
    name = type(metric).__name__
    assert keras.saving.get_registered_name(type(metric)) == f"kerasloss>{name}"
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert type(restored) is type(metric)
    assert restored.get_config() == config
    for parameter in list(inspect.signature(type(metric).__init__).parameters.values())[1:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter.name


def test_bad_arguments_and_shapes_are_rejected():
    with pytest.raises(TypeError, match="threshold"):
        HammingLoss(threshold="0.5")
    with pytest.raises(ValueError, match="threshold"):
        HammingLoss(threshold=float("nan"))
    for metric in (LabelRankingLoss(), OneError(), HammingLoss(threshold=0.0)):
        with pytest.raises(ValueError, match=r"y_true.*shape"):
            metric.update_state(np.zeros((4, 3)), np.zeros((4, 5)))
        with pytest.raises(ValueError, match=r"y_pred.*\(batch_size, C\)"):
            metric.update_state(np.zeros(5), np.zeros(5))


def test_a_large_batch_gives_finite_values():
    rng = np.random.default_rng(0)
    y_true = (rng.uniform(size=(256, 4096)) < 0.01).astype(np.float32)
    scores = np.round(rng.normal(size=(256, 4096)), 1).astype(np.float32)
    for key in ("ranking_loss", "coverage", "lrap"):
        value = _value(METRICS[key][0](), y_true, scores)
        assert np.isfinite(value)


@pytest.mark.slow
def test_in_compile_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = (x @ rng.normal(size=(8, 6)) > 0.3).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, activation="tanh")])
    metrics = [METRICS[key][0]() for key in METRICS]
    model.compile(optimizer="adam", loss="mse", metrics=metrics)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    got = model.evaluate(x, y, batch_size=100, verbose=0, return_dict=True)  # batches 100, 100, 56
    scores = model.predict(x, batch_size=256, verbose=0)
    for key, metric in zip(METRICS, metrics, strict=True):
        np.testing.assert_allclose(
            got[metric.name], METRICS[key][1](y, scores), rtol=1e-5, atol=1e-6, err_msg=key
        )


def test_hamming_threshold_is_not_rounded_to_the_score_dtype():
    # 0.3 in bfloat16 is 0.30078125: compared in bfloat16, this score would not be above it.
    y = np.array([[1.0, 0.0]], np.float32)
    scores = np.array([[0.30078125, -1.0]])  # exact in bfloat16
    expected = skm.hamming_loss(y, (scores > 0.3).astype(int))
    metric = HammingLoss(threshold=0.3)
    metric.update_state(y, keras.ops.convert_to_tensor(scores, dtype="bfloat16"))
    assert float(keras.ops.convert_to_numpy(metric.result())) == expected == 0.0


# ------------------------------------------------------------------ per-example functions

# function, reference on one row (1, C): the functions must equal scikit-learn row by row
FUNCTIONS = {
    "hamming": (functools.partial(hamming_loss, threshold=0.0), _hamming(0.0)),
    "hamming_half": (functools.partial(hamming_loss, threshold=0.5), _hamming(0.5)),
    "ranking_loss": (label_ranking_loss, skm.label_ranking_loss),
    "one_error": (one_error, _one_error),
    "coverage": (coverage_error, skm.coverage_error),
    "lrap": (label_ranking_average_precision, skm.label_ranking_average_precision_score),
}


@pytest.mark.parametrize("key", list(FUNCTIONS))
def test_functions_equal_the_reference_on_each_row(key):
    fn, reference = FUNCTIONS[key]
    for y_true, scores, _ in _random_cases(seed=len(key) + 7, count=len(SHAPES) + 1):
        values = fn(y_true, scores)
        assert tuple(values.shape) == (len(y_true),)
        assert keras.backend.standardize_dtype(values.dtype) == "float32"
        expected = [reference(y_true[i : i + 1], scores[i : i + 1]) for i in range(len(y_true))]
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(values), expected, rtol=1e-6, atol=1e-7
        )


@pytest.mark.parametrize("key", list(FUNCTIONS))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_functions_return_float32_whatever_the_score_dtype(key, dtype):
    fn, reference = FUNCTIONS[key]
    y_true = EDGE_Y
    scores = EDGE_S  # exact in 16-bit floats
    values = fn(y_true, keras.ops.convert_to_tensor(scores, dtype=dtype))
    assert keras.backend.standardize_dtype(values.dtype) == "float32"
    expected = [reference(y_true[i : i + 1], scores[i : i + 1]) for i in range(len(y_true))]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(values), expected, rtol=1e-6)


def test_each_class_is_the_weighted_mean_of_its_function():
    y_true, scores, weights = next(_random_cases(seed=3))
    for key, (make, _) in METRICS.items():
        values = keras.ops.convert_to_numpy(FUNCTIONS[key][0](y_true, scores))
        np.testing.assert_allclose(
            _value(make(), y_true, scores, weights), np.average(values, weights=weights), 1e-6
        )


def test_hamming_loss_checks_its_threshold():
    with pytest.raises(TypeError, match="threshold"):
        hamming_loss(EDGE_Y, EDGE_S, threshold="0")
    with pytest.raises(ValueError, match="threshold"):
        hamming_loss(EDGE_Y, EDGE_S, threshold=float("inf"))


def test_functions_are_registered():
    # So that a model compiled with `metrics=[kerasloss.metrics.one_error]` loads back.
    for fn in (
        hamming_loss,
        label_ranking_loss,
        one_error,
        coverage_error,
        label_ranking_average_precision,
    ):
        name = f"kerasloss>{fn.__name__}"
        assert keras.saving.get_registered_name(fn) == name
        assert keras.saving.get_registered_object(name) is fn


def test_the_public_names_are_listed_once():
    defined = {
        name
        for name, obj in vars(multilabel).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == multilabel.__name__
    }
    assert set(multilabel.__all__) == defined
    exported = {
        name
        for name, obj in vars(kerasloss.metrics).items()
        if not name.startswith("_") and not inspect.ismodule(obj)
    }
    assert (
        set(kerasloss.metrics.__all__)
        == exported
        == defined | {"OutputMean", "CohenKappa", "PackedLabelsMetric", "retrieval_scores"}
    )


# ------------------------------------------------------------------ config and direction


CLASSES = [HammingLoss, LabelRankingLoss, OneError, CoverageError, LabelRankingAveragePrecision]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_from_config_of_get_config_round_trips_with_non_defaults(cls):
    arguments = {"name": "custom", "dtype": "float16"}
    if cls is HammingLoss:
        arguments["threshold"] = 0.25
    metric = cls(**arguments)
    config = metric.get_config()
    parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(config) == parameters  # exactly the constructor's arguments: no `fn`
    assert config == arguments
    restored = cls.from_config(config)
    assert type(restored) is cls
    assert restored.get_config() == config
    y_true, scores, weights = next(_random_cases(seed=11))
    value = _value(restored, y_true, scores, weights)
    assert value == _value(metric, y_true, scores, weights)
    assert keras.backend.standardize_dtype(restored.result().dtype) == "float16"


HIGHER_IS_BETTER = {LabelRankingAveragePrecision}  # for the other four, lower is better


def _keras_version():
    return tuple(int(part) for part in keras.__version__.split(".")[:2])


@pytest.mark.slow
def test_callbacks_in_auto_mode_know_which_way_is_better(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 8)).astype(np.float32)
    y = (x @ rng.normal(size=(8, 5)) > 0.3).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5, activation="tanh")])
    metrics = [cls(threshold=0.0) if cls is HammingLoss else cls() for cls in CLASSES]
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=metrics)
    stoppers = {
        type(m): keras.callbacks.EarlyStopping(monitor=f"val_{m.name}", mode="auto", patience=9)
        for m in metrics
    }
    callbacks = list(stoppers.values())
    # Keras 3.10's ModelCheckpoint (and ReduceLROnPlateau) guess the direction from the
    # name, "acc" meaning higher; from 3.11 they read the declared direction, as
    # EarlyStopping already does in 3.10.
    checkpoint = None
    if _keras_version() >= (3, 11):
        checkpoint = keras.callbacks.ModelCheckpoint(
            str(tmp_path / "best.keras"),
            monitor="val_label_ranking_average_precision",
            mode="auto",
            save_best_only=True,
        )
        callbacks.append(checkpoint)
    history = model.fit(
        x, y, validation_data=(x, y), batch_size=32, epochs=4, verbose=0, callbacks=callbacks
    ).history
    for cls, stopper in stoppers.items():
        values = history[stopper.monitor]
        if cls in HIGHER_IS_BETTER:
            assert stopper.monitor_op is keras.ops.greater, cls
            assert stopper.best == pytest.approx(max(values)), cls
        else:
            assert stopper.monitor_op is keras.ops.less, cls
            assert stopper.best == pytest.approx(min(values)), cls
    if checkpoint is not None:
        assert checkpoint.monitor_op is keras.ops.greater
        assert checkpoint.best == pytest.approx(max(history["val_label_ranking_average_precision"]))


@pytest.mark.slow
def test_a_model_compiled_with_the_metrics_saves_and_loads(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x @ rng.normal(size=(8, 5)) > 0.3).astype(np.float32)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5, activation="tanh")])
    # Every class, and one function, which compile wraps in Keras' MeanMetricWrapper.
    metrics = [METRICS[key][0]() for key in METRICS if key != "one_error"] + [one_error]
    model.compile(optimizer="adam", loss="mse", metrics=metrics)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    before = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    after = loaded.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert set(after) == set(before)
    for name, value in before.items():
        np.testing.assert_allclose(after[name], value, rtol=1e-6, err_msg=name)
