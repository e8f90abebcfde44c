"""Poly-1 cross-entropy against a NumPy restatement of Leng et al. (2022), as optax defines it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import kerasloss
from _autodiff import autodiff, finite_differences, float64_context
from _reference_asl import poly1 as reference

B, C = 8, 5

EPSILONS = pytest.mark.parametrize("epsilon", [-1.0, 0.0, 1.0, 2.5])
logits_or_probs = pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probs"])
SIXTEEN_BIT_RTOL = {"float16": 2.0**-11 + 2.0**-18, "bfloat16": 2.0**-8 + 2.0**-18}


def _np(x):
    return ops.convert_to_numpy(x)


def _as_float64(x):
    return _np(ops.cast(x, "float32")).astype(np.float64)


def _softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _data(seed=0, scale=2.0, soft=False):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(B, C)).astype(np.float32)
    if soft:
        y_true = rng.dirichlet(np.ones(C), size=B).astype(np.float32)
    else:
        y_true = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=B)]
    return y_true, logits


def _y_pred(logits, from_logits):
    return logits if from_logits else _softmax(logits).astype(np.float32)


labels = pytest.mark.parametrize("soft", [False, True], ids=["one_hot", "soft"])


# ------------------------------------------------------------------------------ values


@EPSILONS
@labels
@logits_or_probs
def test_function_matches_reference(epsilon, soft, from_logits):
    y_true, logits = _data(soft=soft)
    y_pred = _y_pred(logits, from_logits)
    got = _np(
        kerasloss.poly1_crossentropy(y_true, y_pred, epsilon=epsilon, from_logits=from_logits)
    )
    assert got.shape == (B,)
    expected = reference(y_true, y_pred, epsilon, from_logits)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)


def test_the_poly_term_is_one_minus_the_target_probability():
    y_true = np.array([[0.0, 1.0, 0.0], [0.2, 0.8, 0.0]], np.float32)
    logits = np.array([[0.5, 2.0, -1.0], [1.0, 0.0, 3.0]], np.float32)
    p = _softmax(logits)
    p_t = np.sum(y_true * p, axis=-1)
    ce = -np.sum(y_true * np.log(p), axis=-1)
    got = _np(kerasloss.poly1_crossentropy(y_true, logits, epsilon=1.5, from_logits=True))
    np.testing.assert_allclose(got, ce + 1.5 * (1.0 - p_t), rtol=1e-6)


@logits_or_probs
def test_epsilon_zero_is_keras_categorical_crossentropy(from_logits):
    y_true, logits = _data(seed=1, soft=True)
    y_pred = _y_pred(logits, from_logits)
    ours = kerasloss.Poly1Crossentropy(epsilon=0.0, from_logits=from_logits)
    theirs = keras.losses.CategoricalCrossentropy(from_logits=from_logits)
    np.testing.assert_allclose(_np(ours(y_true, y_pred)), _np(theirs(y_true, y_pred)), rtol=1e-5)


@EPSILONS
def test_class_matches_reference_and_reduces(epsilon):
    y_true, logits = _data(seed=2)
    expected = reference(y_true, logits, epsilon, True)
    per_sample = kerasloss.Poly1Crossentropy(epsilon=epsilon, from_logits=True, reduction=None)
    np.testing.assert_allclose(_np(per_sample(y_true, logits)), expected, rtol=2e-5, atol=1e-6)
    mean = kerasloss.Poly1Crossentropy(epsilon=epsilon, from_logits=True)(y_true, logits)
    np.testing.assert_allclose(_np(mean), expected.mean(), rtol=2e-5, atol=1e-6)


@labels
def test_probabilities_and_logits_agree(soft):
    y_true, logits = _data(seed=3, soft=soft)
    from_logits = _np(kerasloss.poly1_crossentropy(y_true, logits, from_logits=True))
    from_probs = _np(kerasloss.poly1_crossentropy(y_true, _softmax(logits).astype(np.float32)))
    np.testing.assert_allclose(from_probs, from_logits, rtol=1e-4, atol=1e-5)


def test_labels_that_do_not_sum_to_one_scale_the_whole_loss():
    # optax's definition, sum_j y_j (1 - p_j), keeps the loss linear in the labels.
    y_true, logits = _data(seed=4)
    once = _np(kerasloss.poly1_crossentropy(y_true, logits, epsilon=2.0, from_logits=True))
    twice = _np(kerasloss.poly1_crossentropy(2 * y_true, logits, epsilon=2.0, from_logits=True))
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-6)
    np.testing.assert_allclose(twice, reference(2 * y_true, logits, 2.0, True), rtol=2e-5)


# --------------------------------------------------------------------------- gradients


@EPSILONS
@labels
@logits_or_probs
def test_gradient_matches_finite_differences(epsilon, soft, from_logits):
    y_true, logits = _data(seed=5, soft=soft, scale=1.5)
    x = _y_pred(logits, from_logits).astype(np.float64)
    with float64_context():
        got = autodiff(
            lambda v: ops.sum(
                kerasloss.poly1_crossentropy(y_true, v, epsilon=epsilon, from_logits=from_logits)
            ),
            x,
        )
    expected = finite_differences(lambda v: reference(y_true, v, epsilon, from_logits).sum(), x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@EPSILONS
def test_gradient_from_logits_is_softmax_minus_labels_plus_the_poly_term(epsilon):
    # d/dz [CE + eps * (1 - p_t)] = (p - y) - eps * p_t * (y - p), for one-hot y.
    y_true, logits = _data(seed=6)
    p = _softmax(logits)
    p_t = np.sum(y_true * p, axis=-1, keepdims=True)
    expected = (p - y_true) - epsilon * p_t * (y_true - p)
    got = autodiff(
        lambda v: ops.sum(
            kerasloss.poly1_crossentropy(y_true, v, epsilon=epsilon, from_logits=True)
        ),
        logits,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------- extremes


@EPSILONS
@pytest.mark.parametrize("scale", [40.0, 1e4])
def test_extreme_logits_are_exact_with_finite_gradients(epsilon, scale):
    # Every class of a row [scale, 0, -scale, 0.5 * scale, -0.5 * scale] as the target:
    # confidently right, unsure, confidently wrong.
    row = np.array([1.0, 0.0, -1.0, 0.5, -0.5]) * scale
    logits = np.tile(row, (C, 1)).astype(np.float32)
    y_true = np.eye(C, dtype=np.float32)
    got = _np(kerasloss.poly1_crossentropy(y_true, logits, epsilon=epsilon, from_logits=True))
    expected = reference(y_true, logits, epsilon, True)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    grad = autodiff(
        lambda v: ops.sum(
            kerasloss.poly1_crossentropy(y_true, v, epsilon=epsilon, from_logits=True)
        ),
        logits,
    )
    assert np.all(np.isfinite(grad))


def test_a_confident_right_answer_keeps_its_tiny_loss():
    # Margin 40 over two other classes: 1 - p_t = 2e^-40 / (1 + 2e^-40) = 8.5e-18 and
    # CE = -log(p_t) = log1p(2e^-40); log_softmax alone gives 0 for both.
    logits = np.array([[40.0, 0.0, 0.0]], np.float32)
    y_true = np.array([[1.0, 0.0, 0.0]], np.float32)
    rest = 2 * np.exp(-40.0) / (1 + 2 * np.exp(-40.0))
    got = _np(kerasloss.poly1_crossentropy(y_true, logits, epsilon=2.0, from_logits=True))
    np.testing.assert_allclose(got, [-np.log1p(-rest) + 2.0 * rest], rtol=1e-6)
    assert got[0] > 0
    # epsilon = -1 cancels the first term of -log(p_t) = r + r^2/2 + ...: r^2/2 is left.
    got = _np(kerasloss.poly1_crossentropy(y_true, logits, epsilon=-1.0, from_logits=True))
    np.testing.assert_allclose(got, [rest**2 / 2], rtol=1e-6)


@EPSILONS
def test_saturated_probabilities_give_finite_values_and_gradients(epsilon):
    y_true, logits = _data(seed=7)
    probs = np.eye(C)[np.argmax(logits, axis=-1)]  # exact 0 and 1
    with float64_context():  # float32 would round the clip at 1 - 1e-7 to 1 - 1.19e-7
        values = _np(kerasloss.poly1_crossentropy(y_true, probs, epsilon=epsilon))
    np.testing.assert_allclose(values, reference(y_true, probs, epsilon, False), rtol=1e-10)
    grad = autodiff(
        lambda v: ops.sum(kerasloss.poly1_crossentropy(y_true, v, epsilon=epsilon)), probs
    )
    assert np.all(np.isfinite(grad))


@logits_or_probs
def test_nan_input_reaches_the_loss(from_logits):
    y_true, logits = _data(seed=8)
    y_pred = _y_pred(logits, from_logits).copy()
    y_pred[0, 0] = np.nan
    y_pred[1, :] = np.nan
    got = _np(kerasloss.poly1_crossentropy(y_true, y_pred, from_logits=from_logits))
    assert np.isnan(got[0]) and np.isnan(got[1])
    assert np.all(np.isfinite(got[2:]))


# ------------------------------------------------------------------------------ dtypes


@labels
@logits_or_probs
@pytest.mark.parametrize("dtype", list(SIXTEEN_BIT_RTOL))
def test_sixteen_bit_inputs_give_the_float64_loss_of_the_rounded_inputs(soft, from_logits, dtype):
    y_true, logits = _data(seed=9, soft=soft, scale=0.5)
    y_pred = _y_pred(logits, from_logits)
    if not from_logits:  # inside the clip of 16-bit probabilities
        assert 2.0**-7 < y_pred.min() and y_pred.max() < 1 - 2.0**-7
    true_tensor = ops.convert_to_tensor(y_true, dtype=dtype)
    pred_tensor = ops.convert_to_tensor(y_pred, dtype=dtype)
    got = kerasloss.poly1_crossentropy(
        true_tensor, pred_tensor, epsilon=2.0, from_logits=from_logits
    )
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    expected = reference(_as_float64(true_tensor), _as_float64(pred_tensor), 2.0, from_logits)
    np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL[dtype])


@pytest.mark.parametrize("dtype", list(SIXTEEN_BIT_RTOL))
def test_sixteen_bit_probabilities_are_clipped_at_the_gap_below_one(dtype):
    eps = {"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype]
    probs = ops.convert_to_tensor([[0.0, 1.0, 0.0]], dtype=dtype)
    got = kerasloss.poly1_crossentropy([[1.0, 0.0, 0.0]], probs, epsilon=1.0)
    # -log of a probability clipped up to eps, plus the unclipped 1 - p_t = 1
    np.testing.assert_allclose(_as_float64(got), [-np.log(eps) + 1.0], rtol=SIXTEEN_BIT_RTOL[dtype])


def test_integer_predictions_are_computed_in_floatx():
    y_true, logits = _data(seed=10)
    x = np.round(logits).astype(np.int32)
    got = kerasloss.poly1_crossentropy(y_true, x, from_logits=True)
    assert keras.backend.standardize_dtype(got.dtype) == keras.config.floatx()
    np.testing.assert_allclose(_np(got), reference(y_true, x, 1.0, True), rtol=2e-5, atol=1e-6)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("epsilon", "error", "message"),
    [
        (-1.5, ValueError, r"epsilon.*\[-1.0, inf\]"),
        (float("nan"), ValueError, "epsilon"),
        (float("inf"), ValueError, "epsilon"),
        ("2", TypeError, "epsilon"),
        (None, TypeError, "epsilon"),
    ],
)
def test_bad_epsilon_is_rejected(epsilon, error, message):
    with pytest.raises(error, match=message):
        kerasloss.Poly1Crossentropy(epsilon=epsilon)
    with pytest.raises(error, match=message):
        kerasloss.poly1_crossentropy(np.eye(2), np.eye(2), epsilon=epsilon)


def test_non_boolean_from_logits_is_rejected():
    with pytest.raises(TypeError, match="from_logits"):
        kerasloss.Poly1Crossentropy(from_logits=1)
    with pytest.raises(TypeError, match="from_logits"):
        kerasloss.poly1_crossentropy(np.eye(2), np.eye(2), from_logits="yes")


def test_integer_class_ids_are_rejected_with_a_hint():
    _, logits = _data(seed=11)
    ids = np.arange(B) % C
    for y_true in (ids, ids[:, None]):
        with pytest.raises(ValueError, match="one-hot") as error:
            kerasloss.poly1_crossentropy(y_true, logits, from_logits=True)
        assert "y_true" in str(error.value)
