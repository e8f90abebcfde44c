"""kerasloss.ops.sparsemax and the sparsemax loss against NumPy restatements of the paper,
TensorFlow Addons and optax.

Most inputs have one of two shapes, (4, 3) for hand-written rows and (16, 6) for random
ones: JAX compiles each operation again for every new shape.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import _reference_sparsemax as ref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context
from kerasloss.losses.sparsemax import SparsemaxLoss, sparsemax_loss
from kerasloss.ops import sparsemax

BACKEND = keras.backend.backend()
B, C = 16, 6
UNIT = {"float16": 2.0**-11, "bfloat16": 2.0**-8}  # the rounding of a 16-bit result

# Hand-written rows, shape (4, 3). Row 0: sorted 1, 0.8, 0.1; 1 + 2 * 0.8 > 1.8 but
# 1 + 3 * 0.1 < 1.9, so k = 2 and tau = 0.4.
HAND = np.array([[1.0, 0.8, 0.1], [3.0, 1.0, 0.0], [0.1, 1.0, 0.8], [0.5, 0.5, 0.5]], np.float32)
HAND_SPARSEMAX = [[0.6, 0.4, 0.0], [1.0, 0.0, 0.0], [0.0, 0.6, 0.4], [1 / 3, 1 / 3, 1 / 3]]


def _np(x):
    return ops.convert_to_numpy(x)


def _f64(x):
    if keras.backend.standardize_dtype(x.dtype) in UNIT:
        x = ops.cast(x, "float32")
    return _np(x).astype(np.float64)


def _logits(seed=0, shape=(B, C), scale=1.5):
    return np.random.default_rng(seed).normal(scale=scale, size=shape).astype(np.float32)


def _onehot(seed=0, shape=(B,), classes=C):
    ids = np.random.default_rng(seed + 50).integers(0, classes, size=shape)
    return np.eye(classes, dtype=np.float32)[ids], ids.astype(np.int32)


def _distributions(seed=0, rows=B, classes=C):
    return np.random.default_rng(seed).dirichlet(np.full(classes, 0.5), size=rows)


def _away_from_kinks(seed):
    """(B, C) rows no closer than 0.05 to their threshold, where sparsemax is linear."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < B:
        z = rng.normal(scale=0.6, size=C)
        p = ref.sparsemax(z)
        tau = np.max(z[p > 0] - p[p > 0])
        if np.min(np.abs(z - tau)) > 0.05 and (p > 0).sum() >= 2:
            rows.append(z)
    return np.array(rows)


# ------------------------------------------------------------------ the reference itself


def test_reference_sort_formula_is_the_projection():
    z = _logits(seed=3, shape=(200, 7)).astype(np.float64)
    np.testing.assert_allclose(ref.sparsemax(z), ref.sparsemax_by_bisection(z), atol=1e-12)
    q = np.eye(7)[np.random.default_rng(3).integers(0, 7, 200)]
    np.testing.assert_allclose(ref.tfa_sparsemax_loss(q, z), ref.paper_sparsemax_loss(q, z))
    np.testing.assert_allclose(
        ref.tfa_sparsemax_loss(q, z), ref.optax_multiclass_sparsemax_loss(q.argmax(-1), z)
    )
    np.testing.assert_allclose(ref.sparsemax(HAND), HAND_SPARSEMAX, atol=1e-7)


# ------------------------------------------------------------------ sparsemax: values


def test_sparsemax_hand_computed():
    np.testing.assert_allclose(_np(sparsemax(HAND)), HAND_SPARSEMAX, atol=1e-6)


@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0])
def test_sparsemax_matches_reference(scale):
    z = _logits(seed=1, scale=scale)
    got = _np(sparsemax(z))
    np.testing.assert_allclose(got, ref.sparsemax(z), atol=2e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=2e-6)


def test_rows_sum_to_one_whatever_the_support_size():
    """Keras' own sparsemax (3.15) is wrong on every row with two or more classes in the
    support; here each support size from 1 to C appears and every row is the projection."""
    z = np.full((B, C), -5.0, np.float32)
    for k in range(1, C + 1):
        z[k - 1, :k] = np.linspace(0.0, 0.1, k)  # k scores within 1/k of each other
    got = _np(sparsemax(z))
    expected = ref.sparsemax(z)
    assert [int((e > 0).sum()) for e in expected[:C]] == list(range(1, C + 1))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("axis", [0, -2])
def test_any_axis(axis):
    z = _logits(seed=2).T.copy()  # classes on the first axis
    got = _np(sparsemax(z, axis=axis))
    np.testing.assert_allclose(got, ref.sparsemax(z, axis=axis), atol=2e-6)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, atol=2e-6)


def test_extreme_logits_are_exact():
    for shift in (40.0, -40.0, 1e4, -1e4):
        z = HAND + np.float32(shift)  # rounded to float32: 2^-10 apart near 1e4
        np.testing.assert_allclose(_np(sparsemax(z)), ref.sparsemax(z), atol=1e-6)
    z = np.array(
        [[1e4, -1e4, 1e4 - 0.5], [-1e4, 40.0, -40.0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]],
        np.float32,
    )
    expected = [[0.75, 0, 0.25], [0, 1, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(ref.sparsemax(z), expected, atol=1e-15)
    np.testing.assert_allclose(_np(sparsemax(z)), expected, atol=1e-6)


def test_minus_inf_masks_a_class_and_nan_reaches_the_row():
    z = HAND.copy()
    z[0, 2] = -np.inf  # it had 0 already: nothing changes
    z[1, 0] = -np.inf  # the best class is masked out
    z[2, 1] = np.nan
    got = _np(sparsemax(z))
    np.testing.assert_allclose(got[0], HAND_SPARSEMAX[0], atol=1e-6)
    np.testing.assert_allclose(got[1], [0.0, 1.0, 0.0], atol=1e-6)
    assert np.all(np.isnan(got[2]))
    np.testing.assert_allclose(got[3], HAND_SPARSEMAX[3], atol=1e-6)


def test_integer_input_becomes_float():
    got = sparsemax(np.array([[2, 0, 0]] * 4, np.int32))
    assert keras.backend.standardize_dtype(got.dtype) == keras.config.floatx()
    np.testing.assert_allclose(_np(got), [[1.0, 0.0, 0.0]] * 4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sparsemax_16_bit_is_computed_in_float32(dtype):
    tensor = ops.convert_to_tensor(_logits(seed=4), dtype=dtype)
    got = sparsemax(tensor)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    rounded = _f64(tensor)
    np.testing.assert_allclose(_f64(got), ref.sparsemax(rounded), rtol=UNIT[dtype], atol=1e-6)


def test_sparsemax_float64_keeps_every_digit():
    z = _logits(seed=5).astype(np.float64) / 7.0
    with float64_context():
        got = sparsemax(ops.convert_to_tensor(z, dtype="float64"))
        assert keras.backend.standardize_dtype(got.dtype) == "float64"
        np.testing.assert_allclose(_np(got), ref.sparsemax(z), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    ("axis", "error", "match"),
    [
        (1.0, TypeError, "axis"),
        (True, TypeError, "axis"),
        (2, ValueError, r"axis.*\[-2, 1\].*got 2"),
        (-3, ValueError, "axis"),
    ],
)
def test_sparsemax_rejects_bad_axes(axis, error, match):
    with pytest.raises(error, match=match):
        sparsemax(HAND, axis=axis)


def test_sparsemax_rejects_a_scalar():
    with pytest.raises(ValueError, match="scalar"):
        sparsemax(np.float32(1.0))


# ------------------------------------------------------------------ sparsemax: gradients


def test_sparsemax_gradient_is_the_papers_jacobian():
    z = _away_from_kinks(seed=6)
    weights = np.random.default_rng(7).normal(size=z.shape)

    def objective(v):
        return ops.sum(ops.convert_to_tensor(weights, dtype=v.dtype) * sparsemax(v))

    got = autodiff(objective, z)
    jacobian = [ref.sparsemax_jacobian(row) @ w for row, w in zip(z, weights, strict=True)]
    np.testing.assert_allclose(got, np.stack(jacobian), atol=1e-12)
    fd = finite_differences(lambda v: np.sum(weights * ref.sparsemax(v)), z)
    np.testing.assert_allclose(got, fd, atol=1e-7)


def test_sparsemax_gradient_is_finite_with_masked_and_extreme_scores():
    z = np.array([[1.0, -np.inf, 0.8], [1e4, -1e4, 1e4 - 0.5], [40.0, -40.0, 39.5], [0, 0, 0]])
    weights = np.array([[1.0, 2.0, -1.0], [0.5, 1.0, -2.0], [1.0, 0.0, 3.0], [1.0, -1.0, 2.0]])

    def objective(v):
        return ops.sum(ops.convert_to_tensor(weights, dtype=v.dtype) * sparsemax(v))

    got = autodiff(objective, z)
    assert np.all(np.isfinite(got))
    finite = np.where(np.isinf(z), -1e9, z)
    expected = [ref.sparsemax_jacobian(r) @ w for r, w in zip(finite, weights, strict=True)]
    np.testing.assert_allclose(got, np.stack(expected), atol=1e-12)


# ------------------------------------------------------------------ the loss: values


def test_loss_matches_tensorflow_addons_on_one_hot_targets():
    z = _logits(seed=8)
    q, _ = _onehot(seed=8)
    got = _np(sparsemax_loss(q, z))
    assert got.shape == (B,)
    np.testing.assert_allclose(got, ref.tfa_sparsemax_loss(q, z), rtol=1e-5, atol=1e-6)


def test_loss_matches_tensorflow_addons_and_the_paper_on_distributions():
    z = _logits(seed=9)
    q = _distributions(seed=9).astype(np.float32)
    got = _np(sparsemax_loss(q, z))
    np.testing.assert_allclose(got, ref.tfa_sparsemax_loss(q, z), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, ref.paper_sparsemax_loss(q, z), rtol=1e-5, atol=1e-6)
    assert np.all(got >= -1e-6)


@pytest.mark.parametrize("shape", ["(B,)", "(B, 1)"])
def test_class_ids_match_optax_and_one_hot_targets(shape):
    z = _logits(seed=10)
    q, ids = _onehot(seed=10)
    labels = ids if shape == "(B,)" else ids[:, None]
    got = _np(sparsemax_loss(labels, z))
    expected = ref.optax_multiclass_sparsemax_loss(ids, z)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, _np(sparsemax_loss(q, z)), rtol=1e-6, atol=1e-7)
    float_ids = _np(sparsemax_loss(labels.astype(np.float32), z))
    np.testing.assert_allclose(float_ids, got, rtol=1e-6)


def test_hand_computed_loss():
    got = _np(sparsemax_loss(np.array([0, 1, 2, 0]), HAND))
    # row 0: p = [0.6, 0.4, 0], 0.4 * (0.8 - 1) + (1 - 0.36 - 0.16) / 2; row 1: p = e_0, 3 - 1
    # row 2: p = [0, 0.6, 0.4], 0.6 * (1 - 0.8) + 0.24; row 3: p uniform, (1 - 1/3) / 2
    np.testing.assert_allclose(got, [0.16, 2.0, 0.36, 1 / 3], atol=1e-6)
    # 0 exactly when sparsemax(z) = q
    q = np.array(HAND_SPARSEMAX, np.float32)
    np.testing.assert_allclose(_np(sparsemax_loss(q, HAND)), 0.0, atol=1e-6)


def test_per_timestep_values():
    z = _logits(seed=11, shape=(4, 3, C))
    q, ids = _onehot(seed=11, shape=(4, 3))
    got = _np(sparsemax_loss(q, z))
    assert got.shape == (4, 3)
    expected = ref.tfa_sparsemax_loss(q, z)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(sparsemax_loss(ids, z)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("big", [40.0, 1e4])
def test_extreme_logits_give_the_exact_loss_and_gradient(big):
    z = np.array(
        [[big, -big, 0.0], [-big, big, big - 0.5], [big, big, -big], [big, -big, -big]], np.float32
    )
    q = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0]], np.float32)
    got = _np(sparsemax_loss(q, z))
    # row 0: p = e_0, the loss is z_0 - z_1; row 2: p = [1/2, 1/2, 0]; row 3: p = q
    expected = ref.tfa_sparsemax_loss(q, z)
    np.testing.assert_allclose(expected[[0, 2, 3]], [2 * big, 0.25, 0.0], rtol=1e-15)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    grad = autodiff(lambda v: ops.sum(sparsemax_loss(q, v)), z)
    np.testing.assert_allclose(grad, ref.sparsemax_loss_gradient(q, z), atol=1e-9)


def test_minus_inf_logit_masks_a_class():
    z = HAND.copy()
    z[:2, 2] = -np.inf
    q = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]], np.float32)
    got = _np(sparsemax_loss(q, z))
    keep = [0, 2, 3]
    np.testing.assert_allclose(got[keep], ref.tfa_sparsemax_loss(q, z)[keep], rtol=1e-6)
    assert got[1] == np.inf  # the target class is masked out, as TensorFlow Addons
    q[1] = [1, 0, 0]  # a target the mask leaves in reach
    grad = autodiff(lambda v: ops.sum(sparsemax_loss(q, v)), z)
    np.testing.assert_allclose(grad, ref.sparsemax(z) - q, atol=1e-7)


def test_nan_reaches_only_its_sample():
    z = HAND.copy()
    z[1, 2] = np.nan
    q = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [np.nan, 0, 1]], np.float32)
    got = _np(sparsemax_loss(q, z))
    assert np.all(np.isnan(got[[1, 3]])) and np.all(np.isfinite(got[[0, 2]]))


# ------------------------------------------------------------------ the loss: gradients


def test_loss_gradient_is_sparsemax_minus_targets():
    z = _away_from_kinks(seed=13)
    q = _distributions(seed=13)

    def objective(v):
        return ops.sum(sparsemax_loss(ops.convert_to_tensor(q, dtype=v.dtype), v))

    got = autodiff(objective, z)
    np.testing.assert_allclose(got, ref.sparsemax_loss_gradient(q, z), atol=1e-12)
    fd = finite_differences(lambda v: ref.tfa_sparsemax_loss(q, v).sum(), z)
    np.testing.assert_allclose(got, fd, atol=1e-7)
    _, ids = _onehot(seed=13)
    got = autodiff(lambda v: ops.sum(sparsemax_loss(ids, v)), z)
    np.testing.assert_allclose(got, ref.sparsemax(z) - np.eye(C)[ids], atol=1e-12)


# ------------------------------------------------------------------ the loss: dtypes


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_loss_16_bit_is_computed_in_float32(dtype):
    q, ids = _onehot(seed=15)
    tensor = ops.convert_to_tensor(_logits(seed=15), dtype=dtype)
    expected = ref.tfa_sparsemax_loss(q, _f64(tensor))
    for labels in (ops.convert_to_tensor(q, dtype=dtype), ids):
        got = sparsemax_loss(labels, tensor)
        assert keras.backend.standardize_dtype(got.dtype) == dtype
        np.testing.assert_allclose(_f64(got), expected, rtol=UNIT[dtype] + 2.0**-20, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_smoothed_16_bit_targets_are_distributions_up_to_their_rounding(dtype):
    q, _ = _onehot(seed=21)
    # Rounded to bfloat16, the rows sum to 1 within 1.6e-3, beyond float32 rounding.
    smoothed = ops.convert_to_tensor(0.9 * q + 0.1 / C, dtype=dtype)
    logits = ops.convert_to_tensor(_logits(seed=21), dtype=dtype)
    got = _f64(sparsemax_loss(smoothed, logits))
    expected = ref.tfa_sparsemax_loss(_f64(smoothed), _f64(logits))
    np.testing.assert_allclose(got, expected, rtol=UNIT[dtype] + 2.0**-20, atol=1e-6)


def test_loss_float64_keeps_every_digit():
    z = _logits(seed=16).astype(np.float64) / 3.0
    q = _distributions(seed=16)
    with float64_context():
        got = sparsemax_loss(
            ops.convert_to_tensor(q, dtype="float64"), ops.convert_to_tensor(z, dtype="float64")
        )
        assert keras.backend.standardize_dtype(got.dtype) == "float64"
        np.testing.assert_allclose(_np(got), ref.tfa_sparsemax_loss(q, z), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ the loss: bad targets


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ([1.0, 1.0, 0.0], "distributions.*row sums from 1 to 2"),  # multi-hot, not normalised
        ([0.0, 0.0, 0.0], "distributions.*row sums from 0 to 1"),
        ([1.5, -0.5, 0.0], "distributions.*entries from -0.5"),
    ],
)
def test_targets_that_are_not_distributions_are_rejected(row, match):
    q = np.array([[1, 0, 0], row, [0, 1, 0], [0, 0, 1]], np.float32)
    with pytest.raises(ValueError, match=match):
        sparsemax_loss(q, HAND)


def test_target_tensors_that_are_not_distributions_give_nan():
    """Tensors are not refused (Keras' torch backend may build a model by calling its
    losses on tensors of ones); their invalid rows give NaN, in the class too."""
    q = np.array([[1, 0, 0], [1, 1, 0], [0, 0.5, 0.5], [0, 0, 0]], np.float32)
    expected = ref.tfa_sparsemax_loss(q, HAND)[[0, 2]]
    got = _np(sparsemax_loss(ops.convert_to_tensor(q), HAND))
    assert np.all(np.isnan(got[[1, 3]]))
    np.testing.assert_allclose(got[[0, 2]], expected, rtol=1e-5)
    assert np.isnan(_np(SparsemaxLoss()(q, HAND)))


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        ([0, 3, 1, 2], r"class ids.*\[0, 2\].*to 3"),
        ([0, -1, 1, 2], "from -1"),
        ([0.5] * 4, "whole"),
    ],
)
def test_class_ids_out_of_range_are_rejected(ids, match):
    with pytest.raises(ValueError, match=match):
        sparsemax_loss(np.array(ids), HAND)


def test_multi_hot_targets_divided_by_their_sums_are_accepted():
    multi_hot = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]], np.float32)
    q = multi_hot / multi_hot.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        _np(sparsemax_loss(q, HAND)), ref.tfa_sparsemax_loss(q, HAND), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("y_true_shape", "y_pred_shape"), [((4, 2), (4, 3)), ((5,), (4, 3)), ((4, 3, 1), (4, 3))]
)
def test_shapes_that_do_not_pair_are_rejected(y_true_shape, y_pred_shape):
    with pytest.raises(ValueError, match="shape"):
        sparsemax_loss(np.zeros(y_true_shape, np.float32), np.zeros(y_pred_shape, np.float32))


def _traced(fn):
    """fn compiled by the backend, so that the values of its inputs are not known."""
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    pytest.skip("torch runs eagerly: the values are known and checked")


def test_inside_a_compiled_step_bad_targets_give_nan():
    q = np.array([[1, 0, 0], [1, 1, 0], [0, 0.5, 0.5], [0, 0, 0]], np.float32)
    got = _np(_traced(sparsemax_loss)(q, HAND))
    assert np.all(np.isnan(got[[1, 3]]))
    np.testing.assert_allclose(got[[0, 2]], ref.tfa_sparsemax_loss(q, HAND)[[0, 2]], rtol=1e-5)
    ids = np.array([0, 7, 2, -1], np.int32)
    got = _np(_traced(sparsemax_loss)(ids, HAND))
    assert np.all(np.isnan(got[[1, 3]]))
    expected = ref.optax_multiclass_sparsemax_loss([0, 2], HAND[[0, 2]])
    np.testing.assert_allclose(got[[0, 2]], expected, rtol=1e-5)


# ------------------------------------------------------------------ the class


def test_class_reduces_the_per_sample_values():
    z = _logits(seed=19)
    q, ids = _onehot(seed=19)
    expected = ref.tfa_sparsemax_loss(q, z)
    np.testing.assert_allclose(_np(SparsemaxLoss()(q, z)), expected.mean(), rtol=1e-5)
    np.testing.assert_allclose(_np(SparsemaxLoss()(ids, z)), expected.mean(), rtol=1e-5)
    summed = _np(SparsemaxLoss(reduction="sum")(ids, z))
    np.testing.assert_allclose(summed, expected.sum(), rtol=1e-5)


def test_no_from_logits_argument():
    with pytest.raises(TypeError, match="from_logits"):
        SparsemaxLoss(from_logits=True)


def test_exported_from_the_package():
    assert kerasloss.sparsemax_loss is sparsemax_loss
    assert kerasloss.SparsemaxLoss is SparsemaxLoss
    assert kerasloss.ops.sparsemax is sparsemax
    assert keras.saving.get_registered_object("kerasloss>SparsemaxLoss") is SparsemaxLoss


@pytest.mark.skipif(BACKEND != "tensorflow", reason="only TensorFlow traces an unknown batch size")
def test_unknown_batch_size_while_tracing():
    import tensorflow as tf

    z = _logits(seed=20)
    _, ids = _onehot(seed=20)
    spec = tf.TensorSpec([None, C], tf.float32)
    traced_op = tf.function(sparsemax, input_signature=[spec])
    np.testing.assert_allclose(_np(traced_op(z)), ref.sparsemax(z), atol=2e-6)
    traced = tf.function(sparsemax_loss, input_signature=[tf.TensorSpec([None], tf.int32), spec])
    expected = ref.optax_multiclass_sparsemax_loss(ids, z)
    np.testing.assert_allclose(_np(traced(ids, z)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_fit_on_digits_gives_sparse_confident_predictions():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        (x / 16.0).astype(np.float32), y, test_size=0.5, stratify=y, random_state=0
    )
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=SparsemaxLoss())
    history = model.fit(x_train, y_train, batch_size=128, epochs=10, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    p = _np(sparsemax(model.predict(x_test, verbose=0)))
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    accuracy = np.mean(np.argmax(p, -1) == y_test)
    support = np.mean(np.sum(p > 0, -1))
    # Measured: held-out accuracy 0.935 / 0.951 / 0.935 and 1.69 / 1.67 / 1.73 classes
    # in the support on average (softmax: all 10) on torch / TensorFlow / JAX.
    assert accuracy >= 0.9 and support < 2.5, (accuracy, support)
