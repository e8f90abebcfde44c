"""ArcFace, CosFace and SphereFace against NumPy and pytorch-metric-learning, edges, training."""

from __future__ import annotations

import inspect
import json
import math
import textwrap

import keras
import numpy as np
import pytest

import _reference as ref
from _autodiff import autodiff, finite_differences, float64_context
from _fresh import reload_in_fresh_process
from kerasloss.layers.margin import ArcFace, CosFace, SphereFace

BACKEND = keras.backend.backend()
B, D, C = 12, 6, 5

# (layer class, its keyword arguments, the NumPy reference, its keyword arguments)
CASES = {
    "cosface": (CosFace, {}, ref.cosface_logits, {"scale": 64.0, "margin": 0.35}),
    "cosface_s16": (
        CosFace,
        {"scale": 16.0, "margin": 0.2},
        ref.cosface_logits,
        {"scale": 16.0, "margin": 0.2},
    ),
    "arcface": (ArcFace, {}, ref.arcface_logits, {"scale": 64.0, "margin": 0.5}),
    "arcface_wide": (
        ArcFace,
        {"scale": 8.0, "margin": 1.2},
        ref.arcface_logits,
        {"scale": 8.0, "margin": 1.2},
    ),
    "sphereface": (SphereFace, {}, ref.sphereface_logits, {"margin": 4}),
    "sphereface_m3": (SphereFace, {"margin": 3}, ref.sphereface_logits, {"margin": 3}),
    "sphereface_blend": (
        SphereFace,
        {"margin": 2, "softmax_weight": 5.0},
        ref.sphereface_logits,
        {"margin": 2, "softmax_weight": 5.0},
    ),
}


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _data(seed=0):
    """Embeddings of uneven norms, uneven class vectors, and rows at theta = 0 and pi."""
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(D, C)) * rng.uniform(0.3, 3.0, size=(1, C))
    x = rng.normal(size=(B, D)) * rng.uniform(0.2, 5.0, size=(B, 1))
    labels = rng.integers(0, C, size=B)
    labels[:4] = [0, 1, 2, 3]
    x[0] = 2.0 * kernel[:, 0]  # theta = 0: on its class vector
    x[1] = -0.5 * kernel[:, 1]  # theta = pi: opposite its class vector
    # theta just inside and just beyond pi - m for ArcFace's m = 0.5: the fallback branch.
    unit = kernel[:, 2] / np.linalg.norm(kernel[:, 2])
    other = rng.normal(size=D)
    other -= other @ unit * unit
    other /= np.linalg.norm(other)
    x[2] = np.cos(math.pi - 0.45) * unit + np.sin(math.pi - 0.45) * other
    x[3] = (
        np.cos(math.pi - 0.3) * kernel[:, 3] / np.linalg.norm(kernel[:, 3])
        + np.sin(math.pi - 0.3) * other
    )
    return x, kernel, labels


def _layer(cls, kwargs, kernel, dtype="float64"):
    layer = cls(kernel.shape[1], dtype=dtype, **kwargs)
    layer.build((None, kernel.shape[0]))
    layer.kernel.assign(kernel.astype(dtype))
    return layer


# ----------------------------------------------------------------- values against NumPy


@pytest.mark.parametrize("case", CASES)
def test_logits_match_the_numpy_reference(case):
    cls, kwargs, reference, ref_kwargs = CASES[case]
    x, kernel, labels = _data()
    with float64_context():
        layer = _layer(cls, kwargs, kernel)
        trained = _np(layer([x, labels]))
        plain = _np(layer(x))
    expected = reference(x, kernel, labels, **ref_kwargs)
    # atol: at theta = 0 one rounding of the cosine moves sin(theta) by sqrt(2 eps), 1.5e-8,
    # and ArcFace's logit by scale * sin(m) times that.
    np.testing.assert_allclose(trained, expected, rtol=1e-9, atol=2e-6)
    np.testing.assert_allclose(plain, reference(x, kernel, **ref_kwargs), rtol=1e-9, atol=1e-9)
    assert trained.dtype == np.float64 or BACKEND == "jax"


@pytest.mark.parametrize("case", ["cosface", "arcface", "sphereface"])
def test_float32_logits_match_the_reference_away_from_the_poles(case):
    cls, kwargs, reference, ref_kwargs = CASES[case]
    x, kernel, labels = _data(seed=1)
    x, labels = x[4:], labels[4:]  # random rows: |cos| well below 1
    layer = _layer(cls, kwargs, kernel, dtype="float32")
    got = _np(layer([x.astype("float32"), labels]))
    assert got.dtype == np.float32
    scale = np.abs(ref.margin_cosines(x, kernel)).max() * ref_kwargs.get("scale", 5.0)
    np.testing.assert_allclose(got, reference(x, kernel, labels, **ref_kwargs), atol=1e-5 * scale)


@pytest.mark.parametrize("cls", [CosFace, ArcFace, SphereFace])
def test_labels_as_column_or_floats_give_the_same_logits(cls):
    x, kernel, labels = _data()
    layer = _layer(cls, {}, kernel, dtype="float32")
    x = x.astype("float32")
    expected = _np(layer([x, labels]))
    np.testing.assert_array_equal(_np(layer([x, labels[:, None]])), expected)
    np.testing.assert_array_equal(_np(layer([x, labels.astype("float32")])), expected)


def test_zero_margin_gives_the_plain_logits():
    x, kernel, labels = _data()
    for layer in (
        _layer(CosFace, {"margin": 0.0}, kernel, "float32"),
        _layer(ArcFace, {"margin": 0.0}, kernel, "float32"),
        _layer(SphereFace, {"margin": 1}, kernel, "float32"),
    ):
        np.testing.assert_allclose(
            _np(layer([x, labels])), _np(layer(x)), atol=1e-5, err_msg=layer.name
        )


# ----------------------------------------------------------- pytorch-metric-learning


def _pml():
    if BACKEND != "torch":
        pytest.skip("pytorch-metric-learning runs in the torch session only")
    import torch
    from pytorch_metric_learning import losses  # a test dependency there: fail if missing

    return torch, losses


PML_CASES = {
    # (kerasloss layer and arguments, pytorch-metric-learning loss with the same values)
    "arcface": (ArcFace, {}, lambda L: L.ArcFaceLoss(C, D, margin=math.degrees(0.5))),
    "arcface_pml_default": (
        ArcFace,
        {"margin": math.radians(28.6)},
        lambda L: L.ArcFaceLoss(C, D),
    ),
    "cosface": (CosFace, {}, lambda L: L.CosFaceLoss(C, D)),
    "cosface_s30": (
        CosFace,
        {"scale": 30.0, "margin": 0.2},
        lambda L: L.CosFaceLoss(C, D, scale=30, margin=0.2),
    ),
    "sphereface": (SphereFace, {}, lambda L: L.SphereFaceLoss(C, D)),
    "sphereface_m3": (SphereFace, {"margin": 3}, lambda L: L.SphereFaceLoss(C, D, margin=3)),
}


@pytest.mark.parametrize("case", PML_CASES)
def test_matches_pytorch_metric_learning(case):
    torch, losses = _pml()
    cls, kwargs, make_loss = PML_CASES[case]
    x, kernel, labels = _data()
    layer = _layer(cls, kwargs, kernel)
    pml = make_loss(losses)
    # Assigned as a float64 Parameter: copying into PML's float32 one would round it.
    pml.W = torch.nn.Parameter(torch.tensor(kernel, dtype=torch.float64))
    xt, yt = torch.tensor(x), torch.tensor(labels)

    # The loss value: PML returns the batch mean of the cross-entropy.
    expected_loss = pml(xt, yt).item()
    logits = layer([x, labels])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    got_loss = loss(labels, logits)
    # rtol: Keras' cross-entropy on torch rounds float64 logits through float32 (~3e-8).
    np.testing.assert_allclose(float(_np(got_loss)), expected_loss, rtol=1e-6)

    # The margin logits, rebuilt from PML's own steps.
    with torch.no_grad():
        mask = pml.get_target_mask(xt, yt)
        cosine = pml.get_cosine(xt)
        target = cosine[mask == 1]
        modified = pml.modify_cosine_of_target_classes(target)
        expected = pml.scale_logits(cosine + mask * (modified - target)[:, None], xt).numpy()
        expected_plain = pml.get_logits(xt).numpy()
    np.testing.assert_allclose(_np(logits), expected, rtol=1e-9, atol=2e-6)  # atol: theta = 0
    np.testing.assert_allclose(_np(layer(x)), expected_plain, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------ gradients


def _loss_of(layer, labels, *, wrt):
    """Mean cross-entropy as a function of the embeddings, or of (embeddings, kernel)."""

    def of_embeddings(x):
        logits = layer([x, labels])
        return keras.ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        )

    def of_kernel(x, w):
        logits, _ = layer.stateless_call([w], [], [x, labels])
        return keras.ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        )

    return of_embeddings if wrt == "embeddings" else of_kernel


@pytest.mark.parametrize("case", ["cosface", "arcface", "arcface_wide", "sphereface"])
def test_gradients_match_finite_differences(case):
    cls, kwargs, reference, ref_kwargs = CASES[case]
    x, kernel, labels = _data(seed=2)
    x, labels = x[4:], labels[4:]  # generic rows: the logits are smooth there

    def numpy_loss(xv, wv):
        return ref.sparse_crossentropy(labels, reference(xv, wv, labels, **ref_kwargs)).mean()

    with float64_context():
        layer = _layer(cls, kwargs, kernel)
        of_x = _loss_of(layer, labels, wrt="embeddings")
        of_w = _loss_of(layer, labels, wrt="kernel")
        grad_x = autodiff(of_x, x)
        grad_w = autodiff(lambda w: of_w(keras.ops.convert_to_tensor(x), w), kernel)
    np.testing.assert_allclose(
        grad_x, finite_differences(lambda v: numpy_loss(v, kernel), x), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        grad_w, finite_differences(lambda w: numpy_loss(x, w), kernel), rtol=1e-5, atol=1e-6
    )


def _edge_embeddings(kernel, dtype):
    """Rows exactly on, exactly opposite, and one float step off the class vectors."""
    unit = kernel / np.linalg.norm(kernel, axis=0, keepdims=True)
    tiny = np.finfo(dtype).eps
    rng = np.random.default_rng(3)
    x = np.stack(
        [
            unit[:, 0] * 3.0,
            -unit[:, 1] * 0.7,
            unit[:, 2] + tiny * rng.normal(size=D),
            -unit[:, 3] + tiny * rng.normal(size=D),
            unit[:, 4] * 1e-3,
            np.zeros(D),  # a zero embedding: cosine 0 with every class
        ]
    )
    return x.astype(dtype), np.array([0, 1, 2, 3, 4, 0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["cosface", "arcface", "sphereface", "sphereface_m3"])
def test_gradients_are_finite_at_theta_zero_and_pi(case, dtype):
    cls, kwargs, _, _ = CASES[case]
    _, kernel, _ = _data()
    x, labels = _edge_embeddings(kernel, dtype)
    with float64_context():
        layer = _layer(cls, kwargs, kernel.astype(dtype), dtype=dtype)
        logits = _np(layer([x, labels]))
        grad_x = autodiff(_loss_of(layer, labels, wrt="embeddings"), x)
        of_w = _loss_of(layer, labels, wrt="kernel")
        grad_w = autodiff(lambda w: of_w(keras.ops.convert_to_tensor(x, dtype=dtype), w), kernel)
    assert np.all(np.isfinite(logits))
    assert np.all(np.isfinite(grad_x)), grad_x
    assert np.all(np.isfinite(grad_w)), grad_w


def test_arcface_target_falls_back_beyond_pi_minus_margin():
    # At theta = pi - m + 0.05 the target is cos(theta) - m sin(m), not cos(theta + m),
    # which would rise again towards cos(2 pi) = 1.
    m = 0.5
    theta = np.array([math.pi - m - 0.05, math.pi - m + 0.05, math.pi])
    x = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    kernel = np.array([[1.0, 0.0], [0.0, 1.0]])
    layer = _layer(ArcFace, {"scale": 1.0, "margin": m}, kernel, dtype="float32")
    got = _np(layer([x.astype("float32"), np.zeros(3, "int32")]))[:, 0]
    expected = [math.cos(theta[0] + m), math.cos(theta[1]) - m * math.sin(m), -1 - m * math.sin(m)]
    np.testing.assert_allclose(got, expected, atol=1e-6)


# ----------------------------------------------------------------- arguments and config


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: CosFace(0), ValueError, "`num_classes` must be an integer >= 1"),
        (lambda: CosFace(3.0), TypeError, "`num_classes`"),
        (lambda: ArcFace(True), TypeError, "`num_classes`"),
        (lambda: CosFace(3, scale=0.0), ValueError, "`scale` must be > 0"),
        (lambda: ArcFace(3, scale=-1.0), ValueError, "`scale` must be > 0"),
        (lambda: ArcFace(3, scale="64"), TypeError, "`scale`"),
        (lambda: CosFace(3, margin=-0.1), ValueError, "`margin`"),
        (lambda: CosFace(3, margin=float("nan")), ValueError, "`margin` must be finite"),
        (lambda: ArcFace(3, margin=-0.1), ValueError, "`margin`"),
        (lambda: ArcFace(3, margin=28.6), ValueError, r"`margin` must be in \[0, pi/2\)"),
        (lambda: SphereFace(3, margin=0), ValueError, "`margin` must be an integer >= 1"),
        (lambda: SphereFace(3, margin=4.0), TypeError, "`margin` must be an integer"),
        (lambda: SphereFace(3, softmax_weight=-1.0), ValueError, "`softmax_weight`"),
    ],
)
def test_arguments_are_checked_by_name(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_inputs_of_the_wrong_shape_are_rejected():
    layer = CosFace(3)
    with pytest.raises(ValueError, match="`labels` must hold one integer class id per embedding"):
        layer([np.ones((4, 2), "float32"), np.zeros((4, 3), "int32")])
    with pytest.raises(ValueError, match=r"`\[embeddings, labels\]`"):
        layer([np.ones((4, 2), "float32")] * 3)


@pytest.mark.parametrize("cls", [CosFace, ArcFace, SphereFace])
def test_config_round_trip_holds_every_argument(cls):
    extra = {"margin": 3} if cls is SphereFace else {"margin": 0.25, "scale": 30.0}
    if cls is SphereFace:
        extra["softmax_weight"] = 2.0
    layer = cls(7, kernel_initializer="random_normal", name="head", **extra)
    config = layer.get_config()
    for name in inspect.signature(cls.__init__).parameters:
        if name not in ("self", "kwargs"):
            assert name in config, name
    json.dumps(config)  # what a .keras file stores
    assert keras.saving.get_registered_name(cls) == f"kerasloss>{cls.__name__}"
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert clone.num_classes == 7 and clone.margin == extra["margin"]


# ----------------------------------------------------------------------- training


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def _models(head, *, seed=0):
    keras.utils.set_random_seed(seed)
    x = keras.Input((64,), name="image")
    y = keras.Input((), dtype="int32", name="label")
    hidden = keras.layers.Dense(64, activation="relu")(x)
    embedding = keras.layers.Dense(32)(hidden)
    return keras.Model([x, y], head([embedding, y])), keras.Model(x, head(embedding))


DIGITS = {
    # Default margins. Scale 30, not the default 64: with 1347 training images, scale 64
    # makes the softmax so sharp that held-out accuracy varies more from seed to seed
    # (0.938 to 0.980 for ArcFace over 9 runs, against 0.962 to 0.984 at scale 30 over
    # 15 runs on the three backends). SphereFace blends in the plain cosine (lambda = 5,
    # the paper's final value); without it, digits stays at chance (see its docstring).
    "arcface": (lambda: ArcFace(10, scale=30.0), 0.93),
    "cosface": (lambda: CosFace(10, scale=30.0), 0.93),
    "sphereface": (lambda: SphereFace(10, softmax_weight=5.0), 0.93),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", DIGITS)
def test_fit_on_digits_reaches_accuracy(case):
    make, accuracy = DIGITS[case]
    x_train, x_test, y_train, y_test = _digits()
    train, infer = _models(make())
    train.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = train.fit([x_train, y_train], y_train, batch_size=64, epochs=20, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    predicted = np.argmax(infer.predict(x_test, batch_size=256, verbose=0), axis=-1)
    assert np.mean(predicted == y_test) >= accuracy, np.mean(predicted == y_test)


@pytest.mark.slow
def test_fit_with_jit_compile():
    # The only compiled step on torch in this file (torch.compile takes about a minute).
    x_train, _, y_train, _ = _digits()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    labels = keras.Input((), dtype="int32")
    embedding = keras.layers.Dense(32)(keras.layers.Dense(64, activation="relu")(inputs))
    heads = {"arcface": ArcFace(10, scale=30.0), "sphereface": SphereFace(10, softmax_weight=5.0)}
    train = keras.Model([inputs, labels], {k: h([embedding, labels]) for k, h in heads.items()})
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train.compile(
        optimizer=keras.optimizers.Adam(0.01), loss={k: loss for k in heads}, jit_compile=True
    )
    assert train.jit_compile is True
    targets = {k: y_train for k in heads}
    history = train.fit([x_train, y_train], targets, batch_size=64, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0], losses


RELOAD = textwrap.dedent(
    """
    import json, sys
    import keras, numpy as np
    import kerasloss  # the only import the saved layers need
    model = keras.saving.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    logits = model.predict([data["x"], data["y"]], verbose=0)
    heads = {layer.name: type(layer).__name__ for layer in model.layers}
    print(json.dumps({"logits": {k: v.tolist() for k, v in logits.items()}, "heads": heads}))
    """
)


@pytest.mark.slow
def test_saved_model_reloads_in_a_fresh_process(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 64)).astype("float32")
    y = rng.integers(0, 10, size=32)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    labels = keras.Input((), dtype="int32")
    embedding = keras.layers.Dense(32)(inputs)
    heads = {
        "arcface": ArcFace(10, scale=30.0, margin=0.3, name="arcface"),
        "cosface": CosFace(10, margin=0.2, name="cosface"),
        "sphereface": SphereFace(10, margin=3, softmax_weight=2.0, name="sphereface"),
    }
    train = keras.Model([inputs, labels], {k: h([embedding, labels]) for k, h in heads.items()})
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train.compile(optimizer="adam", loss={k: loss for k in heads})
    train.fit([x, y], {k: y for k in heads}, batch_size=16, epochs=1, verbose=0)
    expected = train.predict([x, y], verbose=0)
    reloaded = reload_in_fresh_process(tmp_path, train, RELOAD, x=x, y=y)
    for name, head in heads.items():
        assert reloaded["heads"][name] == type(head).__name__
        np.testing.assert_allclose(reloaded["logits"][name], expected[name], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_fit_under_mixed_precision(policy):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 64)).astype("float32")
    y = np.argmax(x[:, :10], axis=-1)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((64,))
        labels = keras.Input((), dtype="int32")
        embedding = keras.layers.Dense(32)(keras.layers.Dense(64, activation="relu")(inputs))
        assert keras.backend.standardize_dtype(embedding.dtype) == policy.split("_")[1]
        heads = {
            "arcface": ArcFace(10, name="arcface"),
            "cosface": CosFace(10, name="cosface"),
            "sphereface": SphereFace(10, softmax_weight=5.0, name="sphereface"),
        }
        train = keras.Model([inputs, labels], {k: h([embedding, labels]) for k, h in heads.items()})
        infer = keras.Model(inputs, {k: h(embedding) for k, h in heads.items()})
        for output in train.outputs + infer.outputs:
            assert keras.backend.standardize_dtype(output.dtype) == "float32"
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        train.compile(optimizer=keras.optimizers.Adam(0.01), loss={k: loss for k in heads})
        targets = {k: y for k in heads}
        before = train.evaluate([x, y], targets, verbose=0, return_dict=True)
        train.fit([x, y], targets, batch_size=64, epochs=3, verbose=0)
        after = train.evaluate([x, y], targets, verbose=0, return_dict=True)
        # Every head trains in float32 logits without overflow; the shared trunk follows the
        # two scale-64 heads, whose losses must fall (SphereFace's may rise as they win).
        assert all(np.isfinite(value) for value in after.values()), after
        for key in ("arcface_loss", "cosface_loss", "loss"):
            assert after[key] < 0.8 * before[key], (key, before, after)
        for logits in infer.predict(x, verbose=0).values():
            assert np.all(np.isfinite(logits))
    finally:
        keras.config.set_dtype_policy(previous)
