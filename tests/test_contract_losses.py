"""The contract of every registered Loss class and per-sample loss function.

The objects come from Keras' registry, their data from tests/_contract_specs.py: a new
loss joins every check here by being registered and given a spec.
"""

from __future__ import annotations

import inspect
import json

import keras
import numpy as np
import pytest

import _contract as c
from _contract import B, T, np_

LOSSES = c.params("loss")
FUNCTIONS = c.params("function")
DTYPES = ("float16", "bfloat16", "float64")
HYPER_ONLY = {"name", "reduction", "dtype"}  # Loss arguments the function does not take
# How a pair loss runs in a data-parallel step (docs/distributed.md): the class only.
HYPER_ONLY |= {"per_replica"}
# Function arguments the class does not take: a pair loss's reference set is data.
REFERENCE_SET = {"ref_embeddings", "ref_labels"}


@pytest.fixture
def mixed_policy(request):
    """The global dtype policy of the test's parameter, restored at teardown."""
    with c.dtype_policy(request.param):
        yield request.param


def _function_of(spec):
    fn = keras.saving.get_registered_object(spec.function)
    hyper = {k: v for k, v in spec.kwargs.items() if k not in HYPER_ONLY}
    return lambda *inputs: fn(*inputs, **hyper)


def _per_sample(spec, inputs, **overrides):
    return spec.build(reduction=None, **overrides)(*inputs)


def _assert_reference(spec, values, inputs, rtol=1e-5):
    if spec.reference is None:
        return
    expected = np.asarray(spec.reference(*inputs), np.float64)
    got = np.asarray(values, np.float64)
    if expected.ndim == 0:  # a batch-coupled loss: the reference is the batch loss
        got = got.mean()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-6)


# ------------------------------------------------------------------ per sample, reductions


@pytest.mark.parametrize("spec", LOSSES)
def test_reduction_none_gives_one_value_per_sample(spec):
    inputs = spec.data()
    values = np_(_per_sample(spec, inputs))
    assert values.shape == (B,)
    assert np.all(np.isfinite(values))
    _assert_reference(spec, values, inputs)
    if spec.function is not None:
        np.testing.assert_allclose(values, np_(_function_of(spec)(*inputs)), rtol=1e-6)


@pytest.mark.parametrize("spec", LOSSES)
def test_reductions_agree_with_the_per_sample_values(spec):
    inputs = spec.data()
    per_sample = np_(_per_sample(spec, inputs)).astype(np.float64)
    for reduction, expected in (("sum", per_sample.sum()), ("sum_over_batch_size", None)):
        got = np_(spec.build(reduction=reduction)(*inputs))
        assert got.shape == ()
        expected = per_sample.mean() if expected is None else expected
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7, err_msg=reduction)
    np.testing.assert_allclose(np_(spec.build()(*inputs)), per_sample.mean(), rtol=1e-5)


@pytest.mark.parametrize("spec", LOSSES)
def test_sample_weight_scalar_per_sample_and_zero(spec):
    inputs = spec.data()
    per_sample = np_(_per_sample(spec, inputs)).astype(np.float64)
    loss = spec.build()
    weights = np.linspace(0.0, 2.0, B).astype(np.float32)
    # Keras divides by the batch size, not by the sum of the weights.
    got = np_(loss(*inputs, sample_weight=weights))
    np.testing.assert_allclose(got, (per_sample * weights).sum() / B, rtol=1e-5, atol=1e-7)
    got = np_(loss(*inputs, sample_weight=2.5))
    np.testing.assert_allclose(got, 2.5 * per_sample.mean(), rtol=1e-5, atol=1e-7)
    got = np_(spec.build(reduction=None)(*inputs, sample_weight=weights))
    np.testing.assert_allclose(got, per_sample * weights, rtol=1e-5, atol=1e-7)
    assert np_(loss(*inputs, sample_weight=np.zeros(B, np.float32))) == 0.0


@pytest.mark.parametrize("spec", LOSSES)
def test_a_sample_depends_on_the_others_only_if_the_spec_says_so(spec):
    y_true, y_pred = spec.data()
    other_true, other_pred = spec.data(seed=1)
    half = B // 2
    mixed_true = np.concatenate([y_true[:half], other_true[half:]])
    mixed_pred = np.concatenate([y_pred[:half], other_pred[half:]])
    before = np_(_per_sample(spec, (y_true, y_pred)))[:half]
    after = np_(_per_sample(spec, (mixed_true, mixed_pred)))[:half]
    if spec.couples_batch:
        assert not np.allclose(after, before), "declared batch-coupled, yet independent"
    else:
        np.testing.assert_allclose(after, before, rtol=1e-6)


@pytest.mark.parametrize("spec", c.params("loss", "timesteps"))
def test_per_timestep_inputs(spec):
    """Keras' losses take (B, T, ...) and return (B, T); "sum_over_batch_size" is over B*T."""
    inputs = spec.data(timesteps=T)
    if spec.timesteps is not True:
        with pytest.raises(ValueError, match="shape"):
            spec.build()(*inputs)
        return
    values = np_(_per_sample(spec, inputs)).astype(np.float64)
    assert values.shape == (B, T)
    for t in range(T):  # each timestep is an ordinary batch of shape (B, ...)
        step = np_(_per_sample(spec, tuple(x[:, t] for x in inputs)))
        np.testing.assert_allclose(values[:, t], step, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np_(spec.build()(*inputs)), values.mean(), rtol=1e-5)
    weights = np.random.default_rng(0).uniform(size=(B, T)).astype(np.float32)
    np.testing.assert_allclose(
        np_(spec.build()(*inputs, sample_weight=weights)),
        (values * weights).sum() / (B * T),
        rtol=1e-5,
    )


# ------------------------------------------------------------------ config, signature


@pytest.mark.parametrize("spec", LOSSES)
def test_config_holds_every_argument_and_round_trips(spec):
    loss = spec.build()
    config = loss.get_config()
    missing = {p.name for p in c.constructor_parameters(type(loss))} - set(config)
    assert not missing, f"{spec.name}: get_config lacks {sorted(missing)}"
    json.dumps(config)  # what a .keras file stores
    inputs = spec.data()
    expected = np_(loss(*inputs))
    for restored in (
        type(loss).from_config(config),
        keras.losses.deserialize(keras.losses.serialize(loss)),
    ):
        assert type(restored) is type(loss)
        assert restored.get_config() == config
        np.testing.assert_allclose(np_(restored(*inputs)), expected, rtol=1e-6)


@pytest.mark.parametrize("spec", LOSSES)
def test_hyper_parameters_are_keyword_only(spec):
    cls = spec.obj
    c.assert_keyword_only(c.constructor_parameters(cls), spec.positional, spec.name)


@pytest.mark.parametrize("spec", [p for p in LOSSES if p.values[0].function])
def test_class_takes_the_hyper_parameters_of_its_function(spec):
    fn = keras.saving.get_registered_object(spec.function)
    of_function = {
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    } - REFERENCE_SET
    of_class = {p.name for p in c.constructor_parameters(spec.obj)} - HYPER_ONLY
    assert of_class == of_function


@pytest.mark.parametrize("spec", LOSSES)
def test_an_unknown_reduction_is_rejected(spec):
    with pytest.raises(ValueError, match="reduction"):
        spec.build(reduction="average")


# ------------------------------------------------------------------ dtypes


@pytest.mark.parametrize(("spec", "dtype"), c.params_by("loss", DTYPES))
def test_dtype_argument_and_inputs(spec, dtype):
    """16 bits: computed in float32, rounded once; float64: computed in float64."""
    inputs = spec.data()
    with c.dtype_context(dtype):
        got = _per_sample(spec, c.cast_floats(inputs, dtype), dtype=dtype)
        assert c.dtype_name(got) == dtype
        if dtype == "float64":
            float32 = np_(_per_sample(spec, inputs))
            c.assert_float64_exact(got, spec, inputs, float32)
            return
    rounded = c.rounded(inputs, dtype)
    c.assert_16_bit_close(got, np_(_per_sample(spec, rounded)), dtype)


@pytest.mark.parametrize(("spec", "dtype"), c.params_by("function", DTYPES))
def test_function_keeps_the_input_dtype(spec, dtype):
    fn = spec.obj
    inputs = spec.data()
    with c.dtype_context(dtype):
        got = fn(*c.cast_floats(inputs, dtype), **spec.kwargs)
        assert c.dtype_name(got) == dtype
        if dtype == "float64":
            c.assert_float64_exact(got, spec, inputs, np_(fn(*inputs, **spec.kwargs)))
            return
    c.assert_16_bit_close(got, np_(fn(*c.rounded(inputs, dtype), **spec.kwargs)), dtype)


# ------------------------------------------------------------------ functions


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_function_gives_one_finite_value_per_sample(spec):
    inputs = spec.data()
    values = np_(spec.obj(*inputs, **spec.kwargs))
    assert values.shape == (B,)
    assert np.all(np.isfinite(values))
    _assert_reference(spec, values, inputs)


@pytest.mark.parametrize("spec", FUNCTIONS)
def test_function_hyper_parameters_are_keyword_only(spec):
    parameters = list(inspect.signature(spec.obj).parameters.values())
    data = parameters[: len(spec.data_args)]
    assert [p.name for p in data] == list(spec.data_args)
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in data)
    c.assert_keyword_only(parameters[len(spec.data_args) :], (), spec.name)


# ------------------------------------------------------------------ inside a model


@pytest.mark.parametrize(
    ("spec", "mixed_policy"), c.params_by("loss", c.POLICIES), indirect=["mixed_policy"]
)
def test_mixed_precision_model(spec, mixed_policy):
    """Under a mixed policy the loss computes in the policy's 16-bit dtype, close to float32."""
    y_true = spec.data()[0]
    x = c.features()
    with c.dtype_policy("float32"):
        reference = c.head_model(spec)
    model = c.head_model(spec)
    assert c.dtype_name(model.outputs[0]) == keras.config.dtype_policy().compute_dtype
    model.set_weights(reference.get_weights())
    values = []
    for m, loss in ((reference, spec.build()), (model, spec.build(dtype=mixed_policy))):
        m.compile(optimizer="sgd", loss=loss, run_eagerly=True)
        values.append(m.evaluate(x, y_true, batch_size=B, verbose=0))
    assert np.isfinite(values[1])
    np.testing.assert_allclose(values[1], values[0], rtol=3e-2, atol=1e-3)


@pytest.fixture(scope="module")
def trained():
    """Every loss in one model, one head each, trained for 2 compiled steps.

    One model, so one compilation (seconds each with XLA); a spec that declares "train"
    expected to fail trains alone in its test instead.
    """
    parts = {
        c.key(s): (c.head_model(s), s.build(), c.features(), s.data()[0])
        for s in c.specs("loss")
        if not c.declares(s, "train")
    }
    return c.train_two_steps(parts)


@pytest.mark.parametrize("spec", c.params("loss", "train"))
def test_compiled_train_step(spec, trained):
    key = c.key(spec)
    if c.declares(spec, "train"):
        trained = c.train_two_steps(
            {key: (c.head_model(spec), spec.build(), c.features(), spec.data()[0])}
        )
    history, changed = trained
    losses = history[f"{key}_loss"] if f"{key}_loss" in history else history["loss"]
    assert len(losses) == 2 and np.all(np.isfinite(losses)), losses
    assert any(changed[key]), "no weight of the model changed"
