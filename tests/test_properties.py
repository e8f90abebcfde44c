"""Property-based tests: every registered loss, metric and layer on inputs a user may get wrong.

Each spec of tests/_contract_specs.py is fed its valid data broken on purpose (tests/_robust.py
says what each input array is): wrong ranks, mismatched batch sizes, empty and one-sample
batches, NaN and inf, labels out of range, integer, boolean and float64 inputs, one-class
batches, identical and zero embeddings, huge and tiny scales. Each case gives the NumPy
reference's value, or a ValueError / TypeError that names the argument and the expected
shape or range, in our words, not the backend's.

hypothesis draws the batch size, the seed and which entry to break; the profile (tests/
conftest.py) keeps CI to a few examples per case, `KERASLOSS_HYPOTHESIS_PROFILE=thorough`
runs many. A case that finds a defect not fixed yet is a strict xfail in `KNOWN`.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import _contract as c
import _robust as r
from _contract_specs import SPECS

# Their own nox session (`nox -s "properties(jax)"`): every drawn shape is a new XLA
# compilation on JAX and TensorFlow (20 to 30 minutes there); CI runs them on torch.
pytestmark = pytest.mark.properties

# Two batch sizes: every new shape costs the backend a compilation of each operation.
BATCHES = st.sampled_from([1, 4])
SEEDS = st.integers(0, 2**16)

# (check, spec id) -> why it fails today; "check:backend" for one backend only. Every
# other defect found so far is fixed, or pinned as deliberate (below, docs/bad-input.md).
TF_EMPTY_MAX = (
    "B = 0: Keras' TensorFlow `max`/`min` refuse an empty tensor (InvalidArgumentError), "
    "where JAX and torch give values of shape (0,)"
)
KNOWN: dict[tuple[str, str], str] = {
    ("empty:tensorflow", spec_id): TF_EMPTY_MAX
    for spec_id in (
        "CostSensitiveCrossentropy[table]",
        "CostSensitiveCrossentropy[per_example]",
        "BPMLLLoss",
        "CombinedLoss",
        "SparseCostSensitiveCrossentropy",
        "Poly1Crossentropy",
        "SparsemaxLoss[one_hot]",
        "SparsemaxLoss[ids]",
        "CategoricalFocalLoss",
        "SparseCategoricalFocalLoss",
        "cost_sensitive_crossentropy",
        "bpmll_loss",
        "sparse_cost_sensitive_crossentropy",
        "sparsemax_loss",
        "one_error",
        "coverage_error",
        "poly1_crossentropy",
        "sparse_categorical_focal_loss",
    )
}


def params(check, keep=lambda spec: True):
    out = []
    for spec in SPECS:
        if not keep(spec):
            continue
        reason = KNOWN.get((check, spec.id)) or KNOWN.get((f"{check}:{c.BACKEND}", spec.id))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(spec, id=f"{r.kind(spec)}-{spec.id}", marks=marks))
    return out


def arrays(spec, batch, seed):
    return [np.asarray(a) for a in r.as_list(spec.data(batch=batch, seed=seed))]


def has(role_set):
    return lambda spec: bool(set(r.roles(spec)) & role_set)


def with_reference(spec):
    return r.reference(spec, spec.data(batch=4)) is not None if r.kind(spec) != "layer" else False


def finite_in(spec, values):
    return all(np.all(np.isfinite(v)) for v in values)


# ------------------------------------------------------------------------ valid inputs


@pytest.mark.parametrize("spec", params("batch", with_reference))
@given(batch=BATCHES, seed=SEEDS)
@example(batch=1, seed=0)
def test_any_batch_size_gives_the_reference(spec, batch, seed):
    inputs = spec.data(batch=batch, seed=seed)
    got = r.evaluate(spec, inputs)[0]
    r.compare(spec, got, r.reference(spec, inputs))


@pytest.mark.parametrize("spec", params("layer_batch", lambda s: r.kind(s) == "layer"))
@given(batch=BATCHES, seed=SEEDS)
@example(batch=1, seed=0)
def test_layers_give_finite_values_at_any_batch_size(spec, batch, seed):
    assert finite_in(spec, r.evaluate(spec, spec.data(batch=batch, seed=seed)))


@pytest.mark.parametrize("spec", params("empty", lambda s: r.kind(s) in ("loss", "function")))
def test_an_empty_batch_gives_no_values_or_a_clear_error(spec):
    """B = 0: per-sample values of shape (0,), or a ValueError naming the batch."""
    inputs = spec.data(batch=0)
    try:
        got = r.evaluate(spec, inputs)[0]
    except (ValueError, TypeError) as error:
        assert not r.BACKEND_TEXT.search(str(error)), str(error)
        assert "empty" in str(error) or "batch" in str(error), str(error)
        return
    assert got.shape == (0,) or (spec.couples_batch and got.size <= 1), got.shape


# ------------------------------------------------------------------------ wrong shapes


def _rank_cases(spec):
    """(input, change): "drop" the last axis, or "add" one of size 2.

    Keras itself squeezes or adds a trailing axis of size 1 to match y_true to y_pred
    (`(B, 1)` and `(B,)` are the same targets), so an axis of size 1 is never dropped.
    """
    cases = []
    for i, a in enumerate(r.as_list(spec.data(batch=4))):
        a = np.asarray(a)
        if (a.ndim == 1 or a.shape[-1] > 1) and (r.short(spec), i) not in OTHER_FORM:
            cases.append((i, "drop"))
        if (r.short(spec), i) not in OTHER_FORM_ADDED:
            cases.append((i, "add"))
    return cases


# Inputs whose last axis dropped is another valid form: one-hot labels (B, C) become class
# ids (B,); pinball's targets broadcast against the quantiles as in TensorFlow Addons.
OTHER_FORM = {("SparsemaxLoss", 0), ("CohenKappa", 0), ("pinball_loss", 0), ("PinballLoss", 0)}
# Inputs whose added axis is another valid form: (B, Q) targets and (B, Q, 2) predictions
# are the (B, T) targets of a (B, T, Q) sequence (test_pinball_sequence_form pins it).
OTHER_FORM_ADDED = {("pinball_loss", 1)}
# OutputMean averages its y_pred whatever its shape and never reads y_true.
SHAPE_FREE = {"OutputMean"}


@pytest.mark.parametrize("spec", params("rank", lambda s: r.short(s) not in SHAPE_FREE))
@given(data=st.data())
def test_a_wrong_rank_is_a_clear_error(spec, data):
    i, how = data.draw(st.sampled_from(_rank_cases(spec)), label="input, change")
    values = arrays(spec, data.draw(st.just(4), label="batch"), 0)
    a = values[i]
    if how == "drop":
        a = a[0] if a.ndim == 1 else a[..., 0]  # a (B,) input becomes a scalar
    else:
        a = np.stack([a, a], axis=-1)
    values[i] = np.asarray(a)
    with pytest.raises((ValueError, TypeError)) as excinfo:
        r.evaluate(spec, r.as_spec_inputs(spec, values))
    r.assert_clean_error(excinfo, spec)


@pytest.mark.parametrize(
    "spec", params("batch_mismatch", lambda s: len(r.roles(s)) > 1 and r.short(s) not in SHAPE_FREE)
)
@given(batch=st.just(4), seed=SEEDS, data=st.data())
def test_mismatched_batch_sizes_are_a_clear_error(spec, batch, seed, data):
    values = arrays(spec, batch, seed)
    candidates = [i for i, role in enumerate(r.roles(spec)) if role != "centers"]
    i = data.draw(st.sampled_from(candidates[1:]), label="input")
    values[i] = values[i][:-1]
    with pytest.raises((ValueError, TypeError)) as excinfo:
        r.evaluate(spec, r.as_spec_inputs(spec, values))
    r.assert_clean_error(excinfo, spec)


# ------------------------------------------------------------------------ NaN and inf


def _is_a_loss(spec):
    """Losses, loss functions and the layers that add a loss (not metrics, not thresholds)."""
    if r.kind(spec) == "metric" or spec.obj.__module__.startswith("kerasloss.metrics"):
        return False
    return r.short(spec) != "LinearThreshold"


def _score_inputs(spec):
    return [i for i, role in enumerate(r.roles(spec)) if role in r.SCORES]


@pytest.mark.parametrize("spec", params("nan", lambda s: _is_a_loss(s) and bool(_score_inputs(s))))
@given(batch=BATCHES, seed=SEEDS, data=st.data())
def test_a_nan_input_reaches_the_value(spec, batch, seed, data):
    values = arrays(spec, batch, seed)
    i = data.draw(st.sampled_from(_score_inputs(spec)), label="input")
    row = data.draw(st.integers(0, batch - 1), label="row")
    ignored = spec.kwargs.get("ignore_class")
    # An ignored sample's prediction is not used: its value is 0 whatever it holds.
    assume(ignored is None or values[0][row] != ignored)
    values[i] = values[i].copy()
    values[i][row] = np.nan
    got = r.evaluate(spec, r.as_spec_inputs(spec, values))
    if r.kind(spec) == "layer":
        assert not finite_in(spec, got), "a NaN input gave finite outputs and losses"
    elif spec.couples_batch or got[0].ndim == 0:
        assert np.isnan(got[0]).any(), got[0]
    else:
        assert np.isnan(got[0][row]), got[0]


def _reference_with_inf(spec, values, i, row, sign):
    """The reference at the inf input; where it has no value (a NaN from inf - inf in its
    formula, or scikit-learn refusing inf), at a finite stand-in beyond every other score.

    A score of +-1e300 is the limit the loss must reach as the score grows: a ranking sees
    the same order, a softmax the same 0 or 1.
    """
    with np.errstate(all="ignore"):
        try:
            expected = np.asarray(r.reference(spec, r.as_spec_inputs(spec, values)))
        except ValueError:  # scikit-learn: "Input contains infinity"
            expected = None
        if expected is not None and not np.any(np.isnan(expected)):
            return expected
        stand_in = [v.astype(np.float64) if j == i else v for j, v in enumerate(values)]
        stand_in[i][row, ..., 0] = sign * 1e300
        return np.asarray(r.reference(spec, r.as_spec_inputs(spec, stand_in)))


@pytest.mark.parametrize(
    "spec", params("inf", lambda s: with_reference(s) and bool(_score_inputs(s)))
)
@given(batch=BATCHES, seed=SEEDS, sign=st.sampled_from([1.0, -1.0]), data=st.data())
def test_an_infinite_input_is_the_reference_or_shows(spec, batch, seed, sign, data):
    """An inf input: a value that shows it (NaN or inf), or, where finite, the reference's."""
    values = arrays(spec, batch, seed)
    i = data.draw(st.sampled_from(_score_inputs(spec)), label="input")
    row = data.draw(st.integers(0, batch - 1), label="row")
    values[i] = values[i].copy()
    values[i][row, ..., 0] = sign * np.inf
    inputs = r.as_spec_inputs(spec, values)
    if r.roles(spec)[i] == "probs":
        # An infinite probability is outside [0, 1]: the range check says so.
        with pytest.raises(ValueError) as excinfo:
            r.evaluate(spec, inputs)
        r.assert_clean_error(excinfo, spec)
        return
    got = np.asarray(r.evaluate(spec, inputs)[0])
    expected = _reference_with_inf(spec, values, i, row, sign)
    if expected.ndim == 0 and got.ndim:
        got = np.asarray(got.mean())
    finite = np.isfinite(got)
    np.testing.assert_allclose(
        got[finite], np.broadcast_to(expected, got.shape)[finite], rtol=1e-5, atol=1e-6
    )


# ------------------------------------------------------------------------ labels


@pytest.mark.parametrize("spec", params("ids_range", has({"ids"})))
@given(batch=BATCHES, seed=SEEDS, data=st.data())
def test_class_ids_out_of_range_are_a_clear_error(spec, batch, seed, data):
    values = arrays(spec, batch, seed)
    i = r.roles(spec).index("ids")
    bad = data.draw(st.sampled_from(["C", -2, 1.5]), label="bad id")
    row = data.draw(st.integers(0, batch - 1), label="row")
    ids = values[i].astype(np.float32 if bad == 1.5 else values[i].dtype)
    ids[row] = r.num_classes(spec, values) if bad == "C" else bad
    values[i] = ids
    with pytest.raises((ValueError, TypeError)) as excinfo:
        r.evaluate(spec, r.as_spec_inputs(spec, values))
    r.assert_clean_error(excinfo, spec)


# Deliberate: the loss class gets tensors (Keras converts its inputs), and a target row
# that is not a distribution gives NaN for tensors: Keras' torch backend builds a model
# by calling its losses on tensors of ones. The function refuses arrays and lists.
NAN_FOR_BAD_TARGETS = {"SparsemaxLoss[one_hot]"}
# Deliberate: Poly-1 is linear in its labels, sum_j y_j * (-log p_j + epsilon * (1 - p_j))
# as optax defines it (tests/test_poly.py), so any labels give the reference's value.
LINEAR_IN_LABELS = {"Poly1Crossentropy", "poly1_crossentropy"}


@pytest.mark.parametrize("spec", params("labels01_range", has({"labels01", "packed"})))
@given(batch=BATCHES, seed=SEEDS, bad=st.sampled_from([2.0, -1.0, 255.0]), data=st.data())
def test_labels_outside_0_1_are_a_clear_error(spec, batch, seed, bad, data):
    values = arrays(spec, batch, seed)
    row = data.draw(st.integers(0, batch - 1), label="row")
    labels = values[0].copy()
    labels[row, 0] = bad
    values[0] = labels
    if spec.id in NAN_FOR_BAD_TARGETS:
        got = r.evaluate(spec, r.as_spec_inputs(spec, values))[0]
        assert np.isnan(got[row]) and np.isfinite(np.delete(got, row)).all(), got
        return
    if spec.id in LINEAR_IN_LABELS:
        inputs = r.as_spec_inputs(spec, values)
        r.compare(spec, r.evaluate(spec, inputs)[0], r.reference(spec, inputs))
        return
    with pytest.raises(ValueError) as excinfo:
        r.evaluate(spec, r.as_spec_inputs(spec, values))
    r.assert_clean_error(excinfo, spec)


# ------------------------------------------------------------------------ dtypes


def _cast(spec, values, how):
    out = []
    for role, a in zip(r.roles(spec), values, strict=True):
        if how == "int labels" and role in ("labels01", "ids", "groups"):
            a = a.astype(np.int64 if role != "labels01" else np.int32)
        elif how == "bool labels" and role == "labels01":
            a = a.astype(bool)
        elif how == "float64" and np.issubdtype(a.dtype, np.floating):
            a = a.astype(np.float64)
        out.append(a)
    return out


def _dtype_cases(spec):
    cases = ["float64"]
    if {"labels01", "ids", "groups"} & set(r.roles(spec)):
        cases.append("int labels")
    if "labels01" in r.roles(spec):
        cases.append("bool labels")
    return cases


@pytest.mark.parametrize("spec", params("dtypes", with_reference))
@given(batch=BATCHES, seed=SEEDS)
def test_integer_boolean_and_float64_inputs_give_the_reference(spec, batch, seed):
    """Every case of the spec: float64 inputs (a loss class built with dtype="float64",
    since Keras computes a loss in its own dtype) keep float64's digits, hyper-parameters
    included; integer and boolean labels give the float32 reference."""
    for how in _dtype_cases(spec):
        values = _cast(spec, arrays(spec, batch, seed), how)
        inputs = r.as_spec_inputs(spec, values)
        float64 = how == "float64"
        context = c.dtype_context("float64") if float64 else contextlib.nullcontext()
        with context:
            got = r.evaluate(spec, inputs, dtype="float64" if float64 else None)[0]
        tight = float64 and r.kind(spec) != "metric"
        r.compare(spec, got, r.reference(spec, inputs), rtol=1e-9 if tight else 1e-5)


# ------------------------------------------------------------------------ degenerate batches


def _one_class(spec, values):
    out = []
    for role, a in zip(r.roles(spec), values, strict=True):
        if role in ("ids", "groups"):
            a = np.full_like(a, a.flat[0])
        elif role == "labels01":
            a = np.broadcast_to(a[:1], a.shape).copy()
        out.append(a)
    return out


def _labelled(spec):
    return bool({"ids", "groups", "labels01"} & set(r.roles(spec)))


@pytest.mark.parametrize("spec", params("one_class", lambda s: with_reference(s) and _labelled(s)))
@given(batch=BATCHES, seed=SEEDS)
def test_a_one_class_batch_gives_the_reference(spec, batch, seed):
    inputs = r.as_spec_inputs(spec, _one_class(spec, arrays(spec, batch, seed)))
    got = r.evaluate(spec, inputs)[0]
    assert np.all(np.isfinite(got))
    r.compare(spec, got, r.reference(spec, inputs))


def _embedding_inputs(spec):
    return [i for i, role in enumerate(r.roles(spec)) if role == "emb"]


def _set_embeddings(spec, values, make):
    out = list(values)
    first = None
    for i in _embedding_inputs(spec):
        first = values[i][:1] if first is None else first
        out[i] = make(values[i], first)
    return out


@pytest.mark.parametrize(
    "spec", params("identical", lambda s: bool(_embedding_inputs(s)) and r.kind(s) != "metric")
)
@given(batch=BATCHES, seed=SEEDS)
def test_identical_embeddings_give_the_reference(spec, batch, seed):
    """Every embedding (of every input) the same vector: distances 0, cosines 1."""
    values = _set_embeddings(
        spec, arrays(spec, batch, seed), lambda a, first: np.broadcast_to(first, a.shape).copy()
    )
    inputs = r.as_spec_inputs(spec, values)
    got = r.evaluate(spec, inputs)
    assert finite_in(spec, got)
    expected = r.reference(spec, inputs) if r.kind(spec) != "layer" else None
    if expected is not None:
        r.compare(spec, got[0], expected)


@pytest.mark.parametrize(
    "spec", params("zero", lambda s: bool(_embedding_inputs(s)) and r.kind(s) != "metric")
)
@given(batch=BATCHES, seed=SEEDS)
def test_zero_embeddings_give_finite_values(spec, batch, seed):
    """All-zero embeddings: finite, and the reference's value where it has a finite one."""
    values = _set_embeddings(spec, arrays(spec, batch, seed), lambda a, first: np.zeros_like(a))
    inputs = r.as_spec_inputs(spec, values)
    got = r.evaluate(spec, inputs)
    assert finite_in(spec, got)
    if r.kind(spec) != "layer":
        with np.errstate(all="ignore"):
            expected = r.reference(spec, inputs)
        if expected is not None and np.all(np.isfinite(expected)):
            r.compare(spec, got[0], expected)


# ------------------------------------------------------------------------ scales

SCALED = {"logits", "sims", "emb", "real"}


@pytest.mark.parametrize("spec", params("scale", lambda s: with_reference(s) and has(SCALED)(s)))
@given(batch=BATCHES, seed=SEEDS, scale=st.sampled_from([1e4, 1e3, 1e-3, 1e-4]))
def test_huge_and_tiny_scales_give_the_reference(spec, batch, seed, scale):
    values = [
        (a * scale).astype(a.dtype) if role in SCALED else a
        for role, a in zip(r.roles(spec), arrays(spec, batch, seed), strict=True)
    ]
    inputs = r.as_spec_inputs(spec, values)
    got = r.evaluate(spec, inputs)[0]
    with np.errstate(over="ignore"):
        expected = np.asarray(r.reference(spec, inputs), np.float64)
    finite = np.isfinite(expected)
    if not np.all(finite):
        # The value itself is beyond every float (BP-MLL's exp of score gaps of 1e4):
        # the loss shows it as inf, never as a finite number.
        if expected.ndim == 0:
            assert np.isinf(got.mean()), got
            return
        assert np.all(np.isinf(got[~finite])), got
        got, expected = got[finite], expected[finite]
    assert np.all(np.isfinite(got)), got
    r.compare(spec, got, expected, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------ pinned forms


def test_pinball_sequence_form():
    """(B, Q) targets with (B, Q, 2) predictions are not a wrong rank: the targets of a
    (B, T, Q) sequence, one per timestep, shared by its Q columns; one value per (b, t)."""
    from kerasloss.losses import pinball_loss

    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(4, 2)).astype(np.float32)
    y_pred = rng.normal(size=(4, 2, 2)).astype(np.float32)
    got = c.to_float64(pinball_loss(y_true, y_pred, tau=0.3))
    d = y_true[..., None].astype(np.float64) - y_pred
    np.testing.assert_allclose(got, np.maximum(0.3 * d, -0.7 * d).mean(-1), rtol=1e-6)
