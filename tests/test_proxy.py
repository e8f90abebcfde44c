"""Proxy Anchor and Proxy-NCA: NumPy references, pytorch-metric-learning, gradients, edges,
the layers and a short fit on digits."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import _reference_proxy as ref
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss import proxy_anchor_loss, proxy_nca_loss
from kerasloss.layers import ProxyAnchor, ProxyNCA

BACKEND = keras.backend.backend()
B, C, D = 10, 4, 5


def _np(x):
    return ops.convert_to_numpy(x)


def _data(seed=0, batch=B, classes=C, present=None):
    rng = np.random.default_rng(seed)
    present = classes if present is None else present
    labels = rng.permutation(np.arange(batch) % present)
    x = rng.normal(size=(batch, D)) * rng.uniform(0.3, 3.0, size=(batch, 1))
    proxies = rng.normal(size=(classes, D)) * rng.uniform(0.5, 2.0, size=(classes, 1))
    return labels, x, proxies


ANCHOR_CASES = {
    "default": {"margin": 0.1, "alpha": 32.0},
    "soft": {"margin": 0.0, "alpha": 4.0},
    "wide": {"margin": 0.5, "alpha": 16.0},
}


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("case", ANCHOR_CASES)
def test_proxy_anchor_matches_the_paper(case):
    kwargs = ANCHOR_CASES[case]
    labels, x, proxies = _data()
    with float64_context():
        got = _np(proxy_anchor_loss(labels, x, proxies, **kwargs))
    assert got.shape == (B,) and got.dtype == np.float64
    np.testing.assert_allclose(
        got, ref.proxy_anchor_per_sample(labels, x, proxies, **kwargs), rtol=1e-9
    )
    np.testing.assert_allclose(
        got.mean(), ref.proxy_anchor(labels, x, proxies, **kwargs), rtol=1e-9
    )


@pytest.mark.parametrize("scale", [1.0, 8.0])
def test_proxy_nca_matches_the_paper_with_the_own_proxy_in_the_softmax(scale):
    labels, x, proxies = _data(1)
    with float64_context():
        got = _np(proxy_nca_loss(labels, x, proxies, softmax_scale=scale))
    np.testing.assert_allclose(got, ref.proxy_nca(labels, x, proxies, scale), rtol=1e-9)


def test_float32_and_labels_of_shape_b_1():
    labels, x, proxies = _data(2)
    x32, p32 = x.astype("float32"), proxies.astype("float32")
    got = _np(proxy_anchor_loss(labels[:, None], x32, p32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref.proxy_anchor_per_sample(labels, x32, p32), rtol=2e-4)
    got = _np(proxy_nca_loss(labels.astype("float32")[:, None], x32, p32))
    np.testing.assert_allclose(got, ref.proxy_nca(labels, x32, p32), rtol=1e-5)


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("wrt", ["embeddings", "proxies"])
@pytest.mark.parametrize("loss", ["anchor", "nca"])
def test_gradient_matches_finite_differences(loss, wrt):
    labels, x, proxies = _data(3)
    fn, reference = {
        "anchor": (
            lambda e, p: proxy_anchor_loss(labels, e, p, margin=0.1, alpha=8.0),
            lambda e, p: ref.proxy_anchor(labels, e, p, margin=0.1, alpha=8.0),
        ),
        "nca": (
            lambda e, p: proxy_nca_loss(labels, e, p, softmax_scale=2.0),
            lambda e, p: ref.proxy_nca(labels, e, p, 2.0).mean(),
        ),
    }[loss]
    if wrt == "embeddings":
        got = autodiff(lambda v: ops.mean(fn(v, proxies)), x)
        want = finite_differences(lambda v: reference(v, proxies), x)
    else:
        got = autodiff(lambda v: ops.mean(fn(x, v)), proxies)
        want = finite_differences(lambda v: reference(x, v), proxies)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ pytorch-metric-learning


def _pml():
    if BACKEND != "torch":
        pytest.skip("pytorch-metric-learning runs in the torch session only")
    import torch
    from pytorch_metric_learning import losses  # a test dependency there: fail if missing

    return torch, losses


@pytest.mark.parametrize(
    ("name", "kwargs", "present"),
    [
        ("anchor", {"margin": 0.1, "alpha": 32.0}, C),
        ("anchor", {"margin": 0.3, "alpha": 8.0}, C - 1),  # a class absent from the batch
        ("nca", {"softmax_scale": 1.0}, C),
        ("nca", {"softmax_scale": 5.0}, C - 1),
    ],
    ids=["anchor", "anchor_absent_class", "nca", "nca_absent_class"],
)
def test_matches_pytorch_metric_learning_value_and_gradient(name, kwargs, present):
    torch, losses = _pml()
    labels, x, proxies = _data(4, present=present)
    if name == "anchor":
        pml = losses.ProxyAnchorLoss(C, D, **kwargs)
        fn = proxy_anchor_loss
    else:
        pml = losses.ProxyNCALoss(C, D, **kwargs)
        fn = proxy_nca_loss
    pml.proxies = torch.nn.Parameter(torch.tensor(proxies, dtype=torch.float64))
    xt = torch.tensor(x, requires_grad=True)
    expected = pml(xt, torch.tensor(labels))
    expected.backward()

    et = torch.tensor(x, requires_grad=True)
    pt = torch.tensor(proxies, requires_grad=True)
    got = torch.mean(fn(labels, et, pt, **kwargs))
    got.backward()
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-9)
    np.testing.assert_allclose(et.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(pt.grad.numpy(), pml.proxies.grad.numpy(), rtol=1e-7, atol=1e-12)


# ------------------------------------------------------------------ edges


def test_absent_class_one_class_batch_and_identical_embeddings():
    labels, x, proxies = _data(5, present=2)
    with float64_context():
        for fn, reference in (
            (proxy_anchor_loss, ref.proxy_anchor_per_sample),
            (proxy_nca_loss, ref.proxy_nca),
        ):
            one_class = np.zeros(B, dtype=int)
            same = np.repeat(x[:1], B, axis=0)
            for lab, emb in ((labels, x), (one_class, x), (labels, same), (one_class, same)):
                got = _np(fn(lab, emb, proxies))
                np.testing.assert_allclose(got, reference(lab, emb, proxies), rtol=1e-9)
            grad = autodiff(lambda v, fn=fn: ops.mean(fn(labels, v, proxies)), same)
            assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("fn", [proxy_anchor_loss, proxy_nca_loss])
def test_zero_embeddings_and_extreme_scales_stay_finite(fn):
    labels, x, proxies = _data(6)
    x[0] = 0.0  # a zero vector: cosine 0 with every proxy
    kwargs = {"alpha": 1e4} if fn is proxy_anchor_loss else {"softmax_scale": 1e4}
    for dtype in ("float32", "float16"):
        e = ops.convert_to_tensor(x.astype(dtype))
        p = ops.convert_to_tensor(proxies.astype("float32"))
        assert np.all(np.isfinite(_np(ops.cast(fn(labels, e, p, **kwargs), "float32"))))
    grad = autodiff(lambda v: ops.mean(fn(labels, v, proxies, **kwargs)), x)
    assert np.all(np.isfinite(grad))


def test_nan_embeddings_reach_the_loss():
    labels, x, proxies = _data(7)
    x[3, 1] = np.nan
    assert np.isnan(_np(proxy_anchor_loss(labels, x, proxies))).any()
    assert np.isnan(_np(proxy_nca_loss(labels, x, proxies))[3])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: ProxyAnchor(3, margin=-0.1), ValueError, r"`margin` must be >= 0.*-0.1"),
        (lambda: ProxyAnchor(3, alpha=0.0), ValueError, r"`alpha` must be > 0.*0.0"),
        (lambda: ProxyAnchor(3, alpha="big"), TypeError, "`alpha` must be a real number"),
        (lambda: ProxyAnchor(0), ValueError, "`num_classes` must be an integer >= 1"),
        (lambda: ProxyNCA(3, softmax_scale=-1.0), ValueError, r"`softmax_scale` must be > 0"),
        (lambda: ProxyNCA(2.0), TypeError, "`num_classes`"),
        (
            lambda: proxy_nca_loss([0], np.ones((1, 3)), np.ones((2, 4))),
            ValueError,
            r"`proxies` must have shape \(C, D\) = \(C, 3\)",
        ),
        (
            lambda: proxy_anchor_loss([0], np.ones(3), np.ones((2, 3))),
            ValueError,
            r"`y_pred` must be embeddings of shape \(batch_size, D\)",
        ),
        (
            lambda: proxy_anchor_loss([0, 1], np.ones((1, 3)), np.ones((2, 3))),
            ValueError,
            "one entry per row",
        ),
        (
            lambda: ProxyNCA(2)(np.ones((2, 3))),
            ValueError,
            r"called on `\[embeddings, labels\]`",
        ),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ------------------------------------------------------------------ layers


@pytest.mark.parametrize(
    ("cls", "kwargs", "fn"),
    [
        (ProxyAnchor, {"margin": 0.2, "alpha": 16.0}, proxy_anchor_loss),
        (ProxyNCA, {"softmax_scale": 3.0}, proxy_nca_loss),
    ],
)
def test_layer_adds_the_mean_and_returns_the_embeddings(cls, kwargs, fn):
    labels, x, _ = _data(8)
    x = x.astype("float32")
    layer = cls(C, **kwargs)
    out = layer([x, labels])
    assert layer.proxies.path.endswith("proxies") and tuple(layer.proxies.shape) == (C, D)
    np.testing.assert_array_equal(_np(out), x)
    expected = _np(fn(labels, x, layer.get_weights()[0], **kwargs)).mean()
    np.testing.assert_allclose(float(_np(layer.losses[0])), expected, rtol=1e-6)


# ------------------------------------------------------------------ training on digits


def precision_at_1(embeddings, labels):
    """Share of samples whose nearest other sample (cosine) has the same label."""
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return float(np.mean(labels[similarity.argmax(axis=1)] == labels))


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


def _encoder(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4)(hidden))


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [lambda: ProxyAnchor(10), lambda: ProxyNCA(10, softmax_scale=8.0)],
    ids=["anchor", "nca"],
)
def test_fit_on_digits_beats_an_untrained_encoder(make):
    x_train, x_test, y_train, y_test = _digits()
    encoder = _encoder(0)
    before = precision_at_1(encoder.predict(x_test, verbose=0), y_test)
    x_in, y_in = keras.Input((64,)), keras.Input((), dtype="int32")
    model = keras.Model([x_in, y_in], make()([encoder(x_in), y_in]))
    model.compile(keras.optimizers.Adam(0.01))
    history = model.fit([x_train, y_train], batch_size=64, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    after = precision_at_1(encoder.predict(x_test, verbose=0), y_test)
    assert after >= before + 0.2, (before, after)  # measured on torch: 0.42 -> 0.75 (anchor)
