"""SubCenterArcFace against NumPy and pytorch-metric-learning; the dominant sub-centres;
SphereFace's `scale`; a short fit on digits."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import ops

import _reference as ref_margin
import _reference_proxy as ref
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss.layers import ArcFace, SphereFace, SubCenterArcFace

BACKEND = keras.backend.backend()
B, D, C, K = 12, 6, 4, 3


def _np(x):
    return ops.convert_to_numpy(x)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(D, C * K)) * rng.uniform(0.3, 3.0, size=(1, C * K))
    x = rng.normal(size=(B, D)) * rng.uniform(0.2, 5.0, size=(B, 1))
    labels = np.arange(B) % C
    x[0] = 2.0 * kernel[:, 1]  # on sub-centre 1 of class 0: theta = 0
    x[1] = -kernel[:, K] - kernel[:, K + 1] - kernel[:, K + 2]  # far from class 1
    return x, kernel, labels


def _layer(kernel, dtype="float64", **kwargs):
    layer = SubCenterArcFace(C, sub_centers=kernel.shape[1] // C, dtype=dtype, **kwargs)
    layer.build((None, kernel.shape[0]))
    layer.kernel.assign(kernel.astype(dtype))
    return layer


@pytest.mark.parametrize(
    "kwargs", [{}, {"scale": 16.0, "margin": 1.2}, {"scale": 30.0, "margin": 0.0}]
)
def test_logits_match_the_reference(kwargs):
    x, kernel, labels = _data()
    with float64_context():
        layer = _layer(kernel, **kwargs)
        with_margin = _np(layer([x, labels]))
        plain = _np(layer(x))
    hyper = {"scale": 64.0, "margin": 0.5, **kwargs}
    np.testing.assert_allclose(
        with_margin, ref.subcenter_arcface_logits(x, kernel, labels, K, **hyper), rtol=1e-9
    )
    np.testing.assert_allclose(
        plain, ref.subcenter_arcface_logits(x, kernel, None, K, **hyper), rtol=1e-9, atol=1e-12
    )


def test_one_sub_centre_is_arcface():
    x, kernel, labels = _data(1)
    kernel = kernel[:, :C]
    with float64_context():
        got = _np(_layer(kernel, scale=8.0, margin=0.3)([x, labels]))
        arc = ArcFace(C, scale=8.0, margin=0.3, dtype="float64")
        arc.build((None, D))
        arc.kernel.assign(kernel)
        np.testing.assert_allclose(got, _np(arc([x, labels])), rtol=1e-12)


def test_gradient_matches_finite_differences():
    x, kernel, labels = _data(2)

    def reference(v):
        logits = ref.subcenter_arcface_logits(v, kernel, labels, K, scale=4.0, margin=0.5)
        return -ref_margin.log_softmax(logits)[np.arange(B), labels].mean()

    def loss(v):
        logits = _layer(kernel, scale=4.0)([v, labels])
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        )

    with float64_context():
        got = autodiff(loss, x)
    # Row 0 lies on a sub-centre (theta = 0), where the angle has a kink: finite there,
    # compared elsewhere.
    assert np.all(np.isfinite(got))
    want = finite_differences(reference, x)
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-5, atol=1e-8)


def test_float16_and_identical_embeddings_stay_finite():
    x, kernel, labels = _data(3)
    same = np.repeat(x[:1], B, axis=0)
    layer = SubCenterArcFace(C, sub_centers=K, dtype="mixed_float16")
    layer.build((None, D))
    layer.set_weights([kernel.astype("float32")])
    logits = _np(layer([same.astype("float16"), labels]))
    assert logits.dtype == np.float32 and np.all(np.isfinite(logits))


# ------------------------------------------------------------------ dominant sub-centres


def test_dominant_sub_centers_and_outliers_match_the_reference():
    x, kernel, labels = _data(4)
    labels = labels.copy()
    labels[labels == 3] = 2  # class 3 absent: dominant -1
    layer = _layer(kernel, dtype="float32")
    for max_angle in (math.radians(75), math.radians(40)):
        dominant, outliers = layer.dominant_sub_centers(
            x.astype("float32"), labels, max_angle=max_angle
        )
        want_dominant, want_outliers = ref.dominant_sub_centers(x, kernel, labels, K, max_angle)
        np.testing.assert_array_equal(_np(dominant), want_dominant)
        np.testing.assert_array_equal(_np(outliers), want_outliers)
    assert _np(dominant)[3] == -1 and _np(outliers).any()


def test_dominant_sub_centers_arguments():
    x, kernel, labels = _data(5)
    with pytest.raises(ValueError, match="needs a built layer"):
        SubCenterArcFace(C).dominant_sub_centers(x, labels)
    layer = _layer(kernel, dtype="float32")
    with pytest.raises(ValueError, match=r"`max_angle` must be in \(0, pi\]"):
        layer.dominant_sub_centers(x, labels, max_angle=4.0)
    with pytest.raises(ValueError, match=r"`labels` must be integer class ids in \[0, 4\)"):
        layer.dominant_sub_centers(x, np.full(B, C))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sub_centers": 0}, ValueError, "`sub_centers` must be an integer >= 1; got 0"),
        ({"sub_centers": 2.0}, TypeError, "`sub_centers` must be an integer"),
        ({"scale": -1.0}, ValueError, "`scale` must be > 0"),
        ({"margin": -0.1}, ValueError, r"`margin` must be in \[0, pi/2\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        SubCenterArcFace(3, **kwargs)


# ------------------------------------------------------------------ pytorch-metric-learning


def _pml():
    if BACKEND != "torch":
        pytest.skip("pytorch-metric-learning runs in the torch session only")
    import torch
    from pytorch_metric_learning import losses  # a test dependency there: fail if missing

    return torch, losses


@pytest.mark.parametrize("margin", [0.5, 1.2])
def test_matches_pytorch_metric_learning(margin):
    torch, losses = _pml()
    x, kernel, labels = _data(6)
    pml = losses.SubCenterArcFaceLoss(
        num_classes=C, embedding_size=D, margin=math.degrees(margin), scale=16, sub_centers=K
    )
    pml.W = torch.nn.Parameter(torch.tensor(kernel, dtype=torch.float64))
    xt = torch.tensor(x, requires_grad=True)
    expected = pml(xt, torch.tensor(labels))
    expected.backward()

    layer = _layer(kernel, scale=16.0, margin=margin)
    et = torch.tensor(x, requires_grad=True)
    logits = layer([et, labels])
    got = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    got.backward()
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-9)
    np.testing.assert_allclose(et.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-12)
    with torch.no_grad():
        np.testing.assert_allclose(_np(layer(x)), 16.0 * pml.get_cosine(xt).numpy(), rtol=1e-9)


def test_dominant_sub_centers_match_pytorch_metric_learning():
    torch, losses = _pml()
    x, kernel, labels = _data(7)
    pml = losses.SubCenterArcFaceLoss(num_classes=C, embedding_size=D, sub_centers=K)
    pml.W = torch.nn.Parameter(torch.tensor(kernel, dtype=torch.float64))
    outlier_idx, centres = pml.get_outliers(torch.tensor(x), torch.tensor(labels), threshold=60)
    dominant, outliers = _layer(kernel).dominant_sub_centers(x, labels, max_angle=math.radians(60))
    np.testing.assert_array_equal(np.flatnonzero(_np(outliers)), np.sort(outlier_idx.numpy()))
    columns = np.arange(C) * K + _np(dominant)
    np.testing.assert_allclose(kernel[:, columns], centres.numpy())


# ------------------------------------------------------------------ SphereFace's scale


def test_sphereface_scale_multiplies_every_logit_and_is_in_the_config():
    x, kernel, labels = _data(8)
    kernel = kernel[:, :C]
    layers = []
    with float64_context():  # JAX makes float64 variables only with x64 on
        for scale in (1.0, 2.5):
            layer = SphereFace(C, margin=3, scale=scale, dtype="float64")
            layer.build((None, D))
            layer.kernel.assign(kernel)
            layers.append(layer)
        for inputs in ([x, labels], x):
            np.testing.assert_allclose(
                _np(layers[1](inputs)), 2.5 * _np(layers[0](inputs)), rtol=1e-12
            )
        np.testing.assert_allclose(
            _np(layers[0]([x, labels])),
            ref_margin.sphereface_logits(x, kernel, labels, margin=3),
            rtol=1e-9,
        )
    assert layers[1].get_config()["scale"] == 2.5
    assert SphereFace.from_config(layers[1].get_config()).scale == 2.5


# ------------------------------------------------------------------ training on digits


@pytest.mark.slow
def test_fit_on_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from test_proxy import precision_at_1

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    keras.utils.set_random_seed(0)
    inputs, labels = keras.Input((64,)), keras.Input((), dtype="int32")
    encoder = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dense(4)])
    embedding = encoder(inputs)
    head = SubCenterArcFace(10, sub_centers=3, scale=16.0, margin=0.3)
    train = keras.Model([inputs, labels], head([embedding, labels]))
    infer = keras.Model(inputs, head(embedding))
    before = precision_at_1(encoder.predict(x_test, verbose=0), y_test)
    train.compile(
        keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = train.fit([x_train, y_train], y_train, batch_size=64, epochs=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = precision_at_1(encoder.predict(x_test, verbose=0), y_test)
    accuracy = np.mean(np.argmax(infer.predict(x_test, verbose=0), -1) == y_test)
    assert after >= before + 0.1 and accuracy >= 0.85, (before, after, accuracy)
    dominant, outliers = head.dominant_sub_centers(encoder.predict(x_train, verbose=0), y_train)
    assert np.all(_np(dominant) >= 0) and np.mean(_np(outliers)) < 0.1
