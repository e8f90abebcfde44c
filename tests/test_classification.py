"""The classification losses against NumPy references written from their formulas."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import pytest
from keras import ops

import _reference as ref
import kerasloss
from _autodiff import autodiff, finite_differences, float64_context

B, C = 8, 4


@dataclasses.dataclass
class Case:
    """One loss under test with its data: `ref(y_true, y_pred, from_logits)` is NumPy float64."""

    id: str
    cls: type
    fn: Callable
    kwargs: dict
    y_true: np.ndarray
    logits: np.ndarray
    ref: Callable
    to_probabilities: Callable

    def y_pred(self, from_logits):
        x = self.logits if from_logits else self.to_probabilities(self.logits)
        return np.asarray(x, np.float32)

    def reference(self, y_pred, from_logits):
        return self.ref(self.y_true, y_pred, from_logits)


def _cases():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, C, size=B)
    onehot = np.eye(C, dtype=np.float32)[labels]
    logits = rng.normal(scale=2.0, size=(B, C)).astype(np.float32)
    table = rng.uniform(0.5, 3.0, size=(C, C))
    tables = rng.uniform(0.0, 4.0, size=(B, C, C))
    multi_hot = (rng.uniform(size=(B, 5)) < 0.4).astype(np.float32)
    multi_logits = rng.normal(scale=2.0, size=(B, 5)).astype(np.float32)

    def packed_reference(y_true, y_pred, from_logits):
        # The labels and tables as the loss sees them: unpacked from y_true.
        y_true = np.asarray(y_true, np.float64)
        per_example = y_true[:, C:].reshape(-1, C, C)
        return ref.cost_sensitive(y_true[:, :C], y_pred, per_example, from_logits)

    return [
        Case(
            "cost_sensitive_table",
            kerasloss.CostSensitiveCrossentropy,
            kerasloss.cost_sensitive_crossentropy,
            {"cost_matrix": table},
            onehot,
            logits,
            lambda t, p, fl: ref.cost_sensitive(t, p, table, fl),
            ref.softmax,
        ),
        Case(
            "cost_sensitive_per_example",
            kerasloss.CostSensitiveCrossentropy,
            kerasloss.cost_sensitive_crossentropy,
            {"cost_matrix": None},
            kerasloss.pack_example_costs(onehot, tables),
            logits,
            packed_reference,
            ref.softmax,
        ),
        Case(
            "label_smoothing",
            kerasloss.LabelSmoothingCrossentropy,
            kerasloss.label_smoothing_crossentropy,
            {"epsilon": 0.2},
            onehot,
            logits,
            lambda t, p, fl: ref.label_smoothing(t, p, 0.2, fl),
            ref.softmax,
        ),
        Case(
            "focal",
            kerasloss.BinaryFocalLoss,
            kerasloss.binary_focal_loss,
            {"gamma": 2.0, "alpha": 0.25},
            multi_hot,
            multi_logits,
            lambda t, p, fl: ref.binary_focal(t, p, 2.0, 0.25, fl),
            ref.sigmoid,
        ),
        Case(
            "focal_unbalanced",
            kerasloss.BinaryFocalLoss,
            kerasloss.binary_focal_loss,
            {"gamma": 0.5, "alpha": None},
            multi_hot,
            multi_logits,
            lambda t, p, fl: ref.binary_focal(t, p, 0.5, None, fl),
            ref.sigmoid,
        ),
    ]


CASES = _cases()
logits_or_probs = pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "probs"])
each_case = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])


def _np(x):
    return keras.ops.convert_to_numpy(x)


# ------------------------------------------------------------------ the common checklist


@each_case
@logits_or_probs
def test_function_matches_reference(case, from_logits):
    y_pred = case.y_pred(from_logits)
    got = _np(case.fn(case.y_true, y_pred, from_logits=from_logits, **case.kwargs))
    assert got.shape == (B,)
    np.testing.assert_allclose(got, case.reference(y_pred, from_logits), rtol=2e-5, atol=1e-6)


@each_case
def test_probabilities_and_logits_agree(case):
    from_logits = _np(case.fn(case.y_true, case.y_pred(True), from_logits=True, **case.kwargs))
    from_probs = _np(case.fn(case.y_true, case.y_pred(False), from_logits=False, **case.kwargs))
    np.testing.assert_allclose(from_probs, from_logits, rtol=1e-4, atol=1e-5)


@each_case
@pytest.mark.parametrize("reduction", [None, "sum", "sum_over_batch_size"])
def test_reductions(case, reduction):
    loss = case.cls(from_logits=True, reduction=reduction, **case.kwargs)
    expected = case.reference(case.logits, True)
    expected = {None: expected, "sum": expected.sum(), "sum_over_batch_size": expected.mean()}
    np.testing.assert_allclose(
        _np(loss(case.y_true, case.logits)), expected[reduction], rtol=2e-5, atol=1e-6
    )


@each_case
def test_sample_weight(case):
    loss = case.cls(from_logits=True, **case.kwargs)
    per_sample = case.reference(case.logits, True)
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    np.testing.assert_allclose(
        _np(loss(case.y_true, case.logits, sample_weight=weights)),
        (per_sample * weights).sum() / B,  # Keras divides by the batch size, not the weights
        rtol=2e-5,
    )
    np.testing.assert_allclose(
        _np(loss(case.y_true, case.logits, sample_weight=2.5)), per_sample.mean() * 2.5, rtol=2e-5
    )
    assert _np(loss(case.y_true, case.logits, sample_weight=np.zeros(B, np.float32))) == 0.0


@each_case
@logits_or_probs
def test_gradient_matches_finite_differences(case, from_logits):
    x = case.y_pred(from_logits).astype(np.float64)
    with float64_context():
        got = autodiff(
            lambda v: ops.sum(case.fn(case.y_true, v, from_logits=from_logits, **case.kwargs)), x
        )
    expected = finite_differences(lambda v: case.reference(v, from_logits).sum(), x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# 16-bit inputs are computed in float32 and the loss is rounded once to 16 bits: it is the
# float64 loss of the rounded inputs within that rounding, half an ulp (2^-11 relative in
# float16, 2^-8 in bfloat16), plus 2^-18 for float32's own rounding on the way.
SIXTEEN_BIT_RTOL = {"float16": 2.0**-11 + 2.0**-18, "bfloat16": 2.0**-8 + 2.0**-18}
sixteen_bit = pytest.mark.parametrize("dtype", list(SIXTEEN_BIT_RTOL))


def _rounded(x, dtype):
    """x as a tensor of `dtype`, as the backend rounds it, and those values in float64."""
    tensor = ops.convert_to_tensor(np.asarray(x, np.float32), dtype=dtype)
    return tensor, _np(ops.cast(tensor, "float32")).astype(np.float64)


def _as_float64(x):
    return _np(ops.cast(x, "float32")).astype(np.float64)


@each_case
@sixteen_bit
def test_low_precision_is_finite_and_close(case, dtype):
    loss = case.cls(from_logits=True, reduction=None, dtype=dtype, **case.kwargs)
    got = loss(case.y_true, case.logits)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    _, y_true = _rounded(case.y_true, dtype)
    _, logits = _rounded(case.logits, dtype)
    np.testing.assert_allclose(
        _as_float64(got), case.ref(y_true, logits, True), rtol=SIXTEEN_BIT_RTOL[dtype]
    )


@each_case
@logits_or_probs
@sixteen_bit
def test_sixteen_bit_inputs_give_the_float64_loss_of_the_rounded_inputs(case, from_logits, dtype):
    x = case.logits / 2
    y_pred = x if from_logits else case.to_probabilities(x)
    if not from_logits:
        # Inside the clip of 16-bit probabilities, where it and the reference's agree.
        assert 2.0**-7 < y_pred.min() and y_pred.max() < 1 - 2.0**-7
    true_tensor, y_true = _rounded(case.y_true, dtype)
    pred_tensor, y_pred = _rounded(y_pred, dtype)
    got = case.fn(true_tensor, pred_tensor, from_logits=from_logits, **case.kwargs)
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    np.testing.assert_allclose(
        _as_float64(got), case.ref(y_true, y_pred, from_logits), rtol=SIXTEEN_BIT_RTOL[dtype]
    )


@sixteen_bit
def test_sixteen_bit_focal_loss_at_a_small_probability(dtype):
    # Computed in float16 this was 0.7% off at p = 0.03; in float32, then rounded, it is exact
    # to the last bit of the output.
    y = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)
    p = np.array([[0.03], [0.97], [0.3], [0.2]], np.float32)  # losses in float16's normal range
    pred_tensor, p16 = _rounded(p, dtype)
    for gamma, alpha in [(2.0, 0.25), (0.5, None), (3.0, 0.9)]:
        got = kerasloss.binary_focal_loss(y, pred_tensor, gamma=gamma, alpha=alpha)
        expected = ref.binary_focal(y, p16, gamma, alpha, False)
        np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL[dtype])


@sixteen_bit
def test_sixteen_bit_probabilities_are_clipped_at_the_gap_below_one(dtype):
    # Probabilities given in 16 bits are clipped to [eps, 1 - eps] with eps the gap below 1
    # of their dtype (1 - 1e-7 is 1 there), though they are computed in float32.
    eps = {"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype]
    rtol = SIXTEEN_BIT_RTOL[dtype]
    wrong = -np.log(eps)  # -log of a probability clipped up to eps
    focal = kerasloss.binary_focal_loss(
        [[1.0, 0.0]], _rounded([[0.0, 1.0]], dtype)[0], gamma=2.0, alpha=0.25
    )
    np.testing.assert_allclose(_as_float64(focal), [(1 - eps) ** 2 * wrong], rtol=rtol)
    one_hot = _rounded([[0.0, 1.0, 0.0]], dtype)[0]
    smoothed = kerasloss.label_smoothing_crossentropy([[1.0, 0.0, 0.0]], one_hot, epsilon=0.3)
    to_uniform = (2 * wrong - np.log(1 - eps)) / 3
    np.testing.assert_allclose(_as_float64(smoothed), [0.7 * wrong + 0.3 * to_uniform], rtol=rtol)
    table = np.array([[0.0, 2.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    costly = kerasloss.cost_sensitive_crossentropy([[1.0, 0.0, 0.0]], one_hot, cost_matrix=table)
    np.testing.assert_allclose(_as_float64(costly), [2.0 * wrong], rtol=rtol)


@each_case
@pytest.mark.parametrize("scale", [40.0, 1e4])
def test_extreme_logits_give_finite_values_and_gradients(case, scale):
    x = np.sign(case.logits) * scale
    values = _np(case.fn(case.y_true, x.astype(np.float32), from_logits=True, **case.kwargs))
    assert np.all(np.isfinite(values))
    grad = autodiff(lambda v: ops.sum(case.fn(case.y_true, v, from_logits=True, **case.kwargs)), x)
    assert np.all(np.isfinite(grad))


@each_case
def test_saturated_probabilities_give_finite_values_and_gradients(case):
    probs = (case.to_probabilities(case.logits * 1e3) > 0.5).astype(np.float64)  # exact 0 and 1
    values = _np(case.fn(case.y_true, probs.astype(np.float32), from_logits=False, **case.kwargs))
    assert np.all(np.isfinite(values))
    grad = autodiff(
        lambda v: ops.sum(case.fn(case.y_true, v, from_logits=False, **case.kwargs)), probs
    )
    assert np.all(np.isfinite(grad))


@each_case
def test_rejects_non_boolean_from_logits(case):
    with pytest.raises(TypeError, match="from_logits"):
        case.cls(from_logits="yes", **case.kwargs)
    with pytest.raises(TypeError, match="from_logits"):
        case.fn(case.y_true, case.logits, from_logits=1, **case.kwargs)


# ------------------------------------------------------------------ cost-sensitive specifics


def test_cost_weight_is_the_table_entry_of_true_and_predicted_class():
    # Three examples: right, wrong (true 0, predicted 2), wrong (true 1, predicted 0).
    table = np.array([[0.5, 2.0, 3.0], [4.0, 0.5, 6.0], [7.0, 8.0, 0.5]])
    y_true = np.eye(3, dtype=np.float32)[[0, 0, 1]]
    logits = np.array([[3.0, 0.0, 1.0], [0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], np.float32)
    ce = -(y_true * ref.log_softmax(logits)).sum(-1)
    got = _np(
        kerasloss.cost_sensitive_crossentropy(y_true, logits, cost_matrix=table, from_logits=True)
    )
    np.testing.assert_allclose(got, [0.5 * ce[0], 3.0 * ce[1], 4.0 * ce[2]], rtol=1e-6)


def test_argmax_ties_take_the_first_index():
    table = np.arange(9, dtype=np.float64).reshape(3, 3) + 1.0
    y_true = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], np.float32)  # true class 0, then 1
    logits = np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 2.0]], np.float32)  # predicted 0, then 1
    got = _np(
        kerasloss.cost_sensitive_crossentropy(y_true, logits, cost_matrix=table, from_logits=True)
    )
    ce = -(y_true * ref.log_softmax(logits)).sum(-1)
    np.testing.assert_allclose(got, [table[0, 0] * ce[0], table[1, 1] * ce[1]], rtol=1e-6)


def test_gradient_is_the_cost_times_the_crossentropy_gradient():
    table = np.array([[1.0, 3.0], [5.0, 1.0]])
    y_true = np.array([[1.0, 0.0]])
    x = np.array([[0.2, 0.3]])  # predicted class 1: weight 3
    grad = autodiff(
        lambda v: ops.sum(
            kerasloss.cost_sensitive_crossentropy(y_true, v, cost_matrix=table, from_logits=True)
        ),
        x,
    )
    np.testing.assert_allclose(grad, 3.0 * (ref.softmax(x) - y_true), rtol=1e-6)


def test_identical_per_example_tables_equal_the_shared_table():
    case = CASES[0]
    table = case.kwargs["cost_matrix"]
    packed = kerasloss.pack_example_costs(case.y_true, np.broadcast_to(table, (B, C, C)))
    shared = kerasloss.CostSensitiveCrossentropy(cost_matrix=table, from_logits=True)
    per_example = kerasloss.CostSensitiveCrossentropy(from_logits=True)
    np.testing.assert_allclose(
        _np(per_example(packed, case.logits)), _np(shared(case.y_true, case.logits)), rtol=1e-6
    )


def test_pack_example_costs_layout_and_integer_labels():
    tables = np.arange(2 * 9, dtype=np.float64).reshape(2, 3, 3)
    packed = kerasloss.pack_example_costs(np.array([2, 0]), tables)
    assert packed.dtype == np.float32 and packed.shape == (2, 12)
    np.testing.assert_array_equal(packed[:, :3], [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(packed[:, 3:].reshape(2, 3, 3), tables)
    labels, flat = kerasloss.unpack_example_costs(packed, 3)
    np.testing.assert_array_equal(flat.reshape(2, 3, 3), tables)
    np.testing.assert_array_equal(labels, packed[:, :3])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (np.ones((3, 2)), r"shape \(C, C\)"),
        (np.ones((2, 2, 2)), r"shape \(C, C\)"),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), ">= 0"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "finite"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "finite"),
    ],
)
def test_bad_cost_matrix_is_rejected_at_construction(table, message):
    with pytest.raises(ValueError, match=message) as error:
        kerasloss.CostSensitiveCrossentropy(cost_matrix=table)
    assert "cost_matrix" in str(error.value)


def test_cost_matrix_of_the_wrong_size_for_the_predictions():
    loss = kerasloss.CostSensitiveCrossentropy(cost_matrix=np.ones((3, 3)), from_logits=True)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        loss(np.eye(4)[[0, 1]], np.zeros((2, 4)))


def test_unpacked_targets_without_a_cost_matrix_are_rejected():
    with pytest.raises(ValueError, match="pack_example_costs"):
        kerasloss.CostSensitiveCrossentropy()(np.eye(4)[[0, 1]], np.zeros((2, 4)))


@pytest.mark.parametrize(
    ("labels", "costs", "error", "message"),
    [
        (np.eye(3)[[0, 1]], np.ones((3, 3, 3)), ValueError, r"\(batch_size, C\) = \(3, 3\)"),
        (np.eye(3)[[0, 1]], np.ones((2, 3)), ValueError, r"\(batch_size, C, C\)"),
        (np.eye(3)[[0, 1]], -np.ones((2, 3, 3)), ValueError, ">= 0"),
        (np.array([0, 3]), np.ones((2, 3, 3)), ValueError, r"outside \[0, 2\]"),
        (np.eye(3)[[0, 1]], "costs", TypeError, "costs"),
        (np.eye(3)[[0, 1]], np.full((2, 3, 3), 1e39), ValueError, "largest"),
        (np.array([[np.nan, 1.0, 0.0], [0.0, 1.0, 0.0]]), np.ones((2, 3, 3)), ValueError, "y_true"),
        (np.array([["a", "b", "c"]] * 2), np.ones((2, 3, 3)), TypeError, "y_true"),
    ],
)
def test_pack_example_costs_rejects_bad_input(labels, costs, error, message):
    with pytest.raises(error, match=message):
        kerasloss.pack_example_costs(labels, costs)


# ------------------------------------------------------------------ label smoothing specifics


@logits_or_probs
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.35, 1.0])
def test_label_smoothing_equals_keras_categorical_crossentropy(epsilon, from_logits):
    case = CASES[2]
    y_pred = case.y_pred(from_logits)
    ours = kerasloss.LabelSmoothingCrossentropy(epsilon=epsilon, from_logits=from_logits)
    keras_loss = keras.losses.CategoricalCrossentropy(
        label_smoothing=epsilon, from_logits=from_logits
    )
    np.testing.assert_allclose(
        _np(ours(case.y_true, y_pred)), _np(keras_loss(case.y_true, y_pred)), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("epsilon", "error"),
    [(-0.1, ValueError), (1.5, ValueError), ("a", TypeError), (float("nan"), ValueError)],
)
def test_label_smoothing_rejects_bad_epsilon(epsilon, error):
    with pytest.raises(error, match="epsilon"):
        kerasloss.LabelSmoothingCrossentropy(epsilon=epsilon)
    with pytest.raises(error, match="epsilon"):
        kerasloss.label_smoothing_crossentropy(np.eye(2), np.eye(2), epsilon=epsilon)


# ----------------------------------------------------------------------- focal specifics


def test_focal_is_exact_at_logit_40():
    y = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    x = np.array([[40.0, -40.0, -40.0, 40.0]], np.float32)
    got = _np(kerasloss.binary_focal_loss(y, x, gamma=2.0, alpha=0.25, from_logits=True))
    # Element-wise: the two right answers contribute ~1e-53; the two wrong ones
    # 0.25 * 40 and 0.75 * 40, exactly.
    np.testing.assert_allclose(got, ref.binary_focal(y, x, 2.0, 0.25, True), rtol=1e-7)
    np.testing.assert_allclose(got, [40.0], rtol=1e-7)
    per_element = _np(
        kerasloss.binary_focal_loss(y.T, x.T, gamma=0.0, alpha=None, from_logits=True)
    )
    # gamma = 0, right answers: log(1 + e^-40) = 4.248e-18, not the 1e-7 a clip would give.
    np.testing.assert_allclose(per_element[[0, 1]], np.log1p(np.exp(-40.0)), rtol=1e-6)


def test_focal_with_gamma_zero_is_weighted_binary_crossentropy():
    case = CASES[3]
    got = _np(
        kerasloss.binary_focal_loss(
            case.y_true, case.logits, gamma=0.0, alpha=None, from_logits=True
        )
    )
    bce = keras.losses.binary_crossentropy(case.y_true, case.logits, from_logits=True)
    np.testing.assert_allclose(got, _np(bce) * case.y_true.shape[-1], rtol=1e-5)


def test_focal_accepts_rank_one_inputs():
    y = np.array([1.0, 0.0, 1.0], np.float32)
    x = np.array([0.3, -1.2, 2.0], np.float32)
    got = _np(kerasloss.BinaryFocalLoss(from_logits=True, reduction=None)(y, x))
    np.testing.assert_allclose(
        got, ref.binary_focal(y[:, None], x[:, None], 2.0, 0.25, True), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"gamma": -0.5}, ValueError, "gamma"),
        ({"alpha": 1.5}, ValueError, "alpha"),
        ({"alpha": -0.1}, ValueError, "alpha"),
        ({"gamma": "2"}, TypeError, "gamma"),
        ({"gamma": float("inf")}, ValueError, "gamma"),
    ],
)
def test_focal_rejects_bad_hyper_parameters(kwargs, error, name):
    with pytest.raises(error, match=name):
        kerasloss.BinaryFocalLoss(**kwargs)
    with pytest.raises(error, match=name):
        kerasloss.binary_focal_loss(np.ones((1, 2)), np.zeros((1, 2)), **kwargs)


# ------------------------------------------------------------------ shapes, dtypes, edges


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.to_probabilities is ref.softmax], ids=lambda c: c.id
)
def test_integer_class_ids_are_rejected_with_a_hint(case):
    ids = np.argmax(case.y_true[:, :C], axis=-1)
    for y_true in (ids, ids[:, None]):
        with pytest.raises(ValueError, match=r"one-hot|C \+ C\*C") as error:
            case.fn(y_true, case.logits, from_logits=True, **case.kwargs)
        assert "y_true" in str(error.value)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.to_probabilities is ref.softmax], ids=lambda c: c.id
)
def test_class_axis_mismatch_is_rejected(case):
    logits = np.zeros((B, C + 1), np.float32)
    with pytest.raises(ValueError, match=r"y_true|cost_matrix.*\(5, 5\)"):
        case.cls(from_logits=True, **case.kwargs)(case.y_true, logits)


def test_per_example_targets_of_another_batch_are_rejected():
    case = CASES[1]
    with pytest.raises(ValueError, match="y_true"):
        kerasloss.cost_sensitive_crossentropy(case.y_true[:3], case.logits, from_logits=True)


def test_focal_pairs_b_and_b1_either_way_and_rejects_other_shapes():
    y = np.array([1.0, 0.0, 1.0], np.float32)
    x = np.array([0.3, -1.2, 2.0], np.float32)
    expected = ref.binary_focal(y[:, None], x[:, None], 2.0, 0.25, True)
    loss = kerasloss.BinaryFocalLoss(from_logits=True, reduction=None)
    for y_true, y_pred in [(y, x), (y[:, None], x), (y, x[:, None]), (y[:, None], x[:, None])]:
        np.testing.assert_allclose(_np(loss(y_true, y_pred)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="y_true"):
        loss(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="y_pred"):
        kerasloss.binary_focal_loss(1.0, 0.5)


@each_case
def test_integer_predictions_are_computed_in_floatx(case):
    x = np.round(case.logits).astype(np.int32)
    got = case.fn(case.y_true, x, from_logits=True, **case.kwargs)
    assert keras.backend.standardize_dtype(got.dtype) == keras.config.floatx()
    np.testing.assert_allclose(_np(got), case.reference(x, True), rtol=2e-5, atol=1e-6)


@each_case
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_probabilities_stay_finite_at_0_and_1(case, dtype):
    soft = case.to_probabilities(case.logits)
    hard = (case.to_probabilities(case.logits * 1e3) > 0.5).astype(np.float32)  # exact 0 and 1
    loss = case.cls(reduction=None, dtype=dtype, **case.kwargs)
    got = _np(ops.cast(loss(case.y_true, soft.astype(np.float32)), "float32"))
    np.testing.assert_allclose(got, case.reference(soft, False), rtol=5e-2, atol=5e-2)
    assert np.all(np.isfinite(_np(ops.cast(loss(case.y_true, hard), "float32"))))


def test_cost_matrix_must_fit_the_compute_dtype():
    # A float16 loss computes in float32: a cost beyond float16's 65504 is usable, as long
    # as the loss itself fits float16 (here 8e4 times a cross-entropy of about 0.75).
    table = np.array([[0.0, 8e4], [8e4, 0.0]])
    loss = kerasloss.CostSensitiveCrossentropy(
        cost_matrix=table, from_logits=True, dtype="float16", reduction=None
    )
    y_true, logits = np.eye(2)[[0, 1]], np.array([[0.0, 0.1], [0.2, 0.0]])  # both wrong
    got = loss(y_true, logits)
    assert keras.backend.standardize_dtype(got.dtype) == "float16"
    _, logits16 = _rounded(logits, "float16")
    expected = ref.cost_sensitive(y_true, logits16, table, True)
    np.testing.assert_allclose(_as_float64(got), expected, rtol=SIXTEEN_BIT_RTOL["float16"])
    with pytest.raises(ValueError, match=r"3\.40282e\+38"):
        kerasloss.cost_sensitive_crossentropy(
            y_true, logits.astype(np.float16), cost_matrix=np.full((2, 2), 1e39)
        )


def test_function_checks_an_array_cost_matrix():
    with pytest.raises(ValueError, match=">= 0"):
        kerasloss.cost_sensitive_crossentropy(
            np.eye(2)[[0]], np.zeros((1, 2)), cost_matrix=[[0.0, -1.0], [1.0, 0.0]]
        )
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        kerasloss.cost_sensitive_crossentropy(
            np.eye(2)[[0]], np.zeros((1, 2)), cost_matrix=ops.ones((3, 3))
        )


def test_ragged_cost_matrix_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"cost_matrix.*\(C, C\)"):
        kerasloss.CostSensitiveCrossentropy(cost_matrix=[[0.0, 1.0], [1.0]])
