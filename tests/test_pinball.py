"""The pinball (quantile) loss against a NumPy restatement of TensorFlow Addons' definition."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import ops

import _reference_pinball_kappa as ref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context

B, Q = 8, 3
TAUS = [0.05, 0.5, 0.95]


def _np(x):
    return ops.convert_to_numpy(x)


def _data(seed=0, shape=(B, Q)):
    rng = np.random.default_rng(seed)
    y_pred = rng.normal(size=shape).astype(np.float32)
    y_true = rng.normal(size=shape).astype(np.float32)
    return y_true, y_pred


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("tau", [0.0, 0.1, 0.5, 0.83, 1.0])
def test_scalar_tau_matches_addons(tau):
    y_true, y_pred = _data()
    got = _np(kerasloss.pinball_loss(y_true, y_pred, tau=tau))
    assert got.shape == (B,)
    np.testing.assert_allclose(got, ref.pinball(y_true, y_pred, tau), rtol=1e-6, atol=1e-7)


def test_addons_docstring_example():
    """Addons' own example: 0.475 for these four values at tau = 0.1."""
    got = kerasloss.PinballLoss(tau=0.1)([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(float(got), 0.475, rtol=1e-6)


def test_one_target_shared_by_every_quantile_column():
    y_true, y_pred = _data()
    target = y_true[:, :1]
    expected = ref.pinball(target, y_pred, TAUS)  # NumPy broadcasts (B, 1) over Q
    for given in (target, target[:, 0]):  # (B, 1) and (B,)
        got = _np(kerasloss.pinball_loss(given, y_pred, tau=TAUS))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # ... which is the target repeated in every column.
    repeated = np.repeat(target, Q, axis=1)
    np.testing.assert_allclose(
        _np(kerasloss.pinball_loss(repeated, y_pred, tau=TAUS)), expected, rtol=1e-6
    )


def test_one_target_per_column_and_one_level_per_column():
    y_true, y_pred = _data(1)
    got = _np(kerasloss.pinball_loss(y_true, y_pred, tau=TAUS))
    np.testing.assert_allclose(got, ref.pinball(y_true, y_pred, TAUS), rtol=1e-6, atol=1e-7)
    # Column q uses tau_q: each column on its own is the scalar loss at its level.
    for q, tau in enumerate(TAUS):
        column = _np(kerasloss.pinball_loss(y_true[:, q], y_pred[:, q], tau=tau))
        np.testing.assert_allclose(column, ref.pinball(y_true[:, q], y_pred[:, q], tau), rtol=1e-6)


def test_median_is_half_the_absolute_error():
    y_true, y_pred = _data(2)
    got = _np(kerasloss.pinball_loss(y_true, y_pred, tau=0.5))
    mae = _np(keras.losses.mean_absolute_error(y_true, y_pred))
    np.testing.assert_allclose(got, 0.5 * mae, rtol=1e-6)


def test_sequences_give_one_value_per_timestep_whose_mean_is_addons_value():
    y_true, y_pred = _data(3, shape=(B, 5, Q))
    got = _np(kerasloss.pinball_loss(y_true[..., :1], y_pred, tau=TAUS))
    assert got.shape == (B, 5)
    # Addons averages over every non-batch axis at once.
    np.testing.assert_allclose(
        got.mean(axis=1), ref.pinball(y_true[..., :1], y_pred, TAUS), rtol=1e-6
    )


def test_minimiser_is_the_empirical_quantile():
    """Over a constant prediction, the mean pinball loss is smallest at the tau-quantile."""
    sample = np.random.default_rng(4).standard_exponential(size=401).astype(np.float32)
    grid = np.linspace(0.0, 4.0, 801).astype(np.float32)
    y_true = np.broadcast_to(sample[:, None], (sample.size, grid.size))
    y_pred = np.broadcast_to(grid[None, :], (sample.size, grid.size))
    for tau in (0.1, 0.5, 0.9):
        # One row per grid point: the loss of that constant over the whole sample.
        per_candidate = _np(kerasloss.pinball_loss(y_true.T, y_pred.T, tau=tau))
        best = grid[np.argmin(per_candidate)]
        assert abs(best - np.quantile(sample, tau, method="inverted_cdf")) <= 0.0051


# ------------------------------------------------------------------ the class


@pytest.mark.parametrize("reduction", [None, "sum", "sum_over_batch_size"])
def test_class_reductions_and_sample_weight(reduction):
    y_true, y_pred = _data(5)
    expected = ref.pinball(y_true[:, :1], y_pred, TAUS)
    loss = kerasloss.PinballLoss(tau=TAUS, reduction=reduction)
    got = _np(loss(y_true[:, :1], y_pred))
    want = {None: expected, "sum": expected.sum(), "sum_over_batch_size": expected.mean()}
    np.testing.assert_allclose(got, want[reduction], rtol=1e-6, atol=1e-7)
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    got = _np(loss(y_true[:, :1], y_pred, sample_weight=weights))
    want = {
        None: expected * weights,
        "sum": (expected * weights).sum(),
        "sum_over_batch_size": (expected * weights).sum() / B,
    }
    np.testing.assert_allclose(got, want[reduction], rtol=1e-6, atol=1e-7)


def test_config_keeps_the_list_of_levels():
    loss = kerasloss.PinballLoss(tau=(0.25, 0.75), name="iqr")
    config = loss.get_config()
    assert config["tau"] == [0.25, 0.75] and config["name"] == "iqr"
    json.dumps(config)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, kerasloss.PinballLoss)
    assert restored.get_config() == config


def test_numpy_levels_are_plain_floats():
    loss = kerasloss.PinballLoss(tau=np.array([0.2, 0.8], np.float32))
    assert loss.get_config()["tau"] == pytest.approx([0.2, 0.8])
    assert all(type(t) is float for t in loss.get_config()["tau"])
    assert kerasloss.PinballLoss(tau=np.float64(0.3)).get_config()["tau"] == 0.3
    assert kerasloss.PinballLoss(tau=np.array(0.3)).get_config()["tau"] == 0.3


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("tau", [0.2, TAUS], ids=["scalar", "per_column"])
def test_gradient_matches_finite_differences(tau):
    y_true, y_pred = _data(6)
    x = y_pred.astype(np.float64)
    with float64_context():
        got = autodiff(lambda v: ops.sum(kerasloss.pinball_loss(y_true, v, tau=tau)), x)
    expected = finite_differences(lambda v: ref.pinball(y_true, v, tau).sum(), x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_gradient_at_a_tie_is_minus_tau_on_every_backend():
    y_true = np.array([[0.5, -1.0, 2.0]], np.float32)
    got = autodiff(
        lambda v: ops.sum(kerasloss.pinball_loss(y_true, v, tau=TAUS)), y_true.astype(np.float64)
    )
    np.testing.assert_allclose(got, -np.array([TAUS]) / Q, rtol=1e-12)


# ------------------------------------------------------------------ edges and errors


def test_large_values_and_16_bit_inputs_are_finite():
    y_true = np.array([[1e30, -1e30]], np.float32)
    y_pred = np.array([[-1e30, 1e30]], np.float32)
    got = _np(kerasloss.pinball_loss(y_true, y_pred, tau=[0.3, 0.6]))
    np.testing.assert_allclose(got, [(0.3 * 2e30 + 0.4 * 2e30) / 2], rtol=1e-6)
    for dtype in ("float16", "bfloat16"):
        y_true, y_pred = _data(7)
        as_16 = [ops.convert_to_tensor(a, dtype=dtype) for a in (y_true, y_pred)]
        got = kerasloss.pinball_loss(*as_16, tau=TAUS)
        assert keras.backend.standardize_dtype(got.dtype) == dtype
        rounded = [_np(ops.cast(t, "float32")) for t in as_16]
        np.testing.assert_allclose(
            _np(ops.cast(got, "float32")),
            ref.pinball(*rounded, TAUS),
            rtol={"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype] + 2.0**-18,
            atol=1e-6,
        )


def test_nan_reaches_the_loss():
    y_true, y_pred = _data(8)
    y_pred[2, 1] = np.nan
    got = _np(kerasloss.pinball_loss(y_true, y_pred, tau=TAUS))
    assert np.isnan(got[2]) and np.all(np.isfinite(np.delete(got, 2)))


@pytest.mark.parametrize(
    ("tau", "error", "match"),
    [
        (-0.1, ValueError, r"`tau` must be in \[0.0, 1.0\]; got -0.1"),
        (1.5, ValueError, r"`tau` must be in \[0.0, 1.0\]; got 1.5"),
        (float("nan"), ValueError, "`tau` must be finite"),
        ([0.1, 1.2], ValueError, r"`tau` must be in \[0.0, 1.0\]; got 1.2"),
        ([], ValueError, "non-empty flat list"),
        ([[0.1, 0.9]], ValueError, r"got shape \(1, 2\)"),
        ("0.5", TypeError, "`tau` must be a real number"),
        (True, TypeError, "`tau` must be a real number"),
        ([0.1, None], TypeError, "`tau` must be a real number"),
    ],
)
def test_bad_tau_is_rejected_at_construction(tau, error, match):
    with pytest.raises(error, match=match):
        kerasloss.PinballLoss(tau=tau)
    with pytest.raises(error, match=match):
        kerasloss.pinball_loss([[0.0]], [[0.0]], tau=tau)


def test_levels_must_match_the_columns():
    y_true, y_pred = _data()
    with pytest.raises(ValueError, match=r"one level per column of `y_pred` \(3\); got 2"):
        kerasloss.PinballLoss(tau=[0.1, 0.9])(y_true, y_pred)


@pytest.mark.parametrize(
    "true_shape", [(B, 2), (B + 1, 1), (B, Q, 1), (B, 1, Q)], ids=lambda s: str(s)
)
def test_targets_that_do_not_pair_are_rejected(true_shape):
    y_pred = np.zeros((B, Q), np.float32)
    with pytest.raises(ValueError, match=r"`y_true` must have shape \(8, 3\)"):
        kerasloss.pinball_loss(np.zeros(true_shape, np.float32), y_pred, tau=TAUS)


def test_a_scalar_prediction_is_rejected():
    with pytest.raises(ValueError, match="y_pred"):
        kerasloss.pinball_loss(0.0, 0.0)
