"""The contract of every registered Metric: batches accumulate, state resets, configs round-trip.

The checks use the public `keras.metrics.Metric` interface only (update_state, result,
reset_state, get_config), so they hold however a metric is implemented inside.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import _contract as c
from _contract import B, np_

METRICS = c.params("metric")
HALF = B // 2  # one more batch shape only: JAX compiles each operation per shape


def _result(metric):
    return np_(metric.result()).astype(np.float64)


def _weights():
    return np.random.default_rng(3).uniform(0.0, 2.0, size=B).astype(np.float32)


@pytest.mark.parametrize("spec", METRICS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_batches_accumulate_to_the_concatenation(spec, weighted):
    y_true, y_pred = spec.data()
    weights = _weights() if weighted else None
    whole = spec.build()
    whole.update_state(y_true, y_pred, sample_weight=weights)
    pieces = spec.build()
    for part in (slice(None, HALF), slice(HALF, None)):
        pieces.update_state(
            y_true[part], y_pred[part], sample_weight=None if weights is None else weights[part]
        )
    np.testing.assert_allclose(_result(pieces), _result(whole), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("spec", METRICS)
def test_sample_weights_weigh_the_examples(spec):
    """A weight of 2 counts an example twice, a weight of 0 drops it."""
    y_true, y_pred = spec.data()
    weights = np.where(np.arange(B) % 2 == 0, 2.0, 0.0).astype(np.float32)
    weighted = spec.build()
    weighted.update_state(y_true, y_pred, sample_weight=weights)
    repeated = spec.build()
    rows = np.repeat(np.arange(B), weights.astype(int))
    repeated.update_state(y_true[rows], y_pred[rows])
    np.testing.assert_allclose(_result(weighted), _result(repeated), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("spec", METRICS)
def test_reset_state_gives_the_initial_result(spec):
    metric = spec.build()
    initial = _result(metric)
    y_true, y_pred = spec.data()
    metric.update_state(y_true, y_pred, sample_weight=_weights())
    metric.reset_state()
    np.testing.assert_array_equal(_result(metric), initial)
    metric.update_state(y_true, y_pred)
    fresh = spec.build()
    fresh.update_state(y_true, y_pred)
    np.testing.assert_allclose(_result(metric), _result(fresh), rtol=1e-7)


@pytest.mark.parametrize("spec", METRICS)
def test_config_holds_every_argument_and_round_trips(spec):
    metric = spec.build()
    config = metric.get_config()
    missing = {p.name for p in c.constructor_parameters(type(metric))} - set(config)
    assert not missing, f"{spec.name}: get_config lacks {sorted(missing)}"
    json.dumps(config)
    y_true, y_pred = spec.data()
    metric.update_state(y_true, y_pred)
    for restored in (
        type(metric).from_config(config),
        keras.metrics.deserialize(keras.metrics.serialize(metric)),
    ):
        assert type(restored) is type(metric)
        assert restored.get_config() == config
        restored.update_state(y_true, y_pred)
        np.testing.assert_allclose(_result(restored), _result(metric), rtol=1e-7)


@pytest.mark.parametrize("spec", METRICS)
def test_hyper_parameters_are_keyword_only(spec):
    c.assert_keyword_only(c.constructor_parameters(spec.obj), spec.positional, spec.name)


@pytest.fixture(scope="module")
def evaluated():
    """Every metric compiled on its own head of one model, evaluated in two batches."""
    parts = {
        # A spec's `loss` is the loss its targets need (packed cost tables); MSE otherwise.
        c.key(s): (
            c.head_model(s),
            s.loss() if s.loss else "mean_squared_error",
            c.features(),
            s.data()[0],
        )
        for s in c.specs("metric")
    }
    model, losses, x, y = c.combine(parts)
    metrics = {c.key(s): [s.build()] for s in c.specs("metric")}
    model.compile(optimizer="sgd", loss=losses, metrics=metrics)
    results = model.evaluate(x, y, batch_size=HALF, verbose=0, return_dict=True)
    return results, model.predict(x, batch_size=B, verbose=0)


@pytest.mark.parametrize("spec", METRICS)
def test_compiled_in_a_model_and_evaluated(spec, evaluated):
    results, predictions = evaluated
    key = c.key(spec)
    direct = spec.build()
    direct.update_state(spec.data()[0], predictions[key])
    got = results[f"{key}_{direct.name}"]
    np.testing.assert_allclose(got, _result(direct), rtol=1e-5, atol=1e-6)
