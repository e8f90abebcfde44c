"""Invalid class labels: one behaviour for every layer and function that indexes classes.

Eagerly (values known): a ValueError naming `labels`, the range [0, C) and the bad
value. Inside a compiled JAX or TensorFlow step (values unknown): the loss is NaN,
never 0 or another class's value. torch reads the values in every step, so it raises.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from kerasloss import center_loss, proxy_anchor_loss, proxy_nca_loss
from kerasloss.layers import (
    ArcFace,
    CenterLoss,
    CosFace,
    ProxyAnchor,
    ProxyNCA,
    SphereFace,
    SubCenterArcFace,
)

BACKEND = keras.backend.backend()
B, C, D = 6, 4, 3

HEADS = {  # called on [embeddings, labels], return logits
    "ArcFace": lambda: ArcFace(C, scale=8.0),
    "CosFace": lambda: CosFace(C, scale=8.0),
    "SphereFace": lambda: SphereFace(C, softmax_weight=5.0),
    "SubCenterArcFace": lambda: SubCenterArcFace(C, sub_centers=2, scale=8.0),
}
ADDERS = {  # called on [embeddings, labels], add their loss
    "ProxyAnchor": lambda: ProxyAnchor(C),
    "ProxyNCA": lambda: ProxyNCA(C),
    "CenterLoss": lambda: CenterLoss(C, alpha=0.5),
}
FUNCTIONS = {
    "proxy_anchor_loss": lambda y, x, w: proxy_anchor_loss(y, x, w),
    "proxy_nca_loss": lambda y, x, w: proxy_nca_loss(y, x, w),
    "center_loss": lambda y, x, w: center_loss(x, y, w),
}
# (bad label, the value the message shows, the label dtype)
BAD = {
    "num_classes": (C, str(C), "int32"),
    "negative": (-1, "-1", "int32"),
    "fractional": (1.5, "1.5", "float32"),
    "nan": (np.nan, "nan", "float32"),
}


def _data(bad, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, D)).astype("float32")
    labels = (np.arange(B) % C).astype(dtype)
    labels[2] = bad
    return x, labels


def _message(shown, name="labels"):
    return rf"`{name}` must be integer class ids in \[0, {C}\).*got {shown} \(row 2"


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("name", [*HEADS, *ADDERS])
def test_layer_raises_eagerly(name, case):
    bad, shown, dtype = BAD[case]
    x, labels = _data(bad, dtype)
    layer = {**HEADS, **ADDERS}[name]()
    with pytest.raises(ValueError, match=_message(shown)):
        layer([x, labels])
    with pytest.raises(ValueError, match=_message(shown)):
        layer([ops.convert_to_tensor(x), ops.convert_to_tensor(labels)])


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_raises_eagerly(name, case):
    bad, shown, dtype = BAD[case]
    x, labels = _data(bad, dtype)
    weights = np.random.default_rng(1).normal(size=(C, D)).astype("float32")
    # Each function's message names its own argument: `y_true` for the proxy losses.
    argument = "labels" if name == "center_loss" else "y_true"
    with pytest.raises(ValueError, match=_message(shown, argument)):
        FUNCTIONS[name](ops.convert_to_tensor(labels), x, weights)


def _model(name):
    features = keras.Input((D,))
    labels = keras.Input((), dtype="float32")
    embeddings = keras.layers.Dense(D)(features)
    if name in HEADS:
        model = keras.Model([features, labels], HEADS[name]()([embeddings, labels]))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        model = keras.Model([features, labels], ADDERS[name]()([embeddings, labels]))
        loss = None
    return model, loss


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("name", [*HEADS, *ADDERS])
def test_compiled_step_gives_a_nan_loss(name, case):
    bad, shown, _ = BAD[case]
    x, labels = _data(bad, "float32")
    model, loss = _model(name)
    if BACKEND == "torch":  # torch reads the labels in every step: it raises
        model.compile(loss=loss)
        with pytest.raises(ValueError, match=_message(shown)):
            model.evaluate([x, labels], labels, verbose=0)
        return
    model.compile(loss=loss, jit_compile=True)
    targets = np.where(np.isfinite(labels), labels, 0).astype("float32")
    result = model.evaluate([x, labels], targets, verbose=0)
    assert np.isnan(result), result
    if name in HEADS:  # every logit: Keras' loss of an out-of-range target ignores its row
        assert np.all(np.isnan(model.predict([x, labels], verbose=0)))
    model.compile(loss=loss, run_eagerly=True)
    with pytest.raises(ValueError, match=_message(shown)):
        model.evaluate([x, labels], targets, verbose=0)


def _compiled(fn):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    pytest.skip("torch reads the labels in every step (test_function_raises_eagerly)")


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_in_a_compiled_step_gives_nan(name, case):
    bad, _, _ = BAD[case]
    x, labels = _data(bad, "float32")
    weights = np.random.default_rng(1).normal(size=(C, D)).astype("float32")
    fn = _compiled(lambda y: FUNCTIONS[name](y, x, weights))
    values = ops.convert_to_numpy(fn(ops.convert_to_tensor(labels)))
    if name == "proxy_anchor_loss":  # couples the batch: every value is NaN
        assert np.all(np.isnan(values))
    else:
        assert np.isnan(values[2]) and np.all(np.isfinite(np.delete(values, 2)))


def test_valid_float_labels_are_accepted_in_a_compiled_step():
    x, labels = _data(3, "float32")
    model, loss = _model("ArcFace")
    model.compile(loss=loss, jit_compile=BACKEND != "torch")
    assert np.isfinite(model.evaluate([x, labels], labels, verbose=0))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ArcFace(3, margin=-0.1), r"`margin` must be in \[0, pi/2\).*got -0.1"),
        (lambda: ArcFace(3, margin=1.6), r"in \[0, pi/2\) radians \(0 <= margin < 1.5708\)"),
        (lambda: SubCenterArcFace(3, margin=2.0), r"in \[0, pi/2\).*got 2.0"),
        (lambda: CosFace(3, margin=-0.1), r"`margin` must be >= 0.*got -0.1"),
        (lambda: SphereFace(3, margin=0), r"`margin` must be an integer >= 1; got 0"),
        (lambda: SphereFace(3, scale=0.0), r"`scale` must be > 0; got 0.0"),
    ],
)
def test_margin_messages_state_the_real_range(make, match):
    with pytest.raises(ValueError, match=match):
        make()
