"""Contrastive, multi-similarity and lifted structure losses against NumPy restatements of
their formulas (every backend) and against pytorch-metric-learning (torch session)."""

from __future__ import annotations

import inspect
import json

import keras
import numpy as np
import pytest
from keras import ops

import _reference_pairs as ref
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss._internal.pairs import reference_pairs
from kerasloss.losses.pairs import (
    ContrastiveLoss,
    LiftedStructureLoss,
    MultiSimilarityLoss,
    contrastive_loss,
    lifted_structure_loss,
    multi_similarity_loss,
)

BACKEND = keras.backend.backend()

# name -> (function, class, NumPy reference)
LOSSES = {
    "contrastive": (contrastive_loss, ContrastiveLoss, ref.contrastive),
    "multi_similarity": (multi_similarity_loss, MultiSimilarityLoss, ref.multi_similarity),
    "lifted_structure": (lifted_structure_loss, LiftedStructureLoss, ref.lifted_structure),
}


def _ref_kwargs(kwargs):
    """The reference's names: `epsilon` for `mining_epsilon`."""
    out = dict(kwargs)
    if "mining_epsilon" in out:
        out["epsilon"] = out.pop("mining_epsilon")
    return out


# Hyper-parameters that put pair terms on both sides of every hinge for the data of
# `_batch` (normal embeddings, D = 4: Euclidean distances around 2.8).
CASES = [
    ("contrastive", {"pos_margin": 1.5, "neg_margin": 3.0, "distance": "euclidean"}),
    ("contrastive", {"pos_margin": 4.0, "neg_margin": 9.0, "distance": "squared_euclidean"}),
    ("contrastive", {"pos_margin": 0.4, "neg_margin": 1.1, "distance": "cosine"}),
    ("multi_similarity", {}),
    ("multi_similarity", {"alpha": 3.0, "beta": 20.0, "base": 0.2}),
    ("multi_similarity", {"mining_epsilon": 0.1}),
    ("lifted_structure", {"pos_margin": 0.5, "neg_margin": 3.0, "distance": "euclidean"}),
    ("lifted_structure", {"pos_margin": 1.0, "neg_margin": 9.0, "distance": "squared_euclidean"}),
    ("lifted_structure", {"pos_margin": 0.2, "neg_margin": 1.2, "distance": "cosine"}),
]
each_case = pytest.mark.parametrize(
    ("name", "kwargs"),
    CASES,
    ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CASES],
)
each_loss = pytest.mark.parametrize("name", list(LOSSES))


def _np(x):
    return ops.convert_to_numpy(x)


def _batch(seed=0, size=12, dim=4, classes=3):
    """Labels where every anchor has a positive and a negative, continuous embeddings."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.arange(classes), np.arange(classes)])
    labels = rng.permutation(np.concatenate([labels, rng.integers(0, classes, size - 2 * classes)]))
    return labels, rng.normal(size=(size, dim))


def _values(name, labels, x, **kwargs):
    return LOSSES[name][0](labels, x, **kwargs)


def _mean(values):
    """The batch loss as a tensor (sum / B: Keras' mean computes float64 in float32)."""
    return ops.sum(values) / ops.cast(ops.shape(values)[0], values.dtype)


def _reference(name, labels, x, per_anchor=False, **kwargs):
    return LOSSES[name][2](labels, x, per_anchor=per_anchor, **_ref_kwargs(kwargs))


# ------------------------------------------------------------------ values


@each_case
def test_values_match_reference(name, kwargs):
    for seed in range(3):
        labels, x = _batch(seed)
        x = x.astype(np.float32)
        got = _np(_values(name, labels, x, **kwargs))
        assert got.shape == (len(labels),) and got.dtype == np.float32
        expected = _reference(name, labels, x, per_anchor=True, **kwargs)
        assert np.count_nonzero(expected) > 0
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.mean(), _reference(name, labels, x, **kwargs), rtol=1e-5)


@each_case
def test_values_match_reference_in_float64(name, kwargs):
    labels, x = _batch(3)
    with float64_context():
        got = _np(_values(name, labels, x, **kwargs))
    assert got.dtype == np.float64
    expected = _reference(name, labels, x, per_anchor=True, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_hand_computed_values():
    labels = [0, 0, 1]
    points = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, 1.25]], np.float32)
    # Positive pair at 0.5 (twice), negatives at 1.25 and 0.75 (twice each).
    np.testing.assert_allclose(_np(contrastive_loss(labels, points)), [0.75, 1.125, 0.375])
    lse = np.log(np.exp(-0.25) + np.exp(0.25))
    np.testing.assert_allclose(
        _np(lifted_structure_loss(labels, points)), [0.25, 0.75, lse], rtol=1e-6
    )
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], np.float32)
    pos = np.log1p(np.exp(2 * (0.5 - 0.8))) / 2
    neg = np.log1p(np.exp(50 * (0.6 - 0.5))) / 50
    np.testing.assert_allclose(
        _np(multi_similarity_loss(labels, vectors, mining_epsilon=0.25)),
        [0.0, pos + neg, 0.0],
        rtol=1e-5,
    )


@each_loss
def test_float_and_column_labels_compare_like_integer_labels(name):
    labels, x = _batch(4)
    x = x.astype(np.float32)
    as_int = _np(_values(name, labels, x))
    np.testing.assert_array_equal(_np(_values(name, labels.astype(np.float32), x)), as_int)
    np.testing.assert_array_equal(_np(_values(name, labels[:, None], x)), as_int)


# ------------------------------------------------------------------ reference sets


def _with_reference(seed=5, size=12, memory=16, dim=4):
    labels, x = _batch(seed, size=size, dim=dim)
    rng = np.random.default_rng(seed + 100)
    ref_labels = rng.integers(0, 3, memory)
    return labels, x, ref_labels, rng.normal(size=(memory, dim))


@each_case
def test_reference_set_values(name, kwargs):
    labels, x, ref_labels, ref_x = _with_reference()
    with float64_context():
        got = _np(_values(name, labels, x, ref_embeddings=ref_x, ref_labels=ref_labels, **kwargs))
    expected = _reference(
        name, labels, x, per_anchor=True, ref_x=ref_x, ref_labels=ref_labels, **kwargs
    )
    assert np.count_nonzero(expected) > 0
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@each_loss
def test_the_batch_as_its_own_reference_set_pairs_each_anchor_with_itself(name):
    """Given as a reference set, the batch is a memory: an anchor's copy is a positive."""
    labels, x = _batch(6)
    # A copy computes at a distance of rounding size, not exactly 0: with pos_margin 0 it
    # would count among the non-zero contrastive terms, here it costs nothing either way.
    kwargs = {"pos_margin": 0.5} if name == "contrastive" else {}
    with float64_context():
        got = _np(_values(name, labels, x, ref_embeddings=x, ref_labels=labels, **kwargs))
        plain = _np(_values(name, labels, x, **kwargs))
    expected = _reference(name, labels, x, per_anchor=True, ref_x=x, ref_labels=labels, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    if name != "contrastive":  # there the copy, inside pos_margin, adds a zero term
        assert not np.allclose(got, plain)


@each_loss
def test_class_runs_the_same_formula_on_any_pairs(name):
    """`PairLoss.loss_from_pairs`, the protocol a memory layer uses, gives the function's values."""
    fn, cls, _ = LOSSES[name]
    labels, x, ref_labels, ref_x = _with_reference(7)
    x, ref_x = x.astype(np.float32), ref_x.astype(np.float32)
    loss = cls()
    got = loss.loss_from_pairs(reference_pairs(labels, x, ref_x, ref_labels))
    expected = fn(labels, x, ref_embeddings=ref_x, ref_labels=ref_labels)
    np.testing.assert_array_equal(_np(got), _np(expected))
    np.testing.assert_array_equal(
        _np(loss.loss_from_pairs(reference_pairs(labels, x))), _np(fn(labels, x))
    )


def test_reference_labels_and_embeddings_go_together():
    labels, x = _batch(8)
    for fn, _, _ in LOSSES.values():
        with pytest.raises(ValueError, match="ref_labels"):
            fn(labels, x, ref_embeddings=x)
        with pytest.raises(ValueError, match="ref_embeddings"):
            fn(labels, x, ref_embeddings=x[:, :2], ref_labels=labels)


# ------------------------------------------------------------------ gradients


@each_case
def test_gradient_matches_finite_differences(name, kwargs):
    labels, x = _batch(9)

    with float64_context():
        got = autodiff(lambda v: _mean(_values(name, labels, v, **kwargs)), x)
    assert got.dtype == np.float64
    expected = finite_differences(lambda v: _reference(name, labels, v, **kwargs), x)
    assert np.any(expected != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@each_case
def test_reference_set_gradient_matches_finite_differences(name, kwargs):
    """Gradients reach the anchors and the reference embeddings alike."""
    labels, x, ref_labels, ref_x = _with_reference(10)
    both = np.concatenate([x, ref_x])
    size = len(x)

    def loss(v):
        values = _values(
            name, labels, v[:size], ref_embeddings=v[size:], ref_labels=ref_labels, **kwargs
        )
        return _mean(values)

    def reference(v):
        return _reference(name, labels, v[:size], ref_x=v[size:], ref_labels=ref_labels, **kwargs)

    with float64_context():
        got = autodiff(loss, both)
    expected = finite_differences(reference, both)
    assert np.any(expected[size:] != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ degenerate batches


def _degenerate(kind, size=12, dim=4):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(size, dim))
    if kind == "one_class":
        return np.zeros(size, int), x
    if kind == "all_singletons":
        return np.arange(size), x
    labels = np.arange(size) % (size // 2)  # classes of two
    if kind == "identical":
        return labels, np.ones((size, dim))
    if kind == "zero_vectors":
        x[::2] = 0.0
        return labels, x
    if kind == "single":
        return np.zeros(1, int), x[:1]
    raise ValueError(kind)


DEGENERATE = ["one_class", "all_singletons", "identical", "zero_vectors", "single"]


@each_case
@pytest.mark.parametrize("kind", DEGENERATE)
def test_degenerate_batches_are_finite_and_documented(name, kwargs, kind):
    labels, x = _degenerate(kind)
    got = _np(_values(name, labels, x.astype(np.float32), **kwargs))
    assert np.all(np.isfinite(got))
    expected = _reference(name, labels, x, per_anchor=True, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    grad = autodiff(lambda v: _mean(_values(name, labels, v, **kwargs)), x)
    assert np.all(np.isfinite(grad))
    if np.all(expected == 0):
        assert np.all(grad == 0)
    mined = kwargs.get("mining_epsilon") is not None
    if kind in ("one_class", "all_singletons", "single") and mined:
        assert np.all(got == 0)  # nothing to mine without both positives and negatives
    if kind == "single":
        assert np.all(got == 0)


@pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean", "cosine"])
def test_identical_embeddings_have_the_documented_values(distance):
    labels, x = _degenerate("identical")  # six classes of two: |P| = 1, |N| = 10
    x = x.astype(np.float32)
    got = _np(contrastive_loss(labels, x, pos_margin=0.1, neg_margin=0.7, distance=distance))
    np.testing.assert_allclose(got.mean(), 0.7, rtol=1e-6)
    got = _np(lifted_structure_loss(labels, x, pos_margin=0.1, neg_margin=0.7, distance=distance))
    np.testing.assert_allclose(got, np.log(1) - 0.1 + np.log(10) + 0.7, rtol=1e-6)
    got = _np(multi_similarity_loss(labels, x))
    expected = np.log1p(np.exp(2 * (0.5 - 1))) / 2 + np.log1p(10 * np.exp(50 * 0.5)) / 50
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@each_case
@pytest.mark.parametrize("scale", [1e4, 1e-20])
def test_extreme_scales_are_finite(name, kwargs, scale):
    labels, x = _batch(12)
    x = (scale * x).astype(np.float32)
    got = _np(_values(name, labels, x, **kwargs))
    assert np.all(np.isfinite(got))
    grad = autodiff(lambda v: _mean(_values(name, labels, v, **kwargs)), x.astype(np.float64))
    assert np.all(np.isfinite(grad))


def test_sharp_multi_similarity_stays_finite():
    labels, x = _batch(13)
    for beta in (1e4, 1e6):
        got = _np(multi_similarity_loss(labels, x.astype(np.float32), alpha=1e4, beta=beta))
        expected = ref.multi_similarity(labels, x, alpha=1e4, beta=beta, per_anchor=True)
        np.testing.assert_allclose(got, expected, rtol=1e-4)
        grad = autodiff(lambda v, b=beta: _mean(multi_similarity_loss(labels, v, beta=b)), x)
        assert np.all(np.isfinite(grad))


# ------------------------------------------------------------------ NaN


def _compiled(fn):
    """fn as the backend compiles it in a train step (XLA on JAX and TensorFlow)."""
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    return fn


@each_case
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_nan_embeddings_reach_the_loss(name, kwargs, compiled):
    labels, x = _batch(14)
    x = x.astype(np.float32)
    x[5, 1] = np.nan

    def run(y, v):
        return _mean(_values(name, y, v, **kwargs))

    run = _compiled(run) if compiled else run
    assert np.isnan(_np(run(labels, x)))


@each_case
def test_nan_reference_embeddings_reach_the_loss(name, kwargs):
    labels, x, ref_labels, ref_x = _with_reference(15)
    ref_x[3, 0] = np.nan
    got = _np(_values(name, labels, x, ref_embeddings=ref_x, ref_labels=ref_labels, **kwargs))
    assert np.isnan(got.mean())


# ------------------------------------------------------------------ 16-bit


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@each_case
def test_low_precision_is_computed_in_float32(name, kwargs, dtype):
    labels, x = _batch(16)
    given = ops.convert_to_tensor(x.astype(np.float32), dtype=dtype)
    got = _values(name, labels, given, **kwargs)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    rounded = _np(ops.cast(given, "float32")).astype(np.float64)
    expected = _reference(name, labels, rounded, per_anchor=True, **kwargs)
    # The float32 result of the rounded inputs, rounded once to 16 bits.
    rtol = {"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype] + 1e-5
    np.testing.assert_allclose(_np(ops.cast(got, "float32")), expected, rtol=rtol, atol=1e-6)


# ------------------------------------------------------------------ large batches


@each_loss
def test_batch_of_1024_keeps_quadratic_memory(name):
    rng = np.random.default_rng(17)
    labels = rng.integers(0, 50, 1024)
    x = rng.normal(size=(1024, 16)).astype(np.float32)
    got = _np(_values(name, labels, x))
    assert got.shape == (1024,) and np.all(np.isfinite(got))


# ------------------------------------------------------------------ arguments, config


BAD_ARGUMENTS = [
    ("contrastive", {"pos_margin": -0.1}, ValueError, "pos_margin"),
    ("contrastive", {"neg_margin": float("inf")}, ValueError, "neg_margin"),
    ("contrastive", {"neg_margin": "wide"}, TypeError, "neg_margin"),
    ("contrastive", {"distance": "manhattan"}, ValueError, "distance"),
    ("lifted_structure", {"pos_margin": float("nan")}, ValueError, "pos_margin"),
    ("lifted_structure", {"neg_margin": None}, TypeError, "neg_margin"),
    ("lifted_structure", {"distance": "L2"}, ValueError, "distance"),
    ("multi_similarity", {"alpha": 0.0}, ValueError, "alpha"),
    ("multi_similarity", {"beta": -1.0}, ValueError, "beta"),
    ("multi_similarity", {"beta": True}, TypeError, "beta"),
    ("multi_similarity", {"base": float("nan")}, ValueError, "base"),
    ("multi_similarity", {"mining_epsilon": -0.1}, ValueError, "mining_epsilon"),
    ("multi_similarity", {"mining_epsilon": "0.1"}, TypeError, "mining_epsilon"),
]


@pytest.mark.parametrize(("name", "kwargs", "error", "argument"), BAD_ARGUMENTS)
def test_bad_arguments_are_rejected_by_name(name, kwargs, error, argument):
    fn, cls, _ = LOSSES[name]
    with pytest.raises(error, match=argument):
        cls(**kwargs)
    with pytest.raises(error, match=argument):
        fn(np.zeros(2), np.zeros((2, 2), np.float32), **kwargs)


@each_loss
@pytest.mark.parametrize(
    ("labels", "embeddings", "message"),
    [
        (np.zeros((4, 2)), np.zeros((4, 3)), r"\(4, 2\)"),
        (np.zeros(5), np.zeros((4, 3)), "5 labels for 4"),
        (np.zeros(4), np.zeros((4, 3, 1)), r"\(4, 3, 1\)"),
    ],
)
def test_bad_shapes_are_rejected(name, labels, embeddings, message):
    with pytest.raises(ValueError, match=message):
        LOSSES[name][1]()(labels, embeddings.astype(np.float32))


CONFIGS = {
    "contrastive": {"pos_margin": 0.2, "neg_margin": 0.8, "distance": "cosine"},
    "multi_similarity": {"alpha": 1.0, "beta": 40.0, "base": 0.4, "mining_epsilon": 0.05},
    "lifted_structure": {"pos_margin": 0.1, "neg_margin": 2.0, "distance": "squared_euclidean"},
}


@each_loss
def test_config_holds_every_argument_and_round_trips(name):
    fn, cls, _ = LOSSES[name]
    loss = cls(**CONFIGS[name], reduction="sum", name="pairs", dtype="float16")
    config = loss.get_config()
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert {p.name for p in parameters} <= set(config)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
    json.dumps(config)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is cls and restored.get_config() == config
    assert keras.saving.get_registered_name(cls) == f"kerasloss>{cls.__name__}"
    assert keras.saving.get_registered_name(fn) == f"kerasloss>{fn.__name__}"
    hyper = [p for p in list(inspect.signature(fn).parameters.values())[2:]]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in hyper)


@each_loss
def test_class_reduces_the_per_anchor_values(name):
    fn, cls, _ = LOSSES[name]
    labels, x = _batch(18)
    x = x.astype(np.float32)
    per_anchor = _np(fn(labels, x)).astype(np.float64)
    np.testing.assert_allclose(_np(cls(reduction=None)(labels, x)), per_anchor, rtol=1e-6)
    np.testing.assert_allclose(_np(cls()(labels, x)), per_anchor.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(cls()(labels, x)), _reference(name, labels, x), rtol=1e-5)


# ------------------------------------------------------------------ pytorch-metric-learning


@pytest.fixture
def pml():
    if BACKEND != "torch":
        pytest.skip("pytorch-metric-learning is installed in the torch session only")
    import pytorch_metric_learning  # must be importable there: an ImportError fails, not skips

    return pytorch_metric_learning


def _pml_loss(name, kwargs):
    """The library's loss and miner for one of CASES, with kerasloss' distances restated:
    Euclidean is LpDistance without normalisation, squared Euclidean its power 2, and
    cosine distance margins m are cosine-similarity margins 1 - m."""
    from pytorch_metric_learning import distances, losses, miners

    if name == "multi_similarity":
        hyper = {k: kwargs[k] for k in ("alpha", "beta", "base") if k in kwargs}
        epsilon = kwargs.get("mining_epsilon")
        miner = None if epsilon is None else miners.MultiSimilarityMiner(epsilon=epsilon)
        return losses.MultiSimilarityLoss(**hyper), miner
    distance = kwargs.get("distance", "euclidean")
    pos_margin, neg_margin = kwargs.get("pos_margin", 0.0), kwargs.get("neg_margin", 1.0)
    if distance == "cosine":
        metric = distances.CosineSimilarity()
        pos_margin, neg_margin = 1.0 - pos_margin, 1.0 - neg_margin
    else:
        power = 2 if distance == "squared_euclidean" else 1
        metric = distances.LpDistance(normalize_embeddings=False, power=power)
    cls = {
        "contrastive": losses.ContrastiveLoss,
        "lifted_structure": losses.GeneralizedLiftedStructureLoss,
    }[name]
    return cls(pos_margin=pos_margin, neg_margin=neg_margin, distance=metric), None


def _pml_value_and_grad(name, kwargs, labels, x, ref_x=None, ref_labels=None):
    import torch

    loss, miner = _pml_loss(name, kwargs)
    v = torch.tensor(x, requires_grad=True)
    y = torch.tensor(labels)
    r = None if ref_x is None else torch.tensor(ref_x, requires_grad=True)
    ry = None if ref_labels is None else torch.tensor(ref_labels)
    pairs = None if miner is None else miner(v, y, r, ry)
    value = loss(v, y, pairs, r, ry)
    value.backward()
    # The library's zero loss of an empty batch does not reach the reference set.
    grads = [
        t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in (v, r) if t is not None
    ]
    return float(value.detach()), grads


def _ours_value_and_grad(name, kwargs, labels, x, ref_x=None, ref_labels=None):
    import torch

    v = torch.tensor(x, requires_grad=True)
    r = None if ref_x is None else torch.tensor(ref_x, requires_grad=True)
    value = _mean(_values(name, labels, v, ref_embeddings=r, ref_labels=ref_labels, **kwargs))
    value.backward()
    grads = [v.grad.numpy()] + ([] if r is None else [r.grad.numpy()])
    return float(value.detach()), grads


@each_case
def test_equals_pytorch_metric_learning(pml, name, kwargs):
    for seed in range(3):
        labels, x = _batch(seed, size=16)
        expected, expected_grads = _pml_value_and_grad(name, kwargs, labels, x)
        got, grads = _ours_value_and_grad(name, kwargs, labels, x)
        assert expected > 0
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        np.testing.assert_allclose(grads[0], expected_grads[0], rtol=1e-6, atol=1e-10)


@each_case
def test_reference_set_equals_pytorch_metric_learning(pml, name, kwargs):
    labels, x, ref_labels, ref_x = _with_reference(19, size=10, memory=24)
    expected, expected_grads = _pml_value_and_grad(name, kwargs, labels, x, ref_x, ref_labels)
    got, grads = _ours_value_and_grad(name, kwargs, labels, x, ref_x, ref_labels)
    assert expected > 0
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    for g, e in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-10)


@each_loss
def test_float32_equals_pytorch_metric_learning(pml, name):
    import torch

    labels, x = _batch(20, size=32)
    x = x.astype(np.float32)
    loss, _ = _pml_loss(name, {})
    expected = float(loss(torch.tensor(x), torch.tensor(labels)))
    got = float(_np(_mean(_values(name, labels, x))))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_pytorch_metric_learning_drops_a_lone_pair_of_each_kind(pml):
    """The documented difference: with at most one positive and one negative pair in all,
    the library returns 0; kerasloss computes their terms."""
    labels = np.array([0])
    x = np.array([[1.0, 0.0]])
    ref_labels = np.array([0, 1])
    ref_x = np.array([[0.6, 0.8], [0.8, 0.6]])
    for name in LOSSES:
        expected, _ = _pml_value_and_grad(name, {}, labels, x, ref_x, ref_labels)
        assert expected == 0.0
        got, _ = _ours_value_and_grad(name, {}, labels, x, ref_x, ref_labels)
        reference = _reference(name, labels, x, ref_x=ref_x, ref_labels=ref_labels)
        assert reference > 0
        np.testing.assert_allclose(got, reference, rtol=1e-12)


# ------------------------------------------------------------------ training


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    return train_test_split(
        (x / 16.0).astype(np.float32), y, test_size=0.5, stratify=y, random_state=0
    )


def _recall_at_1(embeddings, labels, cosine):
    """Share of points whose nearest other point has the same label."""
    if cosine:
        embeddings = embeddings / np.maximum(
            np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12
        )
    d = ((embeddings[:, None, :] - embeddings[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(labels[d.argmin(1)] == labels))


FITS = {
    "contrastive": (ContrastiveLoss, {"neg_margin": 1.0}, False),
    "multi_similarity": (MultiSimilarityLoss, {"mining_epsilon": 0.1}, True),
    "lifted_structure": (LiftedStructureLoss, {"neg_margin": 1.0}, False),
}


@pytest.mark.slow
@each_loss
def test_fit_on_digits_reaches_recall_at_1(name):
    cls, kwargs, cosine = FITS[name]
    x_train, x_test, y_train, y_test = _digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(8)]
    )
    untrained = _recall_at_1(model.predict(x_test, verbose=0), y_test, cosine)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=cls(**kwargs))
    # 898 training digits in batches of 128: the last batch of each epoch has 2.
    history = model.fit(x_train, y_train, batch_size=128, epochs=6, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    trained = _recall_at_1(model.predict(x_test, verbose=0), y_test, cosine)
    # Held-out recall@1 of 8-D embeddings (899 digits; cosine for multi-similarity),
    # measured untrained -> trained on JAX / TensorFlow / torch:
    # contrastive 0.731 -> 0.970 / 0.680 -> 0.958 / 0.731 -> 0.962,
    # multi-similarity 0.721 -> 0.956 / 0.664 -> 0.959 / 0.703 -> 0.953,
    # lifted structure 0.731 -> 0.920 / 0.680 -> 0.919 / 0.731 -> 0.919.
    assert trained >= 0.88 and trained > untrained + 0.15, (untrained, trained)
