"""CLIP's and SigLIP's losses and layers: values, gradients, edges, errors, training."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import _reference_two_tower as rt
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss import clip_loss, siglip_loss
from kerasloss.layers import CLIPLoss, SigLIPLoss


def np_(x):
    return keras.ops.convert_to_numpy(x)


def _pairs(seed=0, batch=6, dim=4, noise=0.5):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(batch, dim))
    return a.astype(np.float32), (a + noise * rng.normal(size=(batch, dim))).astype(np.float32)


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize("scale", [0.5, 14.3, 100.0])
def test_clip_loss_matches_the_reference(scale):
    a, b = _pairs()
    # float32 cosines are rounded to ~1e-7, which the scale multiplies.
    np.testing.assert_allclose(
        np_(clip_loss(a, b, logit_scale=scale)), rt.clip(a, b, scale), rtol=2e-5, atol=1e-6 * scale
    )


@pytest.mark.parametrize(("scale", "bias"), [(1.0, 0.0), (10.0, -10.0), (50.0, 3.0)])
def test_siglip_loss_matches_the_reference(scale, bias):
    a, b = _pairs(seed=1)
    got = np_(siglip_loss(a, b, logit_scale=scale, logit_bias=bias))
    np.testing.assert_allclose(got, rt.siglip(a, b, scale, bias), rtol=2e-5, atol=1e-6 * scale)


def test_clip_mean_is_the_papers_symmetric_batch_loss():
    """The mean of the per-pair values is (CE over rows + CE over columns) / 2."""
    a, b = _pairs(seed=2)
    logits = 7.0 * rt._cosines(a, b)
    rows = np.mean([-rt._log_softmax(logits, 1)[i, i] for i in range(len(a))])
    cols = np.mean([-rt._log_softmax(logits.T, 1)[i, i] for i in range(len(a))])
    got = float(np.mean(np_(clip_loss(a, b, logit_scale=7.0))))
    np.testing.assert_allclose(got, (rows + cols) / 2, rtol=1e-5)


def test_siglip_mean_is_the_total_over_the_batch_size():
    a, b = _pairs(seed=3)
    z = 2 * np.eye(len(a)) - 1
    logits = 10.0 * rt._cosines(a, b) - 10.0
    total = -np.sum(np.log(1 / (1 + np.exp(-z * logits))))
    got = float(np.mean(np_(siglip_loss(a, b, logit_scale=10.0, logit_bias=-10.0))))
    np.testing.assert_allclose(got, total / len(a), rtol=1e-5)


def test_tensor_scale_and_bias_equal_numbers():
    a, b = _pairs(seed=4)
    scale = keras.ops.convert_to_tensor(3.0)
    np.testing.assert_allclose(
        np_(clip_loss(a, b, logit_scale=scale)), np_(clip_loss(a, b, logit_scale=3.0)), rtol=1e-6
    )
    bias = keras.Variable(-1.5)
    np.testing.assert_allclose(
        np_(siglip_loss(a, b, logit_scale=scale, logit_bias=bias)),
        np_(siglip_loss(a, b, logit_scale=3.0, logit_bias=-1.5)),
        rtol=1e-6,
    )


def test_extreme_scales_stay_exact_in_log_space():
    """At a scale of 1e4 the softmax saturates; log_softmax and log_sigmoid keep the value."""
    a, b = (x.astype(np.float64) for x in _pairs(seed=5, noise=2.0))
    with float64_context():
        clip = np_(clip_loss(a, b, logit_scale=1e4))
        siglip = np_(siglip_loss(a, b, logit_scale=1e4, logit_bias=-40.0))
    assert np.all(np.isfinite(clip)) and np.all(np.isfinite(siglip))
    np.testing.assert_allclose(clip, rt.clip(a, b, 1e4), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(siglip, rt.siglip(a, b, 1e4, -40.0), rtol=1e-9, atol=1e-9)


def test_identical_and_zero_embeddings_are_finite():
    a = np.ones((4, 3), np.float32)
    # All pairs equally similar: each row's softmax is uniform, -log(1/4) both ways.
    np.testing.assert_allclose(np_(clip_loss(a, a, logit_scale=10.0)), np.log(4.0), rtol=1e-6)
    zero = np.zeros((4, 3), np.float32)
    np.testing.assert_allclose(np_(clip_loss(zero, a, logit_scale=10.0)), np.log(4.0), rtol=1e-6)
    got = np_(siglip_loss(zero, zero, logit_scale=10.0, logit_bias=-10.0))
    np.testing.assert_allclose(got, rt.siglip(zero, zero, 10.0, -10.0), rtol=1e-6)


def test_a_nan_embedding_reaches_the_loss():
    a, b = _pairs(seed=6)
    a[2, 1] = np.nan
    assert np.isnan(np.mean(np_(clip_loss(a, b, logit_scale=5.0))))
    assert np.isnan(np.mean(np_(siglip_loss(a, b, logit_scale=5.0, logit_bias=0.0))))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_inputs_are_computed_in_float32(dtype):
    a, b = _pairs(seed=7)
    a16, b16 = (keras.ops.cast(x, dtype) for x in (a, b))
    rounded = [np_(keras.ops.cast(x, "float32")) for x in (a16, b16)]
    got = clip_loss(a16, b16, logit_scale=20.0)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    expected = rt.clip(*rounded, 20.0)
    np.testing.assert_allclose(np_(keras.ops.cast(got, "float32")), expected, rtol=1e-2)


# ------------------------------------------------------------------------ gradients


def _gradient_check(loss, reference, x):
    """d/dx of sum(loss) against central differences of the NumPy reference, float64."""
    with float64_context():
        got = autodiff(lambda v: keras.ops.sum(loss(v)), x)
    want = finite_differences(lambda v: reference(v).sum(), x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_clip_gradients_match_finite_differences():
    a, b = (x.astype(np.float64) for x in _pairs(seed=8, batch=4, dim=3))
    _gradient_check(lambda v: clip_loss(v, b, logit_scale=6.0), lambda v: rt.clip(v, b, 6.0), a)
    _gradient_check(
        lambda v: clip_loss(a, b, logit_scale=v), lambda v: rt.clip(a, b, float(v)), 6.0
    )


def test_siglip_gradients_match_finite_differences():
    a, b = (x.astype(np.float64) for x in _pairs(seed=9, batch=4, dim=3))
    _gradient_check(
        lambda v: siglip_loss(a, v, logit_scale=4.0, logit_bias=-2.0),
        lambda v: rt.siglip(a, v, 4.0, -2.0),
        b,
    )
    _gradient_check(
        lambda v: siglip_loss(a, b, logit_scale=4.0, logit_bias=v),
        lambda v: rt.siglip(a, b, 4.0, float(v)),
        -2.0,
    )


# --------------------------------------------------------------------------- errors


def test_bad_inputs_and_arguments_are_named():
    a, b = _pairs()
    with pytest.raises(ValueError, match=r"`a` and `b` must be paired embeddings"):
        clip_loss(a, b[:3], logit_scale=1.0)
    with pytest.raises(ValueError, match="logit_scale"):
        clip_loss(a, b, logit_scale=-1.0)
    with pytest.raises(TypeError, match="logit_bias"):
        siglip_loss(a, b, logit_scale=1.0, logit_bias="high")
    with pytest.raises(ValueError, match="must be a scalar"):
        clip_loss(a, b, logit_scale=np.ones(2, np.float32))
    with pytest.raises(ValueError, match="temperature"):
        CLIPLoss(temperature=0.0)
    with pytest.raises(ValueError, match="max_scale"):
        CLIPLoss(temperature=0.07, max_scale=10.0)
    with pytest.raises(ValueError, match="scale"):
        SigLIPLoss(scale=-1.0)
    with pytest.raises(ValueError, match=r"list \[a, b\]"):
        CLIPLoss()(a)


# --------------------------------------------------------------------------- layers


def test_layers_start_from_the_papers_values_and_add_the_mean_loss():
    a, b = _pairs(seed=10)
    clip = CLIPLoss()
    out = clip([a, b])
    assert len(out) == 2
    np.testing.assert_allclose(float(np_(clip.log_scale)), math.log(1 / 0.07), rtol=1e-6)
    np.testing.assert_allclose(
        float(np_(clip.losses[0])), rt.clip(a, b, 1 / 0.07).mean(), rtol=1e-5
    )
    siglip = SigLIPLoss()
    siglip([a, b])
    np.testing.assert_allclose(float(np_(siglip.log_scale)), math.log(10.0), rtol=1e-6)
    assert float(np_(siglip.bias)) == -10.0
    expected = rt.siglip(a, b, 10.0, -10.0).mean()
    np.testing.assert_allclose(float(np_(siglip.losses[0])), expected, rtol=1e-5)


def test_clip_scale_is_clamped_at_max_scale():
    a, b = _pairs(seed=11)
    layer = CLIPLoss(temperature=0.07, max_scale=100.0)
    layer([a, b])
    layer.log_scale.assign(math.log(1000.0))
    layer([a, b])
    np.testing.assert_allclose(float(np_(layer.losses[0])), rt.clip(a, b, 100.0).mean(), rtol=1e-5)


def _digit_halves(n, seed=0):
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.float32) / 16.0
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(images))[:n]
    top, bottom = images[pick, :4].reshape(n, -1), images[pick, 4:].reshape(n, -1)
    return top, bottom


def _retrieval_accuracy(a, b):
    """Share of rows i whose nearest row of b (cosine) is b_i."""
    cos = rt._cosines(a, b)
    return float(np.mean(np.argmax(cos, axis=1) == np.arange(len(a))))


@pytest.mark.slow
@pytest.mark.parametrize("layer_cls", [CLIPLoss, SigLIPLoss])
def test_two_towers_learn_to_pair_the_halves_of_digits(layer_cls):
    """Top half of a digit image paired with its bottom half; held-out retrieval rises."""
    keras.utils.set_random_seed(0)
    top, bottom = _digit_halves(1200)
    train, test = slice(0, 1000), slice(1000, 1200)
    x_top, x_bottom = keras.Input((32,)), keras.Input((32,))
    tower_a = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(16)])
    tower_b = keras.Sequential([keras.layers.Dense(64, activation="relu"), keras.layers.Dense(16)])
    outputs = layer_cls()([tower_a(x_top), tower_b(x_bottom)])
    model = keras.Model([x_top, x_bottom], outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = _retrieval_accuracy(*model.predict([top[test], bottom[test]], verbose=0))
    model.fit([top[train], bottom[train]], None, batch_size=100, epochs=15, verbose=0)
    after = _retrieval_accuracy(*model.predict([top[test], bottom[test]], verbose=0))
    # Chance among 200 held-out pairs is 0.005.
    assert after > max(3 * before, 0.15), (before, after)
