"""BP-MLL and the multi-label thresholds against NumPy restatements of the paper."""

from __future__ import annotations

import inspect
import json

import keras
import numpy as np
import pytest
from keras import ops

import _reference as ref
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss.layers import LinearThreshold
from kerasloss.losses.multilabel import BPMLLLoss, bpmll_loss
from kerasloss.metrics import HammingLoss, LabelRankingLoss
from kerasloss.thresholds import (
    apply_threshold,
    best_cut_per_example,
    fit_linear_threshold,
    linear_threshold,
)

BACKEND = keras.backend.backend()
B, C = 8, 5


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _data(seed=7, scale=2.0):
    rng = np.random.default_rng(seed)
    y_true = (rng.uniform(size=(B, C)) < 0.4).astype(np.float32)
    y_true[0] = 0.0  # no relevant label
    y_true[1] = 1.0  # no irrelevant label
    y_true[2] = [1, 0, 0, 0, 0]
    y_true[3] = [0, 1, 1, 1, 1]
    for i in range(4, B):  # a mix of both
        y_true[i, i % C], y_true[i, (i + 1) % C] = 1.0, 0.0
    scores = rng.normal(scale=scale, size=(B, C)).astype(np.float32)
    return y_true, scores


# ------------------------------------------------------------------------------ the loss


def test_function_matches_pair_loop():
    y_true, scores = _data()
    got = _np(bpmll_loss(y_true, scores))
    assert got.shape == (B,)
    expected = ref.bpmll(y_true, scores)
    assert expected[0] == expected[1] == 0.0 and np.all(expected[2:] > 0)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-7)


def test_tanh_scores_and_extra_leading_axes():
    rng = np.random.default_rng(3)
    y_true = (rng.uniform(size=(3, 4, 6)) < 0.5).astype(np.float32)
    scores = np.tanh(rng.normal(size=(3, 4, 6))).astype(np.float32)
    got = _np(bpmll_loss(y_true, scores))
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, ref.bpmll(y_true, scores), rtol=2e-5, atol=1e-7)


def test_documented_example():
    got = _np(bpmll_loss([[1.0, 0.0, 1.0]], [[0.9, -0.8, 0.1]]))
    np.testing.assert_allclose(got, [(np.exp(-1.7) + np.exp(-0.9)) / 2], rtol=1e-6)


@pytest.mark.parametrize("reduction", [None, "sum", "sum_over_batch_size"])
def test_reductions_and_sample_weight(reduction):
    y_true, scores = _data()
    per_sample = ref.bpmll(y_true, scores)
    loss = BPMLLLoss(reduction=reduction)
    expected = {None: per_sample, "sum": per_sample.sum(), "sum_over_batch_size": per_sample.mean()}
    np.testing.assert_allclose(_np(loss(y_true, scores)), expected[reduction], rtol=2e-5)
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    weighted = per_sample * weights
    expected = {None: weighted, "sum": weighted.sum(), "sum_over_batch_size": weighted.mean()}
    np.testing.assert_allclose(
        _np(loss(y_true, scores, sample_weight=weights)), expected[reduction], rtol=2e-5
    )


def test_gradient_matches_finite_differences():
    y_true, scores = _data()
    x = scores.astype(np.float64)
    with float64_context():
        got = autodiff(lambda v: ops.sum(bpmll_loss(y_true, v)), x)
    expected = finite_differences(lambda v: ref.bpmll(y_true, v).sum(), x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_rows_without_relevant_or_irrelevant_labels_give_zero_value_and_gradient():
    y_true = np.array([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 1]], np.float32)
    scores = np.array([[0.0, 0.0, 0.0, 0.0], [50.0, -50.0, 3.0, 0.0], [1.0, 2.0, 0.0, -1.0]])
    values = _np(bpmll_loss(y_true, scores.astype(np.float32)))
    assert values[0] == 0.0 and values[1] == 0.0 and values[2] > 0.0
    grad = autodiff(lambda v: ops.sum(bpmll_loss(y_true, v)), scores)
    assert np.all(np.isfinite(grad))
    assert np.all(grad[:2] == 0.0)
    assert np.all(grad[2] != 0.0)


@pytest.mark.parametrize("scale", [1.0, 40.0])
def test_unbounded_scores_stay_finite_in_float32(scale):
    y_true, scores = _data()
    x = (np.sign(scores) * scale).astype(np.float32)
    x[4] = [scale, -scale, scale, -scale, scale]  # gaps of 2 * scale both ways
    values = _np(bpmll_loss(y_true, x))
    assert values.dtype == np.float32
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, ref.bpmll(y_true, x), rtol=1e-5)

    def total(v):
        return ops.sum(bpmll_loss(y_true, ops.cast(v, "float32")))

    grad = autodiff(total, x)
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0.0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_is_finite_and_close(dtype):
    y_true, scores = _data(scale=1.0)
    loss = BPMLLLoss(reduction=None, dtype=dtype)
    got = loss(y_true, scores)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    got = _np(ops.cast(got, "float32"))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref.bpmll(y_true, scores), rtol=2e-2, atol=1e-2)
    # The function on 16-bit tensors, with their gradient.
    x = ops.cast(scores, dtype)
    assert keras.backend.standardize_dtype(bpmll_loss(y_true, x).dtype) == dtype

    def total(v):
        return ops.sum(ops.cast(bpmll_loss(y_true, ops.cast(v, dtype)), "float32"))

    grad = autodiff(total, scores)
    assert np.all(np.isfinite(grad))


def test_large_batch_forward_and_backward_is_finite():
    # A (B, C, C) tensor of label pairs would take 17 GB here; the loss needs O(B * C).
    rng = np.random.default_rng(0)
    y_true = (rng.uniform(size=(256, 4096)) < 0.01).astype(np.float32)
    scores = rng.normal(size=(256, 4096)).astype(np.float32)
    grad = autodiff(lambda v: ops.mean(bpmll_loss(y_true, ops.cast(v, "float32"))), scores)
    assert grad.shape == scores.shape and np.all(np.isfinite(grad))


@pytest.mark.skipif(BACKEND != "jax", reason="inspects the traced JAX program")
def test_no_intermediate_is_larger_than_the_scores():
    import jax

    y_true = np.zeros((16, 64), np.float32)
    y_true[:, :3] = 1.0
    scores = np.zeros((16, 64), np.float32)
    program = jax.make_jaxpr(jax.value_and_grad(lambda v: bpmll_loss(y_true, v).sum()))(scores)
    sizes = [
        int(np.prod(var.aval.shape))
        for eqn in program.jaxpr.eqns
        for var in eqn.outvars
        if hasattr(var.aval, "shape")
    ]
    assert max(sizes) <= 16 * 64


# -------------------------------------------------------------------------- the class


def test_config_holds_every_constructor_argument_and_round_trips():
    loss = BPMLLLoss(reduction="sum", name="ranking", dtype="float16")
    config = loss.get_config()
    parameters = set(inspect.signature(BPMLLLoss.__init__).parameters) - {"self"}
    assert parameters <= set(config), parameters - set(config)
    json.dumps(config)
    assert keras.saving.get_registered_name(BPMLLLoss) == "kerasloss>BPMLLLoss"
    assert keras.saving.get_registered_name(bpmll_loss) == "kerasloss>bpmll_loss"
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is BPMLLLoss
    assert restored.get_config() == config
    y_true, scores = _data()
    np.testing.assert_allclose(
        _np(ops.cast(restored(y_true, scores), "float32")),
        _np(ops.cast(loss(y_true, scores), "float32")),
    )


def test_hyper_parameters_are_keyword_only():
    for parameter in list(inspect.signature(BPMLLLoss.__init__).parameters.values())[1:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter.name
    with pytest.raises(TypeError):
        BPMLLLoss("sum")


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"y_true.*shape"):
        bpmll_loss(np.zeros((4, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"y_pred.*\(batch_size, C\)"):
        bpmll_loss(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="reduction"):
        BPMLLLoss(reduction="average")


# ----------------------------------------------------------------- training on a task


def _task(n=512, d=16, k=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ rng.normal(size=(d, k)) > 0.5).astype(np.float32)
    return x, y


@pytest.mark.slow
def test_fit_on_a_small_multilabel_task_lowers_the_ranking_loss():
    x, y = _task()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(y.shape[1], activation="tanh"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=BPMLLLoss(),
        metrics=[LabelRankingLoss(), HammingLoss(threshold=0.0)],
    )
    before = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    model.fit(x, y, batch_size=64, epochs=8, verbose=0)
    after = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    assert np.isfinite(after["loss"]) and after["loss"] < 0.6 * before["loss"], (before, after)
    assert after["label_ranking_loss"] < 0.5 * before["label_ranking_loss"], (before, after)
    assert after["label_ranking_loss"] < 0.1, after
    # The learned threshold beats predicting no label at all on these labels.
    scores = model.predict(x, batch_size=256, verbose=0)
    sets = _np(LinearThreshold.fit(scores, y)(scores))
    assert np.mean(sets != y) < 0.5 * np.mean(y), (np.mean(sets != y), np.mean(y))


# ------------------------------------------------------------------- the thresholds


def _threshold_cases(seed=11):
    rng = np.random.default_rng(seed)
    for trial in range(6):
        n, c = 40, 3 + trial
        scores = rng.normal(size=(n, c))
        if trial % 2:
            scores = np.round(scores, 0) / 2  # ties, and midpoints that equal scores
        y = (rng.uniform(size=(n, c)) < 0.4).astype(np.float32)
        y[0], y[1] = 0.0, 1.0
        yield scores, y


def test_best_cuts_match_brute_force():
    for scores, y in _threshold_cases():
        np.testing.assert_array_equal(best_cut_per_example(scores, y), ref.best_cuts(scores, y))
    scores = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
    y = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 1]])
    np.testing.assert_allclose(best_cut_per_example(scores, y), [2.1, -0.1, 4.9])


def test_fit_linear_threshold_matches_least_squares():
    for scores, y in _threshold_cases():
        coefficients, intercept = fit_linear_threshold(scores, y)
        expected_coefficients, expected_intercept = ref.linear_threshold_fit(scores, y)
        assert coefficients.shape == (scores.shape[1],) and isinstance(intercept, float)
        np.testing.assert_allclose(coefficients, expected_coefficients, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(intercept, expected_intercept, rtol=1e-8, atol=1e-10)


def test_apply_threshold_fixed_and_per_example():
    scores = np.array([[0.3, -0.2, 0.9], [0.0, 0.5, -1.0]], np.float32)
    np.testing.assert_array_equal(_np(apply_threshold(scores)), [[1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(_np(apply_threshold(scores, 0.4)), [[0, 0, 1], [0, 1, 0]])
    per_example = np.array([0.5, -2.0], np.float32)
    expected = [[0, 0, 1], [1, 1, 1]]
    np.testing.assert_array_equal(_np(apply_threshold(scores, per_example)), expected)
    np.testing.assert_array_equal(_np(apply_threshold(scores, per_example[:, None])), expected)
    per_label = np.array([[0.5, 0.0, 0.5]])  # (1, C) broadcasts over the examples
    expected_per_label = (scores > per_label).astype(float)
    np.testing.assert_array_equal(_np(apply_threshold(scores, per_label)), expected_per_label)
    with pytest.raises(ValueError, match="one threshold per example"):
        apply_threshold(scores, np.zeros(3))
    w, b = np.array([1.0, -1.0, 0.5]), 0.25
    np.testing.assert_allclose(
        _np(linear_threshold(scores, w, b)), scores.astype(np.float64) @ w + b, rtol=1e-6
    )


def test_linear_threshold_layer_round_trips_in_a_saved_model(tmp_path):
    scores, y = next(_threshold_cases())
    scores = scores.astype(np.float32)
    layer = LinearThreshold.fit(scores, y, name="label_sets")
    coefficients, intercept = ref.linear_threshold_fit(scores, y)
    expected = (scores > (scores.astype(np.float64) @ coefficients + intercept)[:, None]) * 1.0
    np.testing.assert_array_equal(_np(layer(scores)), expected)
    config = layer.get_config()
    json.dumps(config)
    parameters = set(inspect.signature(LinearThreshold.__init__).parameters) - {"self", "kwargs"}
    assert parameters <= set(config)
    assert keras.saving.get_registered_name(LinearThreshold) == "kerasloss>LinearThreshold"
    model = keras.Sequential([keras.Input((scores.shape[1],)), layer])
    model.save(tmp_path / "sets.keras")
    reloaded = keras.saving.load_model(tmp_path / "sets.keras")
    np.testing.assert_array_equal(reloaded.predict(scores, verbose=0), expected)
    assert reloaded.layers[-1].get_config() == config


def test_threshold_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="y_true"):
        fit_linear_threshold(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"scores.*\(N, C\)"):
        fit_linear_threshold(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        best_cut_per_example(np.full((2, 2), np.nan), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="coefficients"):
        LinearThreshold(coefficients=[[1.0]])
    with pytest.raises(ValueError, match="labels"):
        LinearThreshold(coefficients=[1.0, 2.0])(np.zeros((3, 4), np.float32))


@pytest.mark.parametrize(
    "coefficients",
    [[1.0], [[1.0], [2.0]], [1.0, 2.0], [[1.0, 2.0, 3.0]]],
    ids=["one", "per_example", "too_few", "row"],
)
def test_linear_threshold_wants_one_coefficient_per_label(coefficients):
    """A (1,) or (B, 1) array used to broadcast into a wrong threshold without an error."""
    scores = np.array([[0.3, -0.2, 0.9], [0.0, 0.5, -1.0]], np.float32)
    with pytest.raises(ValueError, match=r"`coefficients` must have shape \(C,\) = \(3,\)"):
        linear_threshold(scores, coefficients, 0.0)
