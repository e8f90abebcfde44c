"""CombinedLoss: a weighted sum of losses given by name, object or function."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import _reference as ref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context

rng = np.random.default_rng(3)
Y = (rng.uniform(size=(6, 5)) < 0.5).astype(np.float32)
LOGITS = rng.normal(size=(6, 5)).astype(np.float32)
PROBS = ref.sigmoid(LOGITS).astype(np.float32)


@keras.saving.register_keras_serializable(package="kerasloss_tests")
def mean_absolute(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def unregistered_mean_absolute(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def _np(x):
    return ops.convert_to_numpy(x)


def test_names_with_weights():
    loss = kerasloss.CombinedLoss(["binary_crossentropy", "mean_squared_error"], [0.8, 0.2])
    expected = 0.8 * ref.binary_crossentropy(Y, PROBS) + 0.2 * ref.mean_squared_error(Y, PROBS)
    np.testing.assert_allclose(_np(loss(Y, PROBS)), expected.mean(), rtol=1e-5)


def test_objects_functions_and_registered_names_per_sample():
    loss = kerasloss.CombinedLoss(
        [
            kerasloss.BinaryFocalLoss(gamma=1.0, alpha=None),
            # Defaults: gamma 2, alpha 0.25, probabilities (every child reads the same
            # y_pred, so all three take probabilities here).
            "kerasloss>binary_focal_loss",
            mean_absolute,
        ],
        [2.0, -0.5, 3.0],
        reduction=None,
    )
    expected = (
        2.0 * ref.binary_focal(Y, PROBS, 1.0, None, False)
        - 0.5 * ref.binary_focal(Y, PROBS, 2.0, 0.25, False)
        + 3.0 * np.abs(Y - PROBS).mean(-1)
    )
    np.testing.assert_allclose(_np(loss(Y, PROBS)), expected, rtol=1e-5)


def test_weights_default_to_one_and_sample_weight_applies_once():
    loss = kerasloss.CombinedLoss(["mean_squared_error", "mean_absolute_error"], reduction="sum")
    per_sample = ref.mean_squared_error(Y, PROBS) + np.abs(Y - PROBS).mean(-1)
    weights = np.arange(6, dtype=np.float32)
    np.testing.assert_allclose(
        _np(loss(Y, PROBS, sample_weight=weights)), (per_sample * weights).sum(), rtol=1e-5
    )


def test_children_reductions_do_not_apply():
    summed_child = keras.losses.MeanSquaredError(reduction="sum")
    loss = kerasloss.CombinedLoss([summed_child], [1.0], reduction=None)
    np.testing.assert_allclose(_np(loss(Y, PROBS)), ref.mean_squared_error(Y, PROBS), rtol=1e-5)


def test_gradient_matches_finite_differences():
    loss = kerasloss.CombinedLoss(
        [kerasloss.BinaryFocalLoss(from_logits=True), "mean_squared_error"], [0.7, 0.3]
    )
    x = LOGITS.astype(np.float64)

    def reference(v):
        return (
            0.7 * ref.binary_focal(Y, v, 2.0, 0.25, True) + 0.3 * ref.mean_squared_error(Y, v)
        ).mean()

    with float64_context():
        got = autodiff(lambda v: loss(Y, v), x)
    np.testing.assert_allclose(got, finite_differences(reference, x), rtol=1e-5, atol=1e-7)


def test_registered_function_and_builtin_function_round_trip():
    loss = kerasloss.CombinedLoss([mean_absolute, keras.losses.mean_squared_error], [1.0, 2.0])
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert restored.losses[0] is mean_absolute
    assert restored.losses[1] is keras.losses.mean_squared_error
    expected = np.abs(Y - PROBS).mean(-1) + 2.0 * ref.mean_squared_error(Y, PROBS)
    np.testing.assert_allclose(_np(restored(Y, PROBS)), expected.mean(), rtol=1e-5)


def test_config_round_trip_keeps_children():
    loss = kerasloss.CombinedLoss(
        ["binary_crossentropy", kerasloss.BinaryFocalLoss(gamma=3.0, from_logits=False)],
        [0.25, 4.0],
        name="mix",
        reduction="sum",
    )
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, kerasloss.CombinedLoss)
    assert restored.get_config() == loss.get_config()
    assert restored.losses[1].get_config()["gamma"] == 3.0
    np.testing.assert_allclose(_np(restored(Y, PROBS)), _np(loss(Y, PROBS)), rtol=1e-6)


@pytest.mark.parametrize(
    ("losses", "weights", "error", "message"),
    [
        (["mse", "mae"], [1.0], ValueError, "len\\(losses\\) = 2, len\\(weights\\) = 1"),
        ([], [], ValueError, "at least one"),
        (["no_such_loss"], [1.0], ValueError, "no_such_loss"),
        (["mse"], [float("nan")], ValueError, "weights\\[0\\]"),
        ([42], [1.0], TypeError, "losses\\[0\\]"),
        ("mse", None, TypeError, "list"),
        (["mse"], 1.0, TypeError, "weights"),
        ([unregistered_mean_absolute], [1.0], ValueError, "register_keras_serializable"),
        ([lambda t, p: ops.abs(t - p)], [1.0], ValueError, "lambda"),
    ],
)
def test_bad_arguments(losses, weights, error, message):
    with pytest.raises(error, match=message):
        kerasloss.CombinedLoss(losses, weights)


# ------------------------------------------------------------------ precision


@pytest.mark.parametrize(
    ("dtype", "rtol"), [("float16", 2.0**-11 + 2.0**-18), ("bfloat16", 2.0**-8 + 2.0**-18)]
)
def test_sixteen_bit_children_are_summed_in_float32_and_rounded_once(dtype, rtol):
    # Keras' own binary cross-entropy computes in float32 here too: the loss is the float64
    # loss of the 16-bit inputs within the rounding of the output, half an ulp (plus 2^-18
    # for float32's rounding). Children summed in 16 bits were 0.068% off in float16.
    loss = kerasloss.CombinedLoss(
        [kerasloss.BinaryFocalLoss(gamma=1.0, alpha=None), "binary_crossentropy"],
        [2.0, 0.5],
        dtype=dtype,
        reduction=None,
    )
    probs = np.clip(ref.sigmoid(3.0 * LOGITS), 0.01, 0.99).astype(np.float32)  # 0.03 and such
    got = loss(Y, probs)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    rounded = ops.cast(ops.convert_to_tensor(probs, dtype=dtype), "float32")
    rounded = _np(rounded).astype(np.float64)
    expected = 2.0 * ref.binary_focal(Y, rounded, 1.0, None, False) + 0.5 * (
        ref.binary_crossentropy(Y, rounded)
    )
    np.testing.assert_allclose(_np(ops.cast(got, "float32")), expected, rtol=rtol)


def test_float64_stays_float64():
    loss = kerasloss.CombinedLoss(
        [kerasloss.BinaryFocalLoss(gamma=1.0, alpha=None), "kerasloss>binary_focal_loss"],
        [0.3, 0.7],
        dtype="float64",
        reduction=None,
    )
    x = PROBS.astype(np.float64)
    with float64_context():
        got = loss(Y, x)
        assert keras.backend.standardize_dtype(got.dtype) == "float64"
        got = _np(got)
    expected = 0.3 * ref.binary_focal(Y, x, 1.0, None, False) + 0.7 * ref.binary_focal(
        Y, x, 2.0, 0.25, False
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12)
