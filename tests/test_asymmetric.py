"""The asymmetric loss (ASL) against a NumPy restatement of Ridnik et al. (2021)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import kerasloss
from _autodiff import autodiff, finite_differences, float64_context
from _reference_asl import asymmetric as reference
from _reference_asl import log_sigmoid

B, C = 8, 6

HYPER = [
    pytest.param({"gamma_pos": 0.0, "gamma_neg": 4.0, "clip": 0.05}, id="paper"),
    pytest.param({"gamma_pos": 1.0, "gamma_neg": 4.0, "clip": 0.05}, id="authors_defaults"),
    pytest.param({"gamma_pos": 2.0, "gamma_neg": 1.0, "clip": 0.0}, id="no_clip"),
    pytest.param({"gamma_pos": 0.5, "gamma_neg": 0.5, "clip": 0.2}, id="fractional"),
    pytest.param({"gamma_pos": 0.0, "gamma_neg": 0.0, "clip": 0.0}, id="bce"),
]
each_hyper = pytest.mark.parametrize("hyper", HYPER)
logits_or_probs = pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probs"])

# 16-bit inputs are computed in float32 and the loss is rounded once: within half an ulp
# of the 16-bit output, plus 2^-18 for float32's own rounding on the way.
SIXTEEN_BIT_RTOL = {"float16": 2.0**-11 + 2.0**-18, "bfloat16": 2.0**-8 + 2.0**-18}


def _np(x):
    return ops.convert_to_numpy(x)


def _as_float64(x):
    return _np(ops.cast(x, "float32")).astype(np.float64)


def _data(seed=0, scale=2.5):
    rng = np.random.default_rng(seed)
    y_true = (rng.uniform(size=(B, C)) < 0.35).astype(np.float32)
    logits = rng.normal(scale=scale, size=(B, C)).astype(np.float32)
    return y_true, logits


def _sigmoid(x):
    return np.exp(log_sigmoid(x))


def _y_pred(logits, from_logits):
    return logits if from_logits else _sigmoid(logits).astype(np.float32)


# ------------------------------------------------------------------------------ values


@each_hyper
@logits_or_probs
def test_function_matches_reference(hyper, from_logits):
    y_true, logits = _data()
    y_pred = _y_pred(logits, from_logits)
    got = _np(kerasloss.asymmetric_loss(y_true, y_pred, from_logits=from_logits, **hyper))
    assert got.shape == (B,)
    expected = reference(y_true, y_pred, from_logits=from_logits, **hyper)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)


@each_hyper
def test_class_matches_the_function_and_reduces(hyper):
    y_true, logits = _data(seed=1)
    per_sample = reference(y_true, logits, from_logits=True, **hyper)
    loss = kerasloss.AsymmetricLoss(reduction=None, **hyper)
    np.testing.assert_allclose(_np(loss(y_true, logits)), per_sample, rtol=2e-5, atol=1e-6)
    mean = kerasloss.AsymmetricLoss(**hyper)(y_true, logits)
    np.testing.assert_allclose(_np(mean), per_sample.mean(), rtol=2e-5)


@each_hyper
def test_probabilities_and_logits_agree(hyper):
    y_true, logits = _data(seed=2)
    from_logits = _np(kerasloss.asymmetric_loss(y_true, logits, **hyper))
    from_probs = _np(
        kerasloss.asymmetric_loss(y_true, _sigmoid(logits), from_logits=False, **hyper)
    )
    np.testing.assert_allclose(from_probs, from_logits, rtol=1e-4, atol=1e-5)


def test_without_focusing_or_shift_it_is_binary_crossentropy_summed_over_labels():
    y_true, logits = _data(seed=3)
    got = _np(kerasloss.asymmetric_loss(y_true, logits, gamma_pos=0, gamma_neg=0, clip=0))
    bce = _np(keras.losses.binary_crossentropy(y_true, logits, from_logits=True))
    np.testing.assert_allclose(got, bce * C, rtol=1e-5)  # Keras takes the mean over labels


def test_soft_labels_mix_the_two_terms_linearly():
    _, logits = _data(seed=4)
    ones, zeros = np.ones_like(logits), np.zeros_like(logits)
    mixed = np.full_like(logits, 0.3)
    at = {y: _np(kerasloss.asymmetric_loss(t, logits)) for y, t in [(1, ones), (0, zeros)]}
    np.testing.assert_allclose(
        _np(kerasloss.asymmetric_loss(mixed, logits)), 0.3 * at[1] + 0.7 * at[0], rtol=1e-5
    )


def test_negatives_below_the_clip_cost_nothing_and_get_no_gradient():
    # p = sigmoid(z) <= 0.05 for z <= -2.95: the shifted probability is 0.
    y_true = np.zeros((1, 4), np.float32)
    z = np.array([[-3.0, -5.0, -40.0, -1e4]])
    np.testing.assert_array_equal(_np(kerasloss.asymmetric_loss(y_true, z)), [0.0])
    grad = autodiff(lambda v: ops.sum(kerasloss.asymmetric_loss(y_true, v)), z)
    np.testing.assert_array_equal(grad, np.zeros_like(z))
    # just above the clip the loss is positive
    assert _np(kerasloss.asymmetric_loss(y_true[:, :1], np.array([[-2.9]], np.float32)))[0] > 0


# --------------------------------------------------------------------------- gradients


@each_hyper
@logits_or_probs
def test_gradient_matches_finite_differences(hyper, from_logits):
    y_true, logits = _data(seed=5, scale=1.5)
    x = _y_pred(logits, from_logits).astype(np.float64)
    with float64_context():
        got = autodiff(
            lambda v: ops.sum(
                kerasloss.asymmetric_loss(y_true, v, from_logits=from_logits, **hyper)
            ),
            x,
        )
    expected = finite_differences(
        lambda v: reference(y_true, v, from_logits=from_logits, **hyper).sum(), x
    )
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("z", [-1.0, 0.5, 2.0, 6.0])
def test_gradient_includes_the_derivative_of_the_focusing_weight(z):
    # A negative label, L = w * l with w = p_m^4, l = -log(1 - p_m), p_m = p - 0.05. The
    # authors' optimized loss differentiates w too: dL/dz = (w' l + w l') * p (1 - p).
    p = 1.0 / (1.0 + np.exp(-z))
    p_m = p - 0.05
    w, dw = p_m**4, 4 * p_m**3
    ell, dell = -np.log1p(-p_m), 1.0 / (1.0 - p_m)
    full = (dw * ell + w * dell) * p * (1 - p)
    got = autodiff(
        lambda v: ops.sum(kerasloss.asymmetric_loss(np.zeros((1, 1)), v)), np.array([[z]])
    )
    np.testing.assert_allclose(got, [[full]], rtol=1e-6)
    assert not np.isclose(got[0, 0], w * dell * p * (1 - p), rtol=1e-3)  # not a constant w


# ---------------------------------------------------------------------------- extremes


@each_hyper
@pytest.mark.parametrize("scale", [40.0, 1e4])
def test_extreme_logits_are_exact_with_finite_gradients(hyper, scale):
    y_true, logits = _data(seed=6)
    x = np.where(np.arange(C) % 2 == 0, scale, -scale) * np.ones((B, 1))  # every sign per label
    x = (x * np.sign(logits + 0.1)).astype(np.float32)
    got = _np(kerasloss.asymmetric_loss(y_true, x, **hyper))
    np.testing.assert_allclose(got, reference(y_true, x, from_logits=True, **hyper), rtol=1e-6)
    grad = autodiff(lambda v: ops.sum(kerasloss.asymmetric_loss(y_true, v, **hyper)), x)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("z", [40.0, 1e4])
def test_a_confident_mistake_costs_its_exact_value(z):
    negative, positive = np.zeros((1, 1), np.float32), np.ones((1, 1), np.float32)
    x = np.array([[z]], np.float32)
    # -log(1 - sigmoid(z)) = z + log1p(e^-z): 40, not -log(1e-8) = 18.42 as a clamp gives.
    for hyper in ({"clip": 0.0, "gamma_neg": 4.0}, {"clip": 0.0, "gamma_neg": 0.0}):
        got = _np(kerasloss.asymmetric_loss(negative, x, **hyper))
        np.testing.assert_allclose(got, [z], rtol=1e-7)
    # A positive label at logit -z: -log(sigmoid(-z)) = z, times (1 - p)^gamma_pos = 1.
    for gamma_pos in (0.0, 1.0, 2.5):
        got = _np(kerasloss.asymmetric_loss(positive, -x, gamma_pos=gamma_pos))
        np.testing.assert_allclose(got, [z], rtol=1e-7)
    # With the shift, 1 - p_m never falls below the clip: 0.95^4 * -log(0.05).
    got = _np(kerasloss.asymmetric_loss(negative, x, clip=0.05, gamma_neg=4.0))
    np.testing.assert_allclose(got, [0.95**4 * -np.log(0.05)], rtol=1e-6)


@each_hyper
def test_saturated_probabilities_give_finite_values_and_gradients(hyper):
    y_true, logits = _data(seed=7)
    probs = (logits > 0).astype(np.float64)  # exact 0 and 1
    with float64_context():  # float32 would round the clip at 1 - 1e-7 to 1 - 1.19e-7
        values = _np(kerasloss.asymmetric_loss(y_true, probs, from_logits=False, **hyper))
    expected = reference(y_true, probs, from_logits=False, **hyper)
    np.testing.assert_allclose(values, expected, rtol=1e-10)
    grad = autodiff(
        lambda v: ops.sum(kerasloss.asymmetric_loss(y_true, v, from_logits=False, **hyper)),
        probs,
    )
    assert np.all(np.isfinite(grad))


@each_hyper
@logits_or_probs
def test_nan_input_reaches_the_loss(hyper, from_logits):
    y_true, logits = _data(seed=8)
    y_pred = _y_pred(logits, from_logits).copy()
    y_true[0, 0], y_true[1, 0] = 1.0, 0.0
    y_pred[0, 0] = y_pred[1, 0] = np.nan  # a positive label, then a negative one
    got = _np(kerasloss.asymmetric_loss(y_true, y_pred, from_logits=from_logits, **hyper))
    assert np.isnan(got[0]) and np.isnan(got[1])
    assert np.all(np.isfinite(got[2:]))


# ------------------------------------------------------------------------------ dtypes


@each_hyper
@logits_or_probs
@pytest.mark.parametrize("dtype", list(SIXTEEN_BIT_RTOL))
def test_sixteen_bit_inputs_give_the_float64_loss_of_the_rounded_inputs(hyper, from_logits, dtype):
    y_true, logits = _data(seed=9, scale=1.5)
    y_pred = _y_pred(logits, from_logits)
    if not from_logits:  # inside the clip of 16-bit probabilities
        assert 2.0**-7 < y_pred.min() and y_pred.max() < 1 - 2.0**-7
    pred_tensor = ops.convert_to_tensor(y_pred, dtype=dtype)
    true_tensor = ops.convert_to_tensor(y_true, dtype=dtype)
    got = kerasloss.asymmetric_loss(true_tensor, pred_tensor, from_logits=from_logits, **hyper)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    expected = reference(y_true, _as_float64(pred_tensor), from_logits=from_logits, **hyper)
    np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL[dtype])


@pytest.mark.parametrize("dtype", list(SIXTEEN_BIT_RTOL))
def test_sixteen_bit_extreme_logits_stay_finite(dtype):
    y_true, logits = _data(seed=10)
    x = ops.convert_to_tensor(np.sign(logits) * 40.0, dtype=dtype)
    got = kerasloss.AsymmetricLoss(reduction=None, dtype=dtype)(y_true, x)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    expected = reference(y_true, np.sign(logits) * 40.0, 0.0, 4.0, 0.05, True)
    np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL[dtype])


def test_integer_predictions_are_computed_in_floatx():
    y_true, logits = _data(seed=11)
    x = np.round(logits).astype(np.int32)
    got = kerasloss.asymmetric_loss(y_true, x)
    assert keras.backend.standardize_dtype(got.dtype) == keras.config.floatx()
    np.testing.assert_allclose(_np(got), reference(y_true, x, 0.0, 4.0, 0.05, True), rtol=2e-5)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"gamma_pos": -0.5}, ValueError, "gamma_pos"),
        ({"gamma_neg": -1.0}, ValueError, "gamma_neg"),
        ({"gamma_neg": "4"}, TypeError, "gamma_neg"),
        ({"gamma_pos": float("inf")}, ValueError, "gamma_pos"),
        ({"clip": 1.0}, ValueError, r"clip.*\[0, 1\)"),
        ({"clip": -0.01}, ValueError, r"clip.*\[0, 1\)"),
        ({"clip": float("nan")}, ValueError, "clip"),
        ({"clip": None}, TypeError, "clip"),
        ({"from_logits": "yes"}, TypeError, "from_logits"),
    ],
)
def test_bad_hyper_parameters_are_rejected(kwargs, error, name):
    with pytest.raises(error, match=name):
        kerasloss.AsymmetricLoss(**kwargs)
    with pytest.raises(error, match=name):
        kerasloss.asymmetric_loss(np.ones((1, 2)), np.zeros((1, 2)), **kwargs)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="y_pred"):
        kerasloss.asymmetric_loss(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="y_true"):
        kerasloss.AsymmetricLoss()(np.ones((2, 3)), np.zeros((2, 4)))


# ---------------------------------------------------------------------------- Yeast fit


def _yeast():
    from river import datasets

    rows = list(datasets.Yeast())
    x = np.array([[xi[f"Att{i}"] for i in range(1, 104)] for xi, _ in rows], dtype="float32")
    y = np.array([[float(yi[f"Class{i}"]) for i in range(1, 15)] for _, yi in rows], "float32")
    return x[:1500], y[:1500], x[1500:], y[1500:]  # the usual split: rows 1500-2416 test


def _five_metrics(y, scores, cut):
    from kerasloss import metrics

    found = {
        "hamming": metrics.HammingLoss(threshold=cut),
        "one_error": metrics.OneError(),
        "coverage": metrics.CoverageError(),
        "ranking": metrics.LabelRankingLoss(),
        "average_precision": metrics.LabelRankingAveragePrecision(),
    }
    for metric in found.values():
        metric.update_state(y, scores)
    return {key: float(metric.result()) for key, metric in found.items()}


def _training_cut(scores, y):
    """The one score cut that minimises the Hamming loss on the training rows."""
    cuts = np.linspace(-3.0, 3.0, 121)
    return float(cuts[np.argmin([np.mean((scores > c) != y) for c in cuts])])


@pytest.mark.slow
def test_yeast_asl_ranks_as_well_as_bce_and_bpmll():
    """One hidden layer of 128 ReLU per loss, trained side by side in one compiled model.

    ASL (the paper's gamma_neg=4, clip=0.05) against binary cross-entropy and BP-MLL
    (3 tanh outputs, as docs/yeast.md); every figure on the 917 test rows.
    """
    x_train, y_train, x_test, y_test = _yeast()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((103,))
    outputs = {}
    for name in ("asl", "bce", "bpmll"):
        hidden = keras.layers.Dense(128, activation="relu")(inputs)
        if name == "bpmll":
            scores = keras.layers.Dense(14, activation="tanh")(hidden)
            scores = keras.layers.Rescaling(3.0)(scores)
        else:
            scores = keras.layers.Dense(14)(hidden)
        outputs[name] = keras.layers.Identity(name=name)(scores)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss={
            "asl": kerasloss.AsymmetricLoss(),
            "bce": keras.losses.BinaryCrossentropy(from_logits=True),
            "bpmll": kerasloss.BPMLLLoss(),
        },
    )
    targets = {name: y_train for name in outputs}
    model.fit(x_train, targets, batch_size=150, epochs=12, verbose=0)
    train_scores = {k: _np(v) for k, v in model(x_train, training=False).items()}
    test_scores = {k: _np(v) for k, v in model(x_test, training=False).items()}
    figures = {}
    for name in outputs:
        figures[name] = _five_metrics(y_test, test_scores[name], 0.0)
        cut = _training_cut(train_scores[name], y_train)
        figures[name]["hamming_at_training_cut"] = _five_metrics(y_test, test_scores[name], cut)[
            "hamming"
        ]
    # The trivial predictor: every label scored by its frequency in the training rows.
    prior = np.broadcast_to(y_train.mean(axis=0) - 0.5, y_test.shape).astype(np.float32)
    figures["prior"] = _five_metrics(y_test, prior, 0.0)
    for name, values in figures.items():
        print(name, {key: round(value, 4) for key, value in values.items()})

    asl, bce, bpmll, prior = figures["asl"], figures["bce"], figures["bpmll"], figures["prior"]
    # Far better than the trivial predictor on every ranking metric ...
    assert asl["ranking"] < prior["ranking"] - 0.03
    assert asl["average_precision"] > prior["average_precision"] + 0.04
    assert asl["one_error"] < prior["one_error"] and asl["coverage"] < prior["coverage"] - 0.3
    # ... and no worse than cross-entropy or BP-MLL by more than noise between seeds.
    for other in (bce, bpmll):
        assert asl["ranking"] < other["ranking"] + 0.01
        assert asl["average_precision"] > other["average_precision"] - 0.01
        assert asl["coverage"] < other["coverage"] + 0.2
        assert asl["one_error"] < other["one_error"] + 0.03
    # ASL lifts every probability (easy negatives barely count), so p > 0.5 predicts too
    # many labels; a cut chosen on the training rows beats predicting the frequent labels.
    assert asl["hamming_at_training_cut"] < prior["hamming"]
