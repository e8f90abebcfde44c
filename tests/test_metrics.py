"""The multi-label metrics against scikit-learn (and a NumPy loop for one-error)."""

from __future__ import annotations

import inspect
import json
import time

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

import _reference as ref
from kerasloss.metrics import (
    CoverageError,
    HammingLoss,
    LabelRankingAveragePrecision,
    LabelRankingLoss,
    OneError,
)


def _one_error(y_true, scores, sample_weight=None):
    return np.average(ref.one_error(y_true, scores), weights=sample_weight)


def _hamming(threshold):
    def reference(y_true, scores, sample_weight=None):
        return skm.hamming_loss(y_true, scores > threshold, sample_weight=sample_weight)

    return reference


# metric factory, reference(y_true, scores, sample_weight)
METRICS = {
    "hamming": (lambda: HammingLoss(), _hamming(0.0)),
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
    for metric in (LabelRankingLoss(), OneError(), HammingLoss()):
        with pytest.raises(ValueError, match=r"y_true.*shape"):
            metric.update_state(np.zeros((4, 3)), np.zeros((4, 5)))
        with pytest.raises(ValueError, match=r"y_pred.*\(batch_size, C\)"):
            metric.update_state(np.zeros(5), np.zeros(5))


def test_a_large_batch_is_quick():
    rng = np.random.default_rng(0)
    y_true = (rng.uniform(size=(256, 4096)) < 0.01).astype(np.float32)
    scores = np.round(rng.normal(size=(256, 4096)), 1).astype(np.float32)
    start = time.perf_counter()
    for key in ("ranking_loss", "coverage", "lrap"):
        value = _value(METRICS[key][0](), y_true, scores)
        assert np.isfinite(value)
    assert time.perf_counter() - start < 10.0


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
