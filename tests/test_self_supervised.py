"""NT-Xent and SupCon against NumPy restatements of their formulas and pytorch-metric-learning."""

from __future__ import annotations

import contextlib
import inspect
import json

import keras
import numpy as np
import pytest
from keras import ops

import _reference_self_supervised as ref
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss._internal.pairs import reference_pairs
from kerasloss.losses.self_supervised import NTXentLoss, SupConLoss, nt_xent_loss, supcon_loss

BACKEND = keras.backend.backend()

# name -> (function, class, batch-loss reference, per-anchor reference)
LOSSES = {
    "nt_xent": (nt_xent_loss, NTXentLoss, ref.nt_xent, ref.nt_xent_shares),
    "supcon": (supcon_loss, SupConLoss, ref.supcon, ref.supcon_shares),
}
each_loss = pytest.mark.parametrize("name", list(LOSSES))
each_temperature = pytest.mark.parametrize("temperature", [0.07, 0.5, 0.01])

FLOAT64_RTOL = 1e-12


def _np(x):
    return ops.convert_to_numpy(x)


def _batch(seed=0, size=12, dim=4, classes=3, singletons=0):
    """Labels where every anchor has a positive and a negative (plus `singletons` anchors
    of labels of their own, without positives), and continuous embeddings."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.arange(classes), np.arange(classes)])
    labels = np.concatenate([labels, rng.integers(0, classes, size - 2 * classes - singletons)])
    labels = rng.permutation(np.concatenate([labels, 100 + np.arange(singletons)]))
    return labels, rng.normal(size=(size, dim))


def _two_views(seed=0, images=6, dim=4, noise=0.3):
    """A SimCLR batch: two noisy views of each image, labels [0..B-1, 0..B-1]."""
    rng = np.random.default_rng(seed)
    images_ = rng.normal(size=(images, dim))
    views = [images_ + noise * rng.normal(size=images_.shape) for _ in range(2)]
    return np.concatenate([np.arange(images)] * 2), np.concatenate(views)


def _values(name, labels, x, **kwargs):
    return LOSSES[name][0](labels, x, **kwargs)


def _loss(name, labels, x, **kwargs):
    """The batch loss as a tensor: the per-anchor values' mean (ops.sum, because Keras'
    ops.mean computes float64 in float32 on JAX)."""
    values = _values(name, labels, x, **kwargs)
    return ops.sum(values) / ops.cast(ops.shape(values)[0], values.dtype)


def _with_reference(seed, size=8, dim=3):
    """A batch and a reference set of the same size; reference label 3 is no anchor's."""
    rng = np.random.default_rng(100 + seed)
    labels, x = _batch(seed, size=size, dim=dim)
    return labels, x, rng.integers(0, 4, size), rng.normal(size=(size, dim))


def _split_ref(v, size):
    """A (B + M, D) array as the batch (B, D) and a reference set (M, D)."""
    return v[:size], v[size:]


# ------------------------------------------------------------------ values


@each_loss
@each_temperature
def test_values_match_the_reference(name, temperature):
    _, _, batch_loss, shares = LOSSES[name]
    for seed in range(3):
        labels, x = _batch(seed, singletons=seed)  # seed 0: every anchor has a positive
        x = x.astype(np.float32)
        got = _np(_values(name, labels, x, temperature=temperature))
        assert got.shape == (len(labels),)
        expected = shares(labels, x, temperature)
        assert np.all(expected >= 0) and np.any(expected > 0)
        assert np.all(got[labels >= 100] == 0)  # the singletons: no positive, no term
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(got.mean(), batch_loss(labels, x, temperature), rtol=2e-5)


@each_loss
def test_values_match_the_reference_in_float64(name):
    _, _, batch_loss, shares = LOSSES[name]
    labels, x = _batch(4, singletons=1)
    with float64_context():
        got = _np(_values(name, labels, x, temperature=0.2))
    assert got.dtype == np.float64
    # SupCon: the terms that count are those above float64's unit roundoff.
    extra = {} if name == "nt_xent" else {"roundoff": 2.0**-53}
    np.testing.assert_allclose(got, shares(labels, x, 0.2, **extra), rtol=FLOAT64_RTOL)
    np.testing.assert_allclose(got.mean(), batch_loss(labels, x, 0.2, **extra), FLOAT64_RTOL)


@each_loss
def test_reference_set_values_match_the_reference(name):
    _, _, batch_loss, shares = LOSSES[name]
    labels, x, ref_labels, ref_x = _with_reference(5)
    got = _np(
        _values(
            name,
            labels,
            x.astype(np.float32),
            temperature=0.1,
            ref_embeddings=ref_x.astype(np.float32),
            ref_labels=ref_labels,
        )
    )
    expected = shares(labels, x, 0.1, ref_x, ref_labels)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(got.mean(), batch_loss(labels, x, 0.1, ref_x, ref_labels), 2e-5)


def test_hand_computed_two_view_batch():
    labels = [0, 1, 0, 1]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8]], np.float32)
    got = _np(nt_xent_loss(labels, x, temperature=0.5))
    # Rows 0 and 1: positive cosine 0.8, negatives 0 and 0.6; rows 2 and 3: positive
    # 0.8, negatives 0.6 and 0.96. One pair per anchor: each value is that pair's term.
    first = np.log(1 + np.exp(-1.6) + np.exp(-0.4))
    second = np.log(1 + np.exp((0.6 - 0.8) / 0.5) + np.exp((0.96 - 0.8) / 0.5))
    np.testing.assert_allclose(got, [first, first, second, second], rtol=1e-6)


def test_supcon_hand_computed_and_anchors_without_positives_do_not_count():
    labels = [0, 0, 0, 1]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    got = _np(supcon_loss(labels, x, temperature=1.0))
    e = np.e
    terms = np.array([np.log(2 + e) - 0.5, np.log(2 + e), np.log(2 + e) - 0.5, 0.0])
    np.testing.assert_allclose(got, terms * 4 / 3, rtol=1e-6)
    np.testing.assert_allclose(got.mean(), terms.sum() / 3, rtol=1e-6)


@pytest.mark.parametrize("temperature", [0.07, 0.2])
def test_with_one_positive_per_anchor_supcon_is_nt_xent(temperature):
    labels, x = _two_views(seed=1)
    x = x.astype(np.float32)
    a = _np(nt_xent_loss(labels, x, temperature=temperature))
    b = _np(supcon_loss(labels, x, temperature=temperature))
    np.testing.assert_allclose(a, b, rtol=1e-5)
    # Each anchor's value is its one pair's term (B pairs for B anchors).
    pairs = ref.nt_xent_pair_terms(labels, x, temperature)
    np.testing.assert_allclose(a, [term for _, term in pairs], rtol=2e-5)


@each_loss
def test_float_and_column_labels_compare_like_integer_labels(name):
    labels, x = _batch(6, singletons=2)
    x = x.astype(np.float32)
    as_int = _np(_values(name, labels, x))
    np.testing.assert_array_equal(_np(_values(name, labels.astype(np.float32), x)), as_int)
    np.testing.assert_array_equal(_np(_values(name, labels[:, None], x)), as_int)


@each_loss
def test_the_class_and_its_pairs_protocol_give_the_function(name):
    fn, cls, _, _ = LOSSES[name]
    labels, x, ref_labels, ref_x = _with_reference(7)
    x, ref_x = x.astype(np.float32), ref_x.astype(np.float32)
    loss = cls(temperature=0.3, reduction=None)
    np.testing.assert_allclose(_np(loss(labels, x)), _np(fn(labels, x, temperature=0.3)), rtol=1e-6)
    for extra in ({}, {"ref_embeddings": ref_x, "ref_labels": ref_labels}):
        pairs = reference_pairs(labels, x, extra.get("ref_embeddings"), extra.get("ref_labels"))
        np.testing.assert_allclose(
            _np(loss.loss_from_pairs(pairs)), _np(fn(labels, x, temperature=0.3, **extra)), 1e-6
        )


# ------------------------------------------------------------------ numerics


@each_loss
def test_small_temperature_with_similarities_near_one_is_exact(name):
    """t = 0.01: logits near +-100, whose exp overflows float32 (and float16 by far)."""
    rng = np.random.default_rng(8)
    labels = np.repeat(np.arange(4), 3)
    # Every class close to one direction (cosines 0.99 and above, 0.5 to 2 apart once
    # divided by t), the last class opposite it (cosines near -1).
    x = np.array([1.0, 0.0, 0.0, 0.0]) + 0.1 * rng.normal(size=(4, 4))[labels]
    x = x + 0.02 * rng.normal(size=x.shape)
    x[labels == 3] *= -1.0
    shares = LOSSES[name][3]
    got = _np(_values(name, labels, x.astype(np.float32), temperature=0.01))
    expected = shares(labels, x.astype(np.float32), 0.01)
    assert np.all(np.isfinite(got)) and expected.max() > 0.5 and np.median(expected) > 1e-2
    assert ref.cosine(x).min() < -0.99
    # float32 similarities carry about 1e-7 absolute, 1e-5 once divided by t = 0.01.
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    grad = autodiff(lambda v: _loss(name, labels, v, temperature=0.01), x)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


@each_loss
def test_a_hopeless_pair_is_not_capped(name):
    """A positive opposite its anchor, a negative on it: each term is log(2 + e^(2 / t)),
    200 at t = 0.01 (pytorch-metric-learning's NT-Xent caps it at 87.3 in float32)."""
    labels = np.array([0, 0, 1, 1])
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], np.float32)
    values = _np(_values(name, labels, x, temperature=0.01))
    # One positive per anchor: every value is its anchor's one term.
    np.testing.assert_allclose(values, np.full(4, 200.0), rtol=1e-6)
    np.testing.assert_allclose(values, LOSSES[name][3](labels, x, 0.01), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("temperature", [0.07, 0.01])
@each_loss
def test_16_bit_inputs_are_computed_in_float32(name, dtype, temperature):
    labels, x = _batch(9, singletons=1)
    low = ops.cast(x.astype(np.float32), dtype)
    got = _values(name, labels, low, temperature=temperature)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    rounded = _np(ops.cast(low, "float32"))
    expected = LOSSES[name][3](labels, rounded, temperature)
    got = _np(ops.cast(got, "float32"))
    assert np.all(np.isfinite(got))
    # The float32 loss of the rounded inputs, rounded once to 16 bits.
    rtol = 2.0**-11 if dtype == "float16" else 2.0**-8
    np.testing.assert_allclose(got, expected, rtol=rtol + 1e-4, atol=1e-3)


@each_loss
@pytest.mark.parametrize("where", ["batch", "reference"])
@pytest.mark.parametrize("kind", ["ordinary", "all_singletons", "one_class"])
def test_a_nan_embedding_makes_the_loss_nan(name, where, kind):
    labels, x = _batch(10, classes=2)
    if kind == "all_singletons":
        labels = np.arange(12)
    elif kind == "one_class":
        labels = np.zeros(12, int)
    x = x.astype(np.float32)
    ref_x, ref_labels = x[:5].copy(), labels[:5].copy()
    (x if where == "batch" else ref_x)[3, 1] = np.nan
    extra = {} if where == "batch" else {"ref_embeddings": ref_x, "ref_labels": ref_labels}
    values = _np(_values(name, labels, x, **extra))
    assert np.isnan(values.mean())


# ------------------------------------------------------------------ degenerate batches


def _degenerate(kind, size=8, seed=11):
    rng = np.random.default_rng(seed)
    labels = np.zeros(size, int) if kind == "one_class" else np.arange(size)
    return labels, rng.normal(size=(size, 3))


@each_loss
@pytest.mark.parametrize("kind", ["one_class", "all_singletons"])
def test_degenerate_batches_give_zero_and_a_zero_gradient(name, kind):
    labels, x = _degenerate(kind)
    values = _np(_values(name, labels, x.astype(np.float32)))
    np.testing.assert_array_equal(values, np.zeros(len(labels)))
    assert LOSSES[name][2](labels, x, 0.07) == 0.0
    grad = autodiff(lambda v: _loss(name, labels, v), x)
    np.testing.assert_array_equal(grad, np.zeros_like(x))


@each_loss
def test_no_positive_in_the_reference_set_gives_zero_and_a_zero_gradient(name):
    labels, x = _degenerate("one_class")
    ref_x = np.random.default_rng(12).normal(size=(8, 3))
    ref_labels = np.ones(8, int)
    both = np.concatenate([x, ref_x])

    def loss(v):
        batch, reference = _split_ref(v, 8)
        return _loss(name, labels, batch, ref_embeddings=reference, ref_labels=ref_labels)

    assert float(_np(loss(both.astype(np.float32)))) == 0.0
    np.testing.assert_array_equal(autodiff(loss, both), np.zeros_like(both))


@each_loss
def test_identical_embeddings_give_the_documented_values(name):
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 3])
    x = np.ones((8, 3), np.float32)
    values = _np(_values(name, labels, x))
    same = labels[:, None] == labels[None, :]
    negatives, positives = (~same).sum(1), same.sum(1) - 1
    if name == "nt_xent":
        # Every pair: log(1 + |N(a)|); the mean over the pairs, spread over the anchors.
        expected = 8 * positives * np.log(1 + negatives) / positives.sum()
    else:
        # Every anchor with positives: log |A(a)| = log 7; the singleton does not count.
        expected = np.where(positives > 0, np.log(7), 0.0) * 8 / 7
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    grad = autodiff(lambda v: _loss(name, labels, v), x)
    assert np.all(np.isfinite(grad))


@each_loss
def test_zero_embeddings_are_finite_and_have_cosine_zero(name):
    labels, x = _batch(13, size=8, dim=3, classes=2)
    x[[1, 4]] = 0.0
    values = _np(_values(name, labels, x.astype(np.float32), temperature=0.07))
    np.testing.assert_allclose(values, LOSSES[name][3](labels, x, 0.07), rtol=2e-5, atol=1e-6)
    grad = autodiff(lambda v: _loss(name, labels, v), x)
    assert np.all(np.isfinite(grad))


# ------------------------------------------------------------------ gradients


@each_loss
@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_gradient_matches_finite_differences(name, temperature):
    labels, x = _batch(14, size=8, dim=3, singletons=1)
    reference = LOSSES[name][2]
    with float64_context():
        got = autodiff(lambda v: _loss(name, labels, v, temperature=temperature), x)
    assert got.dtype == np.float64
    expected = finite_differences(lambda v: reference(labels, v, temperature), x)
    assert np.any(expected != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@each_loss
def test_reference_set_gradient_matches_finite_differences(name):
    labels, x, ref_labels, ref_x = _with_reference(15)
    both = np.concatenate([x, ref_x])
    reference = LOSSES[name][2]

    def loss(v):
        batch, ref_x = _split_ref(v, 8)
        return _loss(
            name, labels, batch, temperature=0.2, ref_embeddings=ref_x, ref_labels=ref_labels
        )

    with float64_context():
        got = autodiff(loss, both)
    expected = finite_differences(lambda v: reference(labels, v[:8], 0.2, v[8:], ref_labels), both)
    assert np.any(expected[:8] != 0) and np.any(expected[8:] != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ arguments, config


@pytest.mark.parametrize(
    ("temperature", "error"),
    [
        (0.0, ValueError),
        (-0.1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("warm", TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
@each_loss
def test_bad_temperatures_are_rejected_by_name(name, temperature, error):
    fn, cls, _, _ = LOSSES[name]
    with pytest.raises(error, match="temperature"):
        cls(temperature=temperature)
    with pytest.raises(error, match="temperature"):
        fn(np.zeros(2), np.ones((2, 2)), temperature=temperature)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ref_embeddings": np.ones((3, 2), np.float32)}, "go together"),
        ({"ref_labels": np.zeros(3)}, "go together"),
        ({"ref_embeddings": np.ones((3, 5), np.float32), "ref_labels": np.zeros(3)}, "size"),
        ({"ref_embeddings": np.ones((3, 2), np.float32), "ref_labels": np.zeros(4)}, "4 labels"),
    ],
)
@each_loss
def test_bad_reference_sets_are_rejected(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _values(name, np.zeros(4), np.ones((4, 2), np.float32), **kwargs)


@pytest.mark.parametrize(
    ("labels", "embeddings", "message"),
    [
        (np.zeros((4, 2)), np.zeros((4, 3)), r"\(4, 2\)"),
        (np.zeros(5), np.zeros((4, 3)), "5 labels for 4"),
        (np.zeros(4), np.zeros((4, 3, 1)), r"\(4, 3, 1\)"),
    ],
)
@each_loss
def test_bad_shapes_are_rejected_by_name(name, labels, embeddings, message):
    with pytest.raises(ValueError, match=message):
        LOSSES[name][1]()(labels, embeddings.astype(np.float32))


@each_loss
def test_config_holds_every_argument_and_round_trips(name):
    fn, cls, _, _ = LOSSES[name]
    loss = cls(temperature=0.25, reduction="sum", name="contrast", dtype="float16")
    config = loss.get_config()
    assert config["temperature"] == 0.25
    parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert parameters <= set(config)
    json.dumps(config)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is cls and restored.get_config() == config
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert keras.saving.get_registered_name(cls) == f"kerasloss>{cls.__name__}"
    assert keras.saving.get_registered_name(fn) == f"kerasloss>{fn.__name__}"
    import kerasloss

    assert getattr(kerasloss, cls.__name__) is cls and getattr(kerasloss.losses, fn.__name__) is fn


@each_loss
def test_defaults_are_the_papers_and_the_library_s(name):
    fn, cls, _, _ = LOSSES[name]
    default = 0.07 if name == "nt_xent" else 0.1
    assert inspect.signature(fn).parameters["temperature"].default == default
    assert cls().get_config()["temperature"] == default


@pytest.mark.skipif(BACKEND != "tensorflow", reason="only TensorFlow traces an unknown batch size")
@each_loss
def test_unknown_batch_size_while_tracing(name):
    import tensorflow as tf

    labels, x = _batch(16, size=11, singletons=1)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, 4], tf.float32)]
    )
    def traced(y, v):
        return _values(name, y, v, temperature=0.2)

    got = _np(traced(labels, x.astype(np.float32)))
    np.testing.assert_allclose(got, LOSSES[name][3](labels, x, 0.2), rtol=2e-5, atol=1e-6)


@pytest.mark.skipif(BACKEND != "jax", reason="a jitted function on JAX")
@each_loss
def test_inside_jit(name):
    import jax

    labels, x = _batch(17, singletons=1)
    got = _np(
        jax.jit(lambda y, v: _values(name, y, v, temperature=0.2))(labels, x.astype(np.float32))
    )
    np.testing.assert_allclose(got, LOSSES[name][3](labels, x, 0.2), rtol=2e-5, atol=1e-6)


# ------------------------------------------------------------------ against the library


@pytest.fixture
def pml():
    if BACKEND != "torch":
        pytest.skip("pytorch-metric-learning is installed in the torch session only")
    import pytorch_metric_learning  # must be importable there: an ImportError fails, not skips

    return pytorch_metric_learning


def _library(name, temperature):
    from pytorch_metric_learning import losses

    if name == "nt_xent":
        return losses.NTXentLoss(temperature=temperature)
    return losses.SupConLoss(temperature=temperature)


def _compare_with_library(name, temperature, labels, x, dtype, ref_labels=None, ref_x=None):
    import torch

    library = _library(name, temperature)
    tensors = {}
    for key in ("library", "ours"):
        tensors[key] = [
            None if a is None else torch.tensor(a, dtype=dtype, requires_grad=True)
            for a in (x, ref_x)
        ]
    y = torch.tensor(labels)
    ry = None if ref_labels is None else torch.tensor(ref_labels)
    v, rv = tensors["library"]
    expected = library(v, y, ref_emb=rv, ref_labels=ry)
    expected.backward()
    w, rw = tensors["ours"]
    extra = {} if ref_x is None else {"ref_embeddings": rw, "ref_labels": ry}
    got = _loss(name, y, w, temperature=temperature, **extra)
    got.backward()
    rtol = FLOAT64_RTOL if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(float(got.detach()), float(expected.detach()), rtol=rtol)
    assert float(expected.detach()) > 0
    grad_rtol = 1e-9 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(w.grad.numpy(), v.grad.numpy(), rtol=grad_rtol, atol=1e-7)
    if ref_x is not None:
        np.testing.assert_allclose(rw.grad.numpy(), rv.grad.numpy(), rtol=grad_rtol, atol=1e-7)


@each_loss
# Not below 0.05: past 2 / t + log B = 87.3 the library's NT-Xent caps a pair's term
# (test_the_library_caps_a_hopeless_pair_of_nt_xent).
@pytest.mark.parametrize("temperature", [None, 0.5, 0.05])
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_equals_pytorch_metric_learning(pml, name, temperature, precision):
    import torch

    dtype = getattr(torch, precision)
    temperature = temperature or (0.07 if name == "nt_xent" else 0.1)
    for seed in range(3):
        # seed 0: every anchor has a positive; then singletons, which have none.
        labels, x = _batch(seed, classes=3, singletons=2 * seed)
        _compare_with_library(name, temperature, labels, x, dtype)


@each_loss
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_equals_pytorch_metric_learning_on_two_views(pml, name, precision):
    import torch

    labels, x = _two_views(seed=18, images=8)
    _compare_with_library(name, 0.1, labels, x, getattr(torch, precision))


@each_loss
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_reference_set_equals_pytorch_metric_learning(pml, name, precision):
    import torch

    for seed in range(3):
        labels, x, ref_labels, ref_x = _with_reference(seed)
        _compare_with_library(
            name, 0.1, labels, x, getattr(torch, precision), ref_labels=ref_labels, ref_x=ref_x
        )


@each_loss
@pytest.mark.parametrize("kind", ["one_class", "all_singletons"])
def test_degenerate_batches_equal_pytorch_metric_learning(pml, name, kind):
    import torch

    labels, x = _degenerate(kind)
    expected = _library(name, 0.1)(torch.tensor(x), torch.tensor(labels))
    assert float(expected) == 0.0 == float(_np(_loss(name, labels, x, temperature=0.1)))


@each_loss
def test_reference_set_of_one_class_equals_pytorch_metric_learning(pml, name):
    """Anchors of that class have positives and no negatives, the others the reverse:
    NT-Xent's terms are all log(1 + 0) = 0; SupCon's are a softmax over positives only."""
    import torch

    labels, x, _, ref_x = _with_reference(20)
    ref_labels = np.zeros(len(ref_x), int)
    for dtype in (torch.float32, torch.float64):
        if name == "supcon":
            _compare_with_library(name, 0.1, labels, x, dtype, ref_labels=ref_labels, ref_x=ref_x)
        else:
            library = _library(name, 0.1)
            got = _loss(name, labels, x, ref_embeddings=ref_x, ref_labels=ref_labels)
            expected = library(
                torch.tensor(x),
                torch.tensor(labels),
                ref_emb=torch.tensor(ref_x),
                ref_labels=torch.tensor(ref_labels),
            )
            assert float(expected) == 0.0 == float(_np(got))


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_supcon_leaves_out_anchors_solved_to_float_precision_as_the_library_does(pml, precision):
    """Class 0: two near-identical embeddings, at cosine 0 from the rest: at t = 0.05 the
    other entries' share of the softmax is 4 e^-20 = 8e-9, below float32's unit roundoff
    (so not counted in float32) and above float64's (counted in float64)."""
    import torch

    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2])
    rng = np.random.default_rng(21)
    x = np.zeros((8, 3))
    x[:2, 0] = 1.0
    x[:2, 1] = [0.0, 1e-4]
    x[2:, 1] = 1.0
    x[2:, 2] = 0.3 * rng.normal(size=6)
    dtype = getattr(torch, precision)
    _compare_with_library("supcon", 0.05, labels, x, dtype)
    with float64_context() if precision == "float64" else contextlib.nullcontext():
        values = _np(supcon_loss(labels, x.astype(precision), temperature=0.05))
    assert np.all(values[2:] > 0)
    if precision == "float32":
        np.testing.assert_array_equal(values[:2], [0.0, 0.0])
    else:
        assert np.all((values[:2] > 1e-9) & (values[:2] < 1e-7))


@each_loss
def test_the_library_gives_zero_for_one_positive_and_one_negative_pair(pml, name):
    """The second documented difference: the library's guard for tiny index sets."""
    import torch

    x, labels = np.array([[1.0, 0.0]]), np.array([0])
    ref_x, ref_labels = np.array([[0.8, 0.6], [0.0, 1.0]]), np.array([0, 1])
    expected = _library(name, 0.5)(
        torch.tensor(x),
        torch.tensor(labels),
        ref_emb=torch.tensor(ref_x),
        ref_labels=torch.tensor(ref_labels),
    )
    got = _np(
        _values(name, labels, x, temperature=0.5, ref_embeddings=ref_x, ref_labels=ref_labels)
    )
    assert float(expected) == 0.0
    # One positive at cosine 0.8, one negative at 0: log(1 + e^((0 - 0.8) / 0.5)).
    np.testing.assert_allclose(got, [np.log1p(np.exp(-1.6))], rtol=1e-12)


def test_the_library_caps_a_hopeless_pair_of_nt_xent(pml):
    """The one documented difference: the library's small constant inside the log."""
    import torch

    labels = np.array([0, 0, 1, 1])
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], np.float32)
    expected = _library("nt_xent", 0.01)(torch.tensor(x), torch.tensor(labels))
    tiny = float(torch.finfo(torch.float32).tiny)
    np.testing.assert_allclose(float(expected), -np.log(tiny), rtol=1e-6)  # 87.34
    np.testing.assert_allclose(float(_loss("nt_xent", labels, x, temperature=0.01)), 200.0, 1e-6)


# ------------------------------------------------------------------ training


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    return train_test_split(
        (x / 16.0).astype(np.float32), y, test_size=0.5, stratify=y, random_state=0
    )


def _recall_at_1(embeddings, labels):
    """Share of points whose nearest other point by cosine has the same label."""
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return float(np.mean(labels[similarity.argmax(1)] == labels))


def _encoder(size):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(size)]
    )


@pytest.mark.slow
def test_supcon_fit_on_digits_reaches_recall_at_1():
    x_train, x_test, y_train, y_test = _digits()
    model = _encoder(4)
    untrained = _recall_at_1(model.predict(x_test, verbose=0), y_test)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=SupConLoss())
    # 898 training digits in batches of 128: the last batch of each epoch has 2.
    history = model.fit(x_train, y_train, batch_size=128, epochs=5, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    trained = _recall_at_1(model.predict(x_test, verbose=0), y_test)
    # Held-out recall@1 (cosine) of 4-D embeddings of 899 digits, untrained -> trained,
    # measured: JAX 0.435 -> 0.887, TensorFlow 0.278 -> 0.920, torch 0.367 -> 0.911.
    assert trained >= 0.85 and trained > untrained + 0.3, (untrained, trained)


def _augment(rng, x):
    """A view of each digit: Gaussian noise, and a fifth of the pixels dropped."""
    noisy = x + rng.normal(scale=0.15, size=x.shape)
    return (noisy * (rng.uniform(size=x.shape) > 0.2)).astype(np.float32)


@pytest.mark.slow
def test_nt_xent_self_supervised_fit_on_digits_beats_an_untrained_encoder():
    x_train, x_test, _, y_test = _digits()
    model = _encoder(4)
    untrained = _recall_at_1(model.predict(x_test, verbose=0), y_test)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=NTXentLoss(temperature=0.2))
    # Each batch: two views of 128 training digits, labelled by the digit's position in
    # the batch (the true labels are not used); new views and batches every epoch, in
    # one fit without shuffling.
    rng = np.random.default_rng(0)
    half, epochs = 128, 5
    images = len(x_train) - len(x_train) % half
    xs, ys = [], []
    for _ in range(epochs):
        order = rng.permutation(len(x_train))[:images]
        for start in range(0, images, half):
            batch = x_train[order[start : start + half]]
            xs += [_augment(rng, batch), _augment(rng, batch)]
            ys += [np.arange(half)] * 2
    history = model.fit(
        np.concatenate(xs), np.concatenate(ys), batch_size=2 * half, shuffle=False, verbose=0
    )
    assert np.all(np.isfinite(history.history["loss"]))
    trained = _recall_at_1(model.predict(x_test, verbose=0), y_test)
    # Held-out recall@1 (cosine, true labels) of 4-D embeddings of 899 digits, untrained
    # -> trained, measured: JAX 0.435 -> 0.743, TensorFlow 0.278 -> 0.692, torch 0.367 ->
    # 0.731 (SupCon, with the labels: about 0.9).
    assert trained >= 0.65 and trained > untrained + 0.15, (untrained, trained)
