"""The sparse classification losses: NumPy references, their dense twins, Keras' own loss.

Expected values come from tests/_reference_sparse.py (the dense NumPy formulas on the
one-hot of the ids, 0 for ignored ids) and from `keras.losses.SparseCategoricalCrossentropy`
where the two losses coincide (an all-ones cost table, `epsilon=0`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import pytest
from keras import ops

import _reference as ref
import _reference_sparse as sref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context

B, C, T = 8, 4, 3
IGNORED = -1
BACKEND = keras.backend.backend()


def _np(x):
    return ops.convert_to_numpy(x)


def _as_float64(x):
    return _np(ops.cast(x, "float32")).astype(np.float64)


@dataclasses.dataclass
class Case:
    """A sparse loss, its dense twin and its reference `ref(ids, y_pred, from_logits, ignore)`."""

    id: str
    cls: type
    fn: Callable
    dense_fn: Callable
    kwargs: dict
    ref: Callable

    def __call__(self, y_true, y_pred, **kwargs):
        return self.fn(y_true, y_pred, **{**self.kwargs, **kwargs})

    def loss(self, **kwargs):
        return self.cls(**{**self.kwargs, **kwargs})


TABLE = np.random.default_rng(3).uniform(0.5, 3.0, size=(C, C))
CASES = [
    Case(
        "cost_sensitive",
        kerasloss.SparseCostSensitiveCrossentropy,
        kerasloss.sparse_cost_sensitive_crossentropy,
        kerasloss.cost_sensitive_crossentropy,
        {"cost_matrix": TABLE},
        lambda t, p, fl, ig: sref.sparse_cost_sensitive(t, p, TABLE, fl, ig),
    ),
    Case(
        "label_smoothing",
        kerasloss.SparseLabelSmoothingCrossentropy,
        kerasloss.sparse_label_smoothing_crossentropy,
        kerasloss.label_smoothing_crossentropy,
        {"epsilon": 0.2},
        lambda t, p, fl, ig: sref.sparse_label_smoothing(t, p, 0.2, fl, ig),
    ),
]
each_case = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
logits_or_probs = pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probs"])


def _data(lead=(B,), seed=0, ignored=0.3):
    """Ids (about `ignored` of them IGNORED, at least one kept), logits and their softmax."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, C, size=lead)
    ids = np.where(rng.uniform(size=lead) < ignored, IGNORED, ids).astype(np.int32)
    ids.reshape(-1)[0] = 1
    logits = rng.normal(scale=2.0, size=(*lead, C)).astype(np.float32)
    return ids, logits, ref.softmax(logits).astype(np.float32)


IDS, LOGITS, PROBS = _data()
KEEP = IDS != IGNORED


def _pred(from_logits):
    return LOGITS if from_logits else PROBS


# ------------------------------------------------------------------------------ values


@each_case
@logits_or_probs
@pytest.mark.parametrize("form", ["B", "B1", "int64", "float32"])
def test_function_matches_reference(case, from_logits, form):
    y_true = {
        "B": IDS,
        "B1": IDS[:, None],
        "int64": IDS.astype(np.int64),
        "float32": IDS.astype(np.float32),
    }[form]
    y_pred = _pred(from_logits)
    got = _np(case(y_true, y_pred, from_logits=from_logits, ignore_class=IGNORED))
    assert got.shape == (B,)
    expected = case.ref(IDS, y_pred, from_logits, IGNORED)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    assert np.all(got[~KEEP] == 0.0) and np.all(got[KEEP] > 0.0)


@each_case
@logits_or_probs
def test_without_ignore_class_every_sample_counts(case, from_logits):
    ids = np.where(KEEP, IDS, 2)
    y_pred = _pred(from_logits)
    got = _np(case(ids, y_pred, from_logits=from_logits))
    np.testing.assert_allclose(got, case.ref(ids, y_pred, from_logits, None), rtol=2e-5)


@each_case
def test_probabilities_and_logits_agree(case):
    from_logits = _np(case(IDS, LOGITS, from_logits=True, ignore_class=IGNORED))
    from_probs = _np(case(IDS, PROBS, from_logits=False, ignore_class=IGNORED))
    np.testing.assert_allclose(from_probs, from_logits, rtol=1e-4, atol=1e-5)


@each_case
@pytest.mark.parametrize("reduction", [None, "sum", "sum_over_batch_size", "mean"])
def test_reductions_leave_ignored_samples_out_of_the_mean(case, reduction):
    loss = case.loss(from_logits=True, ignore_class=IGNORED, reduction=reduction)
    per_sample = case.ref(IDS, LOGITS, True, IGNORED)
    expected = {None: per_sample, "sum": per_sample.sum()}.get(
        reduction, sref.kept_mean(per_sample, KEEP)
    )
    assert KEEP.sum() < B  # the mean is over fewer samples than the batch
    np.testing.assert_allclose(_np(loss(IDS, LOGITS)), expected, rtol=2e-5, atol=1e-6)


@each_case
def test_sample_weight_with_ignore_class(case):
    loss = case.loss(from_logits=True, ignore_class=IGNORED)
    per_sample = case.ref(IDS, LOGITS, True, IGNORED)
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    expected = sref.kept_mean(per_sample, KEEP, weights)
    for w in (weights, weights[:, None]):
        np.testing.assert_allclose(_np(loss(IDS, LOGITS, sample_weight=w)), expected, rtol=2e-5)
    np.testing.assert_allclose(
        _np(loss(IDS, LOGITS, sample_weight=2.5)), 2.5 * sref.kept_mean(per_sample, KEEP), rtol=2e-5
    )
    unreduced = case.loss(from_logits=True, ignore_class=IGNORED, reduction=None)
    np.testing.assert_allclose(
        _np(unreduced(IDS, LOGITS, sample_weight=weights)), per_sample * weights, rtol=2e-5
    )


# Where the sparse losses are Keras' sparse categorical cross-entropy.
AS_KERAS = [
    pytest.param(kerasloss.SparseCostSensitiveCrossentropy, {"cost_matrix": np.ones((C, C))}),
    pytest.param(kerasloss.SparseLabelSmoothingCrossentropy, {"epsilon": 0.0}),
]


@pytest.mark.parametrize(("cls", "kwargs"), AS_KERAS, ids=["all_ones_table", "epsilon_0"])
@logits_or_probs
@pytest.mark.parametrize("ignore_class", [IGNORED, 255, 2])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
def test_equals_keras_sparse_categorical_crossentropy(
    cls, kwargs, from_logits, ignore_class, reduction
):
    ids = np.where(KEEP, IDS, ignore_class).astype(np.int32)
    y_pred = _pred(from_logits)
    common = {"from_logits": from_logits, "ignore_class": ignore_class, "reduction": reduction}
    ours, theirs = cls(**kwargs, **common), keras.losses.SparseCategoricalCrossentropy(**common)
    weights = np.linspace(0.5, 2.0, B).astype(np.float32)
    for y_true in (ids, ids[:, None]):
        for w in (None, weights):
            np.testing.assert_allclose(
                _np(ours(y_true, y_pred, sample_weight=w)),
                _np(theirs(y_true, y_pred, sample_weight=w)),
                rtol=1e-5,
                atol=1e-6,
            )


@each_case
@logits_or_probs
def test_sparse_equals_dense_on_one_hot_values_and_gradients(case, from_logits):
    ids = np.where(KEEP, IDS, 3)
    onehot = np.eye(C, dtype=np.float32)[ids]
    y_pred = _pred(from_logits)
    sparse = _np(case(ids, y_pred, from_logits=from_logits))
    dense = _np(case.dense_fn(onehot, y_pred, from_logits=from_logits, **case.kwargs))
    np.testing.assert_allclose(sparse, dense, rtol=1e-6)
    x = y_pred.astype(np.float64)
    with float64_context():
        grad_sparse = autodiff(lambda v: ops.sum(case(ids, v, from_logits=from_logits)), x)
        grad_dense = autodiff(
            lambda v: ops.sum(case.dense_fn(onehot, v, from_logits=from_logits, **case.kwargs)),
            x,
        )
    np.testing.assert_allclose(grad_sparse, grad_dense, rtol=1e-12, atol=1e-14)


@each_case
@logits_or_probs
def test_gradient_matches_finite_differences(case, from_logits):
    x = _pred(from_logits).astype(np.float64)
    with float64_context():
        got = autodiff(
            lambda v: ops.sum(case(IDS, v, from_logits=from_logits, ignore_class=IGNORED)), x
        )
    expected = finite_differences(lambda v: case.ref(IDS, v, from_logits, IGNORED).sum(), x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert np.all(got[~KEEP] == 0.0)


def test_cost_weight_is_the_table_entry_and_a_constant():
    table = np.array([[0.5, 2.0, 3.0], [4.0, 0.5, 6.0], [7.0, 8.0, 0.5]])
    ids = np.array([0, 0, 1, 2])
    # Right; wrong (true 0, predicted 2); wrong (true 1, predicted 0); a tie, first index 0.
    logits = np.array([[3.0, 0.0, 1.0], [0.0, 1.0, 2.0], [2.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    ce = -ref.log_softmax(logits)[np.arange(4), ids]
    weights = np.array([0.5, 3.0, 4.0, 7.0])
    got = kerasloss.sparse_cost_sensitive_crossentropy(
        ids, logits.astype(np.float32), cost_matrix=table, from_logits=True
    )
    np.testing.assert_allclose(_np(got), weights * ce, rtol=1e-6)
    grad = autodiff(
        lambda v: ops.sum(
            kerasloss.sparse_cost_sensitive_crossentropy(
                ids, v, cost_matrix=table, from_logits=True
            )
        ),
        logits,
    )
    np.testing.assert_allclose(
        grad, weights[:, None] * (ref.softmax(logits) - np.eye(3)[ids]), rtol=1e-6, atol=1e-12
    )


# ------------------------------------------------------------------------ edges, dtypes


@each_case
@pytest.mark.parametrize("scale", [40.0, 1e4])
def test_extreme_logits_are_exact_with_finite_gradients(case, scale):
    x = (np.sign(LOGITS) * scale).astype(np.float32)
    values = _np(case(IDS, x, from_logits=True, ignore_class=IGNORED))
    # log_softmax in float64 of the same float32 logits: exact, no clipped probability.
    np.testing.assert_allclose(values, case.ref(IDS, x, True, IGNORED), rtol=1e-6)
    grad = autodiff(lambda v: ops.sum(case(IDS, v, from_logits=True, ignore_class=IGNORED)), x)
    assert np.all(np.isfinite(grad))


@each_case
def test_saturated_probabilities_give_finite_values_and_gradients(case):
    probs = (ref.softmax(LOGITS * 1e3) > 0.5).astype(np.float64)  # exact 0 and 1
    values = _np(case(IDS, probs.astype(np.float32), ignore_class=IGNORED))
    assert np.all(np.isfinite(values))
    grad = autodiff(lambda v: ops.sum(case(IDS, v, ignore_class=IGNORED)), probs)
    assert np.all(np.isfinite(grad))


# 16-bit inputs are computed in float32 and rounded once: the float64 loss of the rounded
# inputs within half an ulp of the output, plus 2^-18 for float32's own rounding.
SIXTEEN_BIT_RTOL = {"float16": 2.0**-11 + 2.0**-18, "bfloat16": 2.0**-8 + 2.0**-18}
sixteen_bit = pytest.mark.parametrize("dtype", list(SIXTEEN_BIT_RTOL))


@each_case
@logits_or_probs
@sixteen_bit
def test_sixteen_bit_inputs_give_the_loss_of_the_rounded_inputs(case, from_logits, dtype):
    x = LOGITS / 2
    y_pred = x if from_logits else ref.softmax(x).astype(np.float32)
    if not from_logits:  # inside the clip of 16-bit probabilities
        assert 2.0**-7 < y_pred.min() and y_pred.max() < 1 - 2.0**-7
    tensor = ops.convert_to_tensor(y_pred, dtype=dtype)
    rounded = _as_float64(tensor)
    expected = case.ref(IDS, rounded, from_logits, IGNORED)
    got = case(IDS, tensor, from_logits=from_logits, ignore_class=IGNORED)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL[dtype])
    # The class casts the ids to its dtype too (keras.losses.Loss does).
    loss = case.loss(from_logits=from_logits, ignore_class=IGNORED, dtype=dtype, reduction=None)
    got = loss(IDS, y_pred)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL[dtype])


@pytest.mark.parametrize(("dtype", "limit"), [("bfloat16", 256), ("float16", 2048)])
def test_sixteen_bit_ids_must_hold_every_class(dtype, limit):
    # keras.losses.Loss casts y_true to the loss's dtype: bfloat16 rounds id 257 to 256.
    ids = np.array([0, limit], np.int32)
    for num_classes, ok in ((limit + 1, True), (limit + 2, False)):
        logits = np.zeros((2, num_classes), np.float32)
        loss = kerasloss.SparseLabelSmoothingCrossentropy(from_logits=True, dtype=dtype)
        if ok:
            assert np.isfinite(_as_float64(loss(ids, logits)))
        else:
            with pytest.raises(ValueError, match=rf"{dtype}.*{limit}"):
                loss(ids, logits)
    # float32 holds them.
    got = kerasloss.SparseLabelSmoothingCrossentropy(from_logits=True)(ids, logits)
    np.testing.assert_allclose(_np(got), np.log(limit + 2), rtol=1e-6)


@each_case
def test_timesteps(case):
    ids, logits, _ = _data(lead=(B, T), seed=1)
    keep = ids != IGNORED
    expected = case.ref(ids, logits, True, IGNORED)
    for y_true in (ids, ids[..., None]):
        got = _np(case(y_true, logits, from_logits=True, ignore_class=IGNORED))
        assert got.shape == (B, T)
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)
    loss = case.loss(from_logits=True, ignore_class=IGNORED)
    np.testing.assert_allclose(_np(loss(ids, logits)), sref.kept_mean(expected, keep), rtol=2e-5)
    weights = np.random.default_rng(2).uniform(size=(B, T)).astype(np.float32)
    np.testing.assert_allclose(
        _np(loss(ids, logits, sample_weight=weights)),
        sref.kept_mean(expected, keep, weights),
        rtol=2e-5,
    )
    per_sequence = np.linspace(0.0, 2.0, B).astype(np.float32)  # one weight per sequence
    np.testing.assert_allclose(
        _np(loss(ids, logits, sample_weight=per_sequence)),
        sref.kept_mean(expected, keep, per_sequence[:, None]),
        rtol=2e-5,
    )


@each_case
def test_every_sample_ignored(case):
    ids = np.full(B, IGNORED, np.int32)
    assert np.all(_np(case(ids, LOGITS, from_logits=True, ignore_class=IGNORED)) == 0.0)
    assert _np(case.loss(from_logits=True, ignore_class=IGNORED)(ids, LOGITS)) == 0.0
    grad = autodiff(lambda v: ops.sum(case(ids, v, from_logits=True, ignore_class=IGNORED)), LOGITS)
    assert np.all(grad == 0.0)


@each_case
def test_an_ignore_class_inside_the_class_range(case):
    ids = np.where(KEEP, IDS, 2)
    keep = ids != 2
    got = _np(case(ids, LOGITS, from_logits=True, ignore_class=2))
    np.testing.assert_allclose(got, case.ref(ids, LOGITS, True, 2), rtol=2e-5, atol=1e-6)
    assert np.all(got[~keep] == 0.0)


@each_case
@logits_or_probs
def test_a_nan_prediction_reaches_the_loss(case, from_logits):
    y_pred = _pred(from_logits).copy()
    y_pred[0, 3] = np.nan  # sample 0 is kept (class 1)
    got = _np(case(IDS, y_pred, from_logits=from_logits, ignore_class=IGNORED))
    assert np.isnan(got[0]) and np.all(np.isfinite(got[1:]))


# ------------------------------------------------------------------------ invalid input


@each_case
@pytest.mark.parametrize(
    ("bad", "ignore_class"),
    [(C, IGNORED), (-2, IGNORED), (-1, None), (1.5, IGNORED), (np.nan, IGNORED)],
    ids=["C", "minus_2", "minus_1_not_ignored", "fraction", "nan"],
)
def test_invalid_ids_raise_eagerly(case, bad, ignore_class):
    ids = IDS.astype(np.float32 if isinstance(bad, float) else np.int32)
    ids[2] = bad
    with pytest.raises(ValueError, match="y_true"):
        case(ids, LOGITS, from_logits=True, ignore_class=ignore_class)
    with pytest.raises(ValueError, match="y_true"):
        case.loss(from_logits=True, ignore_class=ignore_class)(ids, LOGITS)


@each_case
def test_one_hot_targets_are_rejected_with_a_hint(case):
    with pytest.raises(ValueError, match="one-hot"):
        case(np.eye(C, dtype=np.float32)[[0, 1]], LOGITS[:2], from_logits=True)


@each_case
def test_bad_hyper_parameters(case):
    with pytest.raises(TypeError, match="ignore_class"):
        case.loss(ignore_class=1.0)
    with pytest.raises(TypeError, match="ignore_class"):
        case(IDS, LOGITS, ignore_class=True)
    with pytest.raises(TypeError, match="from_logits"):
        case.loss(from_logits="yes")
    with pytest.raises(TypeError, match="from_logits"):
        case(IDS, LOGITS, from_logits=1)


@pytest.mark.parametrize(
    ("epsilon", "error"),
    [(-0.1, ValueError), (1.5, ValueError), ("a", TypeError), (float("nan"), ValueError)],
)
def test_label_smoothing_rejects_bad_epsilon(epsilon, error):
    with pytest.raises(error, match="epsilon"):
        kerasloss.SparseLabelSmoothingCrossentropy(epsilon=epsilon)
    with pytest.raises(error, match="epsilon"):
        kerasloss.sparse_label_smoothing_crossentropy(IDS, LOGITS, epsilon=epsilon)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (np.ones((3, 2)), r"shape \(C, C\)"),
        (np.ones((2, 2, 2)), r"shape \(C, C\)"),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), ">= 0"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "finite"),
        ([[0.0, 1.0], [1.0]], r"\(C, C\)"),
    ],
)
def test_bad_cost_matrix_is_rejected_at_construction(table, message):
    with pytest.raises(ValueError, match=message) as error:
        kerasloss.SparseCostSensitiveCrossentropy(cost_matrix=table)
    assert "cost_matrix" in str(error.value)


def test_cost_matrix_is_required():
    with pytest.raises(TypeError, match="cost_matrix"):
        kerasloss.SparseCostSensitiveCrossentropy()
    for call in (
        lambda: kerasloss.SparseCostSensitiveCrossentropy(cost_matrix=None),
        lambda: kerasloss.sparse_cost_sensitive_crossentropy(IDS, LOGITS, cost_matrix=None),
    ):
        with pytest.raises(TypeError, match=r"cost_matrix.*pack_example_costs"):
            call()


def test_cost_matrix_must_fit_the_predictions():
    loss = kerasloss.SparseCostSensitiveCrossentropy(cost_matrix=np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"cost_matrix.*\(4, 4\)"):
        loss(IDS, LOGITS)
    with pytest.raises(ValueError, match=r"cost_matrix.*\(4, 4\)"):
        kerasloss.sparse_cost_sensitive_crossentropy(IDS, LOGITS, cost_matrix=ops.ones((3, 3)))
    with pytest.raises(ValueError, match="cost_matrix"):
        kerasloss.sparse_cost_sensitive_crossentropy(
            IDS, LOGITS.astype(np.float16), cost_matrix=np.full((C, C), 1e39)
        )


# ------------------------------------------------------------------------ in a model


def _model(loss):
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(C)(inputs))
    # XLA on JAX and TensorFlow; torch runs its step eagerly.
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=BACKEND != "torch")
    return model


@pytest.mark.slow
@each_case
def test_compiled_step_ignores_ids_and_turns_invalid_ids_into_nan(case):
    x = np.random.default_rng(4).normal(size=(B, 5)).astype(np.float32)
    model = _model(case.loss(from_logits=True, ignore_class=IGNORED))
    logits = _np(model(x)).astype(np.float64)
    expected = sref.kept_mean(case.ref(IDS, logits, True, IGNORED), KEEP)
    got = model.evaluate(x, IDS, batch_size=B, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    bad = IDS.copy()
    bad[2] = C
    if BACKEND == "torch":  # eager: the ids are read, and refused
        with pytest.raises(ValueError, match="y_true"):
            model.evaluate(x, bad, batch_size=B, verbose=0)
    else:  # compiled: the ids cannot be read, the loss says NaN
        assert model.jit_compile is True
        assert np.isnan(model.evaluate(x, bad, batch_size=B, verbose=0))
    history = model.fit(x, IDS, batch_size=B, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
