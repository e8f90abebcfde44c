"""The N-pairs losses against NumPy restatements of TensorFlow Addons' definitions.

Inputs are (B, B) = (8, 8) similarity matrices wherever a test allows: JAX compiles each
operation again for every new shape.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import _reference_sparsemax as ref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss.losses.npairs import (
    NpairsLoss,
    NpairsMultilabelLoss,
    npairs_loss,
    npairs_multilabel_loss,
)

BACKEND = keras.backend.backend()
B, L = 8, 4
UNIT = {"float16": 2.0**-11, "bfloat16": 2.0**-8}
LABELS = np.array([0, 1, 2, 3, 0, 1, 2, 3], np.int32)  # N = 4 pairs of 4 classes
SINGLE = "single"
MULTI = "multi"


def _np(x):
    return ops.convert_to_numpy(x)


def _f64(x):
    if keras.backend.standardize_dtype(x.dtype) in UNIT:
        x = ops.cast(x, "float32")
    return _np(x).astype(np.float64)


def _similarities(seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    anchors, positives = rng.normal(size=(2, B, 3))
    return (scale * anchors @ positives.T).astype(np.float32)


def _multi_hot(seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=(B, L)) < 0.4).astype(np.float32)
    y[np.arange(B), rng.integers(0, L, B)] = 1.0  # every pair has a label
    return y


# One case per loss: the function, its class, labels, and the reference per row.
CASES = {
    SINGLE: (npairs_loss, NpairsLoss, lambda seed: LABELS, ref.npairs_rows),
    MULTI: (npairs_multilabel_loss, NpairsMultilabelLoss, _multi_hot, ref.npairs_multilabel_rows),
}
each_loss = pytest.mark.parametrize("kind", [SINGLE, MULTI])


# ------------------------------------------------------------------ values


@each_loss
@pytest.mark.parametrize("seed", [0, 1])
def test_mean_is_tensorflow_addons_value_and_rows_are_its_terms(kind, seed):
    fn, cls, labels_of, rows = CASES[kind]
    labels, s = labels_of(seed), _similarities(seed)
    got = _np(fn(labels, s))
    assert got.shape == (B,)
    np.testing.assert_allclose(got, rows(labels, s), rtol=1e-5, atol=1e-6)
    tfa = ref.npairs(labels, s) if kind == SINGLE else ref.npairs_multilabel(labels, s)
    np.testing.assert_allclose(got.mean(), tfa, rtol=1e-5)
    np.testing.assert_allclose(_np(cls()(labels, s)), tfa, rtol=1e-5)


def test_hand_computed_values():
    s = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]], np.float32)
    log_p = np.log(np.exp(s) / np.exp(s).sum(1, keepdims=True))
    # labels [0, 0, 1]: rows 0 and 1 split their target over columns 0 and 1
    single = [-(log_p[0, 0] + log_p[0, 1]) / 2, -(log_p[1, 0] + log_p[1, 1]) / 2, -log_p[2, 2]]
    np.testing.assert_allclose(_np(npairs_loss([0, 0, 1], s)), single, rtol=1e-6)
    # row 1 has both labels: it shares 1, 2 and 1 labels with rows 0, 1, 2
    y = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    row_1 = -(0.25 * log_p[1, 0] + 0.5 * log_p[1, 1] + 0.25 * log_p[1, 2])
    np.testing.assert_allclose(_np(npairs_multilabel_loss(y, s))[1], row_1, rtol=1e-6)


def test_one_hot_multilabel_equals_the_single_label_loss():
    s = _similarities(2)
    one_hot = np.eye(4, dtype=np.float32)[LABELS]
    np.testing.assert_allclose(
        _np(npairs_multilabel_loss(one_hot, s)), _np(npairs_loss(LABELS, s)), rtol=1e-6
    )


def test_label_shapes_and_types():
    s = _similarities(3)
    expected = _np(npairs_loss(LABELS, s))
    for labels in (LABELS[:, None], LABELS.astype(np.float32), LABELS + 100):
        np.testing.assert_allclose(_np(npairs_loss(labels, s)), expected, rtol=1e-6)


def test_a_sample_depends_on_the_rest_of_the_batch():
    s = _similarities(4)
    relabelled = LABELS.copy()
    relabelled[7] = 0  # row 0 now has two positives besides itself
    before, after = _np(npairs_loss(LABELS, s)), _np(npairs_loss(relabelled, s))
    assert not np.isclose(before[0], after[0])
    np.testing.assert_allclose(after, ref.npairs_rows(relabelled, s), rtol=1e-5, atol=1e-6)


def test_an_anchor_without_labels_gives_zero_not_nan():
    s = _similarities(5)
    y = _multi_hot(5)
    y[3] = 0.0  # TensorFlow Addons: 0 / 0, NaN for the whole batch
    got = _np(npairs_multilabel_loss(y, s))
    assert got[3] == 0.0
    assert np.isnan(ref.npairs_multilabel(y, s))
    others = np.arange(B) != 3
    expected = ref.npairs_multilabel_rows(y, s)[others]
    np.testing.assert_allclose(got[others], expected, rtol=1e-5, atol=1e-6)
    grad = autodiff(lambda v: ops.sum(npairs_multilabel_loss(y, v)), s)
    assert np.all(np.isfinite(grad)) and np.all(grad[3] == 0.0)


@each_loss
@pytest.mark.parametrize("big", [40.0, 1e4])
def test_extreme_similarities_give_the_exact_loss(kind, big):
    fn, _, labels_of, rows = CASES[kind]
    labels = labels_of(6)
    s = np.random.default_rng(6).choice([-big, 0.0, big], size=(B, B)).astype(np.float32)
    got = _np(fn(labels, s))
    expected = rows(labels, s)
    assert np.all(np.isfinite(expected)) and expected.max() > big / 2
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    grad = autodiff(lambda v: ops.sum(fn(labels, v)), s)
    assert np.all(np.isfinite(grad))


@each_loss
def test_nan_reaches_the_loss(kind):
    fn, _, labels_of, _ = CASES[kind]
    labels = labels_of(7)
    s = _similarities(7)
    s[2, 5] = np.nan
    got = _np(fn(labels, s))
    assert np.isnan(got[2]) and np.all(np.isfinite(np.delete(got, 2)))
    bad_labels = np.asarray(labels, np.float32).copy()
    bad_labels[4] = np.nan
    assert np.isnan(_np(fn(bad_labels, _similarities(7)))[4])


# ------------------------------------------------------------------ gradients


@each_loss
def test_gradient_matches_finite_differences(kind):
    fn, _, labels_of, rows = CASES[kind]
    labels, s = labels_of(8), _similarities(8, scale=0.7).astype(np.float64)
    got = autodiff(lambda v: ops.sum(fn(labels, v)), s)
    expected = finite_differences(lambda v: rows(labels, v).sum(), s)
    np.testing.assert_allclose(got, expected, atol=1e-7)


# ------------------------------------------------------------------ dtypes


@each_loss
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_is_computed_in_float32(kind, dtype):
    fn, _, labels_of, rows = CASES[kind]
    labels = labels_of(9)
    tensor = ops.convert_to_tensor(_similarities(9), dtype=dtype)
    got = fn(labels, tensor)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    expected = rows(labels, _f64(tensor))
    np.testing.assert_allclose(_f64(got), expected, rtol=UNIT[dtype] + 2.0**-20, atol=1e-6)


@each_loss
def test_float64_keeps_every_digit(kind):
    fn, _, labels_of, rows = CASES[kind]
    labels, s = labels_of(10), _similarities(10).astype(np.float64) / 3.0
    with float64_context():
        got = fn(labels, ops.convert_to_tensor(s, dtype="float64"))
        assert keras.backend.standardize_dtype(got.dtype) == "float64"
        np.testing.assert_allclose(_np(got), rows(labels, s), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ bad input


@each_loss
@pytest.mark.parametrize(
    "shape", [(B, B - 1), (B,), (B, B, 1)], ids=["not_square", "vector", "rank_3"]
)
def test_y_pred_must_be_a_square_matrix(kind, shape):
    fn, _, labels_of, _ = CASES[kind]
    with pytest.raises(ValueError, match=r"y_pred.*\(batch_size, batch_size\).*got shape"):
        fn(labels_of(0), np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    ("labels", "match"),
    [(np.zeros((B, 2)), r"y_true.*\(batch_size,\)"), (np.zeros(B - 1), "7 rows for the 8")],
)
def test_single_label_shapes_are_checked(labels, match):
    with pytest.raises(ValueError, match=match):
        npairs_loss(labels, _similarities(0))


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.zeros(B), r"y_true.*\(batch_size, num_labels\)"),
        (np.zeros((B - 1, L)), "7 rows for the 8"),
        (-np.eye(B, L), "label indicators >= 0.*-1"),
    ],
)
def test_multilabel_labels_are_checked(labels, match):
    with pytest.raises(ValueError, match=match):
        npairs_multilabel_loss(labels, _similarities(0))


# ------------------------------------------------------------------ sparse labels


def test_sparse_multilabel_targets_are_made_dense():
    y, s = _multi_hot(11), _similarities(11)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        sparse = tf.sparse.from_dense(y)
    elif BACKEND == "jax":
        from jax.experimental import sparse as jax_sparse

        sparse = jax_sparse.BCOO.fromdense(y)
    else:
        pytest.skip("Keras has no sparse tensors on torch")
    got = _np(npairs_multilabel_loss(sparse, s))
    np.testing.assert_allclose(got, ref.npairs_multilabel_rows(y, s), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ the classes


@each_loss
def test_class_weights_and_reductions(kind):
    _, cls, labels_of, rows = CASES[kind]
    labels, s = labels_of(12), _similarities(12)
    expected = rows(labels, s)
    np.testing.assert_allclose(_np(cls(reduction=None)(labels, s)), expected, rtol=1e-5)
    np.testing.assert_allclose(_np(cls(reduction="sum")(labels, s)), expected.sum(), rtol=1e-5)
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    np.testing.assert_allclose(
        _np(cls()(labels, s, sample_weight=weights)), (expected * weights).mean(), rtol=1e-5
    )


def test_exported_and_registered():
    for obj in (npairs_loss, npairs_multilabel_loss, NpairsLoss, NpairsMultilabelLoss):
        assert getattr(kerasloss, obj.__name__) is obj
        assert keras.saving.get_registered_object(f"kerasloss>{obj.__name__}") is obj


@each_loss
@pytest.mark.skipif(BACKEND != "tensorflow", reason="only TensorFlow traces an unknown batch size")
def test_unknown_batch_size_while_tracing(kind):
    import tensorflow as tf

    fn, _, labels_of, rows = CASES[kind]
    labels, s = labels_of(13), _similarities(13)
    labels = np.asarray(labels, np.float32)
    label_shape = [None] if labels.ndim == 1 else [None, L]
    traced = tf.function(
        fn,
        input_signature=[tf.TensorSpec(label_shape), tf.TensorSpec([None, None], tf.float32)],
    )
    np.testing.assert_allclose(_np(traced(labels, s)), rows(labels, s), rtol=1e-5, atol=1e-6)
