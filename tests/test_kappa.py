"""The weighted kappa loss against TensorFlow Addons' definition and de la Torre et al.'s
formula, and the CohenKappa metric against scikit-learn's `cohen_kappa_score`."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest
from keras import ops
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score

import _reference_pinball_kappa as ref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context

B, C = 12, 4
WEIGHTAGES = ["linear", "quadratic"]
each_weightage = pytest.mark.parametrize("weightage", WEIGHTAGES)


def _np(x):
    return ops.convert_to_numpy(x)


def _data(seed=0, batch=B, classes=C):
    """One-hot labels and softmax probabilities, about half of them leaning right."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=batch)
    onehot = np.eye(classes, dtype=np.float32)[labels]
    logits = rng.normal(size=(batch, classes)) + 2.0 * onehot * (rng.uniform(size=(batch, 1)) < 0.5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return onehot, probs.astype(np.float32)


# ------------------------------------------------------------------ the loss: values


@each_weightage
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_matches_addons_and_the_paper(weightage, seed):
    y_true, y_pred = _data(seed)
    got = _np(kerasloss.weighted_kappa_loss(y_true, y_pred, num_classes=C, weightage=weightage))
    assert got.shape == (B,)
    expected = ref.weighted_kappa_tfa(y_true, y_pred, weightage)
    np.testing.assert_allclose(got, np.full(B, expected), rtol=1e-5, atol=1e-6)
    # For one-hot labels Addons' value is the paper's log(1 - kappa + epsilon).
    np.testing.assert_allclose(
        expected, ref.weighted_kappa_paper(y_true, y_pred, weightage), rtol=1e-12
    )


def test_addons_docstring_example():
    y_true = [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    y_pred = [
        [0.1, 0.2, 0.6, 0.1],
        [0.1, 0.5, 0.3, 0.1],
        [0.8, 0.05, 0.05, 0.1],
        [0.01, 0.09, 0.1, 0.8],
    ]
    got = kerasloss.WeightedKappaLoss(num_classes=4)(y_true, y_pred)
    np.testing.assert_allclose(float(got), -1.1611925, rtol=1e-6)


def test_soft_labels_are_read_as_addons_reads_them():
    y_true, y_pred = _data(3)
    soft = 0.8 * y_true + 0.05
    got = _np(kerasloss.weighted_kappa_loss(soft, y_pred, num_classes=C, weightage="linear"))
    np.testing.assert_allclose(got[0], ref.weighted_kappa_tfa(soft, y_pred, "linear"), rtol=1e-5)


@pytest.mark.parametrize("epsilon", [1e-7, 1e-3, 0.5])
def test_epsilon_is_added_before_the_log(epsilon):
    y_true, y_pred = _data(4)
    got = _np(kerasloss.weighted_kappa_loss(y_true, y_pred, num_classes=C, epsilon=epsilon))
    np.testing.assert_allclose(
        got[0], ref.weighted_kappa_tfa(y_true, y_pred, "quadratic", epsilon), rtol=1e-5
    )


def test_better_predictions_give_a_lower_loss():
    y_true, y_pred = _data(5)
    values = [
        float(_np(kerasloss.weighted_kappa_loss(y_true, p, num_classes=C))[0])
        for p in (np.full_like(y_pred, 1.0 / C), y_pred, 0.5 * y_pred + 0.5 * y_true, y_true)
    ]
    assert values == sorted(values, reverse=True), values
    np.testing.assert_allclose(values[0], math.log(1 + 1e-6), atol=1e-6)  # uniform: kappa 0
    np.testing.assert_allclose(values[-1], math.log(1e-6), rtol=1e-6)  # perfect


# ------------------------------------------------------------------ the loss: batch semantics


@pytest.mark.parametrize(
    "reduction", [None, "sum", "sum_over_batch_size", "mean_with_sample_weight"]
)
def test_reductions_and_sample_weight_as_documented(reduction):
    y_true, y_pred = _data(6)
    value = ref.weighted_kappa_tfa(y_true, y_pred, "quadratic")
    loss = kerasloss.WeightedKappaLoss(num_classes=C, reduction=reduction)
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    unweighted = {
        None: np.full(B, value),
        "sum": B * value,
        "sum_over_batch_size": value,
        "mean_with_sample_weight": value,
    }
    weighted = {
        None: value * weights,
        "sum": value * weights.sum(),
        "sum_over_batch_size": value * weights.mean(),  # the batch value times the mean weight
        "mean_with_sample_weight": value,  # the weights cancel
    }
    np.testing.assert_allclose(_np(loss(y_true, y_pred)), unweighted[reduction], rtol=1e-5)
    np.testing.assert_allclose(
        _np(loss(y_true, y_pred, sample_weight=weights)), weighted[reduction], rtol=1e-5
    )


def test_each_sample_value_depends_on_the_whole_batch():
    y_true, y_pred = _data(7)
    first = _np(kerasloss.weighted_kappa_loss(y_true, y_pred, num_classes=C))
    y_pred[-1] = y_true[-1]
    second = _np(kerasloss.weighted_kappa_loss(y_true, y_pred, num_classes=C))
    assert first[0] != second[0]  # changing the last sample moves the first one's value
    assert np.all(first == first[0]) and np.all(second == second[0])


# ------------------------------------------------------------------ the loss: gradients


@each_weightage
@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_gradient_matches_finite_differences(weightage, reduce):
    y_true, y_pred = _data(8)
    x = y_pred.astype(np.float64)
    scale = 1.0 if reduce == "mean" else B

    def loss(v):
        values = kerasloss.weighted_kappa_loss(y_true, v, num_classes=C, weightage=weightage)
        return ops.sum(values) / ops.cast(B, values.dtype) if reduce == "mean" else ops.sum(values)

    with float64_context():
        got = autodiff(loss, x)
    expected = finite_differences(lambda v: scale * ref.weighted_kappa_tfa(y_true, v, weightage), x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def _value_and_gradient(y_true, y_pred, **kwargs):
    x = np.asarray(y_pred, np.float64)
    with float64_context():
        grad = autodiff(
            lambda v: (
                ops.sum(kerasloss.weighted_kappa_loss(y_true, v, num_classes=C, **kwargs)) / len(x)
            ),
            x,
        )
    value = _np(
        kerasloss.weighted_kappa_loss(
            y_true, np.asarray(y_pred, np.float32), num_classes=C, **kwargs
        )
    )
    return value, grad


def test_perfect_predictions_give_log_epsilon_and_a_finite_gradient():
    y_true, _ = _data(9)
    value, grad = _value_and_gradient(y_true, y_true)
    np.testing.assert_allclose(value, math.log(1e-6), rtol=1e-6)
    assert np.all(np.isfinite(grad))
    # d/dp log(N / D + eps) = (dN / D) / eps where N = 0: large (1e6 / D) but finite.
    assert np.abs(grad).max() > 1e3


def test_a_batch_of_one_class_is_finite():
    """All labels in one class: N = D for any prediction (kappa 0), log(1 + epsilon)."""
    y_true = np.tile(np.eye(C, dtype=np.float32)[2], (B, 1))
    _, y_pred = _data(10)
    value, grad = _value_and_gradient(y_true, y_pred)
    # float32: N / D is 1 within a few ulps, so the value is 1e-6 within 3e-7.
    np.testing.assert_allclose(value, math.log(1 + 1e-6), atol=3e-7)
    np.testing.assert_allclose(grad, 0.0, atol=1e-9)
    # ... and predicted perfectly: D = 0, Addons' divide_no_nan gives log(epsilon).
    value, grad = _value_and_gradient(y_true, y_true)
    np.testing.assert_allclose(value, math.log(1e-6), rtol=1e-6)
    np.testing.assert_allclose(value[0], ref.weighted_kappa_tfa(y_true, y_true), rtol=1e-6)
    assert np.all(grad == 0.0)


def test_saturated_probabilities_are_finite():
    """Probabilities of exactly 0 and 1 (a softmax of logits +-1e4), most of them wrong."""
    y_true, _ = _data(11)
    probs = np.roll(y_true, 1, axis=0)
    value, grad = _value_and_gradient(y_true, probs)
    np.testing.assert_allclose(value[0], ref.weighted_kappa_tfa(y_true, probs), rtol=1e-5)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_inputs_are_computed_in_float32(dtype):
    y_true, y_pred = _data(12)
    as_16 = [ops.convert_to_tensor(a, dtype=dtype) for a in (y_true, y_pred)]
    got = kerasloss.weighted_kappa_loss(*as_16, num_classes=C)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    rounded = [_np(ops.cast(t, "float32")) for t in as_16]
    rtol = {"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype] + 2.0**-18
    np.testing.assert_allclose(
        _np(ops.cast(got, "float32"))[0], ref.weighted_kappa_tfa(*rounded), rtol=rtol
    )


def test_nan_reaches_the_loss():
    y_true, y_pred = _data(13)
    y_pred[3, 1] = np.nan
    assert np.all(np.isnan(_np(kerasloss.weighted_kappa_loss(y_true, y_pred, num_classes=C))))


# ------------------------------------------------------------------ the loss: errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": 1}, ValueError, "`num_classes` must be an integer >= 2"),
        ({"num_classes": 4.0}, TypeError, "`num_classes` must be an integer"),
        ({"num_classes": C, "weightage": "cubic"}, ValueError, "`weightage` must be one of"),
        ({"num_classes": C, "weightage": None}, ValueError, "`weightage` must be one of"),
        ({"num_classes": C, "weightage": 2}, TypeError, "`weightage` must be one of"),
        ({"num_classes": C, "epsilon": 0.0}, ValueError, r"`epsilon` must be in \(0, inf\)"),
        ({"num_classes": C, "epsilon": -1e-6}, ValueError, r"`epsilon` must be in \(0, inf\)"),
        ({"num_classes": C, "epsilon": float("inf")}, ValueError, "`epsilon` must be finite"),
        ({"num_classes": C, "epsilon": "small"}, TypeError, "`epsilon` must be a real number"),
    ],
)
def test_bad_hyper_parameters_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        kerasloss.WeightedKappaLoss(**kwargs)
    y_true, y_pred = _data()
    with pytest.raises(error, match=match):
        kerasloss.weighted_kappa_loss(y_true, y_pred, **kwargs)


def test_num_classes_is_required_keyword_only():
    with pytest.raises(TypeError):
        kerasloss.WeightedKappaLoss(4)


def test_shapes_that_do_not_fit_are_rejected():
    y_true, y_pred = _data()
    with pytest.raises(ValueError, match=r"`y_pred` must have shape \(batch_size, num_classes\)"):
        kerasloss.weighted_kappa_loss(y_true, y_pred, num_classes=C + 1)
    with pytest.raises(ValueError, match="one-hot encoded"):
        kerasloss.weighted_kappa_loss(np.argmax(y_true, axis=1), y_pred, num_classes=C)
    with pytest.raises(ValueError, match="shape"):
        kerasloss.weighted_kappa_loss(y_true[None], y_pred[None], num_classes=C)


def test_config_round_trip():
    loss = kerasloss.WeightedKappaLoss(num_classes=5, weightage="linear", epsilon=1e-4, name="qwk")
    config = loss.get_config()
    assert {k: config[k] for k in ("num_classes", "weightage", "epsilon", "name")} == {
        "num_classes": 5,
        "weightage": "linear",
        "epsilon": 1e-4,
        "name": "qwk",
    }
    json.dumps(config)
    assert keras.losses.deserialize(keras.losses.serialize(loss)).get_config() == config


# ------------------------------------------------------------------ the metric


def _ratings(seed, batch=40, classes=C):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=batch)
    scores = rng.uniform(size=(batch, classes)).astype(np.float32)
    # Most predictions near the label, so that kappa is well away from 0.
    near = np.clip(labels + rng.integers(-1, 2, size=batch), 0, classes - 1)
    scores[np.arange(batch), near] += 0.6
    return labels, scores


@pytest.mark.parametrize("weightage", [None, "linear", "quadratic"])
@pytest.mark.parametrize("labels_as", ["one_hot", "ids", "ids_column"])
def test_metric_equals_scikit_learn_over_batches(weightage, labels_as):
    labels, scores = _ratings(0)
    weights = np.random.default_rng(1).uniform(0.0, 3.0, size=labels.size).astype(np.float32)
    given = {
        "one_hot": np.eye(C, dtype=np.float32)[labels],
        "ids": labels.astype(np.int32),
        "ids_column": labels[:, None].astype(np.float32),
    }[labels_as]
    predicted = scores.argmax(axis=1)
    for sample_weight in (None, weights):
        metric = kerasloss.metrics.CohenKappa(C, weightage=weightage)
        for part in (slice(0, 15), slice(15, 16), slice(16, None)):
            metric.update_state(
                given[part],
                scores[part],
                sample_weight=None if sample_weight is None else sample_weight[part],
            )
        expected = cohen_kappa_score(
            labels, predicted, labels=range(C), weights=weightage, sample_weight=sample_weight
        )
        np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            expected,
            ref.cohen_kappa(labels, predicted, C, weightage, sample_weight),
            rtol=1e-12,
        )


def test_metric_two_classes_and_a_weight_column():
    labels, scores = _ratings(2, classes=2)
    weights = np.random.default_rng(3).uniform(size=(labels.size, 1)).astype(np.float32)
    metric = kerasloss.metrics.CohenKappa(2)
    metric.update_state(labels, scores, sample_weight=weights)
    expected = cohen_kappa_score(
        labels, scores.argmax(axis=1), labels=[0, 1], sample_weight=weights[:, 0]
    )
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)


def test_metric_is_zero_where_kappa_is_undefined():
    metric = kerasloss.metrics.CohenKappa(3, weightage="quadratic")
    assert float(metric.result()) == 0.0  # no example yet
    same = np.array([1, 1, 1])
    scores = np.eye(3, dtype=np.float32)[same]
    metric.update_state(same, scores)  # one class for labels and predictions: chance = 1
    assert float(metric.result()) == 0.0
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(cohen_kappa_score(same, same, labels=range(3), weights="quadratic"))
    with pytest.warns(UndefinedMetricWarning):
        assert cohen_kappa_score(same, same, labels=range(3), replace_undefined_by=0.0) == 0.0
    metric.reset_state()
    metric.update_state([0, 2], np.eye(3, dtype=np.float32)[[1, 2]], sample_weight=[0.0, 0.0])
    assert float(metric.result()) == 0.0  # every weight 0: no example counted
    metric.update_state([0, 2], np.eye(3, dtype=np.float32)[[0, 2]])
    assert float(metric.result()) == 1.0  # then defined again


def test_metric_ties_go_to_the_first_class_and_disagreement_can_be_negative():
    metric = kerasloss.metrics.CohenKappa(2)
    metric.update_state([1, 0], [[0.5, 0.5], [0.2, 0.8]])  # predicted 0 (tie), 1
    np.testing.assert_allclose(float(metric.result()), cohen_kappa_score([1, 0], [0, 1]))
    assert float(metric.result()) == -1.0


def test_metric_nan_prediction_gives_nan_until_reset():
    labels, scores = _ratings(4)
    metric = kerasloss.metrics.CohenKappa(C)
    scores[5, 2] = np.nan
    metric.update_state(labels, scores)
    assert np.isnan(float(metric.result()))
    metric.reset_state()
    metric.update_state(labels[6:], scores[6:])
    assert np.isfinite(float(metric.result()))


def test_metric_state_and_direction():
    metric = kerasloss.metrics.CohenKappa(5, weightage="linear", name="qwk", dtype="float32")
    assert metric._direction == "up"
    assert [tuple(v.shape) for v in metric.variables] == [(5, 5)]
    assert not any(v.trainable for v in metric.variables)
    config = metric.get_config()
    assert config == {"num_classes": 5, "weightage": "linear", "name": "qwk", "dtype": "float32"}
    json.dumps(config)
    assert kerasloss.metrics.CohenKappa.from_config(config).get_config() == config


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((1,), {}, ValueError, "`num_classes` must be an integer >= 2"),
        ((2.5,), {}, TypeError, "`num_classes` must be an integer"),
        ((3,), {"weightage": "Quadratic"}, ValueError, "`weightage` must be one of"),
        ((3,), {"weightage": 1}, TypeError, "`weightage` must be one of"),
    ],
)
def test_metric_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        kerasloss.metrics.CohenKappa(*args, **kwargs)


def test_metric_bad_inputs():
    metric = kerasloss.metrics.CohenKappa(3)
    scores = np.full((2, 3), 1.0 / 3, np.float32)
    with pytest.raises(ValueError, match=r"`y_pred` must have shape \(batch_size, 3\)"):
        metric.update_state([0, 1], scores[:, :2])
    with pytest.raises(ValueError, match=r"`y_true` must hold one-hot rows"):
        metric.update_state(np.zeros((2, 2)), scores)
    with pytest.raises(ValueError, match=r"class ids in \[0, 2\]; got values from 0 to 3"):
        metric.update_state([0, 3], scores)
    with pytest.raises(ValueError, match="whole class ids"):
        metric.update_state([0.5, 1.0], scores)
    assert float(metric.result()) == 0.0  # nothing was added


@pytest.mark.slow
def test_metric_in_a_compiled_model_with_integer_labels():
    labels, _ = _ratings(5, batch=24, classes=3)
    x = np.random.default_rng(6).normal(size=(24, 5)).astype(np.float32)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(
        loss="sparse_categorical_crossentropy",
        metrics=[kerasloss.metrics.CohenKappa(3, weightage="quadratic")],
        jit_compile=keras.backend.backend() != "torch",
    )
    result = model.evaluate(x, labels, batch_size=8, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    expected = cohen_kappa_score(
        labels, predicted, labels=range(3), weights="quadratic", replace_undefined_by=0.0
    )
    np.testing.assert_allclose(result["cohen_kappa"], expected, rtol=1e-5, atol=1e-6)
