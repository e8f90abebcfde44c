"""The contract of every registered Layer: config, rebuild, symbolic call, precision, training.

A layer's spec gives its call inputs and a small model around it (tests/_contract_specs.py).
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import _contract as c

LAYERS = c.params("layer")


@pytest.fixture
def mixed_policy(request):
    """The global dtype policy of the test's parameter, restored at teardown."""
    with c.dtype_policy(request.param):
        yield request.param


@pytest.mark.parametrize("spec", LAYERS)
def test_config_holds_every_argument_and_round_trips(spec):
    layer = spec.build()
    config = layer.get_config()
    missing = {p.name for p in c.constructor_parameters(type(layer))} - set(config)
    assert not missing, f"{spec.name}: get_config lacks {sorted(missing)}"
    json.dumps(config)
    for restored in (
        type(layer).from_config(config),
        keras.layers.deserialize(keras.layers.serialize(layer)),
    ):
        assert type(restored) is type(layer)
        assert restored.get_config() == config


@pytest.mark.parametrize("spec", LAYERS)
def test_from_config_with_the_same_weights_gives_the_same_outputs(spec):
    inputs = spec.data()
    layer = spec.build()
    expected = c.flat_arrays(layer(inputs))
    restored = type(layer).from_config(layer.get_config())
    restored(inputs)  # builds the weights
    restored.set_weights(layer.get_weights())
    for got, want in zip(c.flat_arrays(restored(inputs)), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def _symbolic(inputs):
    return keras.tree.map_structure(
        lambda a: keras.Input(a.shape[1:], dtype=c.dtype_name(a)), inputs
    )


def _assert_symbolic_matches_eager(layer, inputs):
    symbolic = keras.tree.flatten(layer(_symbolic(inputs)))
    eager = keras.tree.flatten(layer(inputs))
    assert len(symbolic) == len(eager)
    for s, e in zip(symbolic, eager, strict=True):
        assert tuple(s.shape) == (None, *e.shape[1:])
        assert c.dtype_name(s) == c.dtype_name(e)


@pytest.mark.parametrize("spec", LAYERS)
def test_symbolic_call_matches_the_eager_call(spec):
    _assert_symbolic_matches_eager(spec.build(), spec.data())


@pytest.mark.parametrize("spec", LAYERS)
def test_hyper_parameters_are_keyword_only(spec):
    c.assert_keyword_only(c.constructor_parameters(spec.obj), spec.positional, spec.name)


@pytest.mark.parametrize(
    ("spec", "mixed_policy"), c.params_by("layer", c.POLICIES), indirect=["mixed_policy"]
)
def test_mixed_precision(spec, mixed_policy):
    """16-bit inputs: the float32 result on the rounded inputs, rounded once if 16-bit."""
    compute = keras.config.dtype_policy().compute_dtype
    as_16_bit, as_float32 = c.round_structure(spec.data(), compute)
    layer = spec.build()
    _assert_symbolic_matches_eager(layer, as_16_bit)
    got = keras.tree.flatten(layer(as_16_bit))
    with c.dtype_policy("float32"):
        reference = spec.build()
        reference(as_float32)
    reference.set_weights(layer.get_weights())
    expected = c.flat_arrays(reference(as_float32))
    for value, want in zip(got, expected, strict=True):
        assert np.all(np.isfinite(c.to_float64(value)))
        if c.dtype_name(value) in c.ROUNDING:
            c.assert_16_bit_close(value, want, c.dtype_name(value))
        else:
            np.testing.assert_allclose(c.to_float64(value), want, rtol=1e-5, atol=1e-6)
    model = spec.model(spec.build())
    outputs = model(spec.data())
    for value in keras.tree.flatten(outputs) + list(model.losses):
        assert np.all(np.isfinite(c.to_float64(value)))


@pytest.fixture(scope="module")
def trained():
    """Every layer's model nested in one model, trained for 2 compiled steps."""
    parts = {}
    for spec in c.specs("layer"):
        if c.declares(spec, "train"):
            continue
        inputs = spec.data()
        loss = spec.loss() if spec.loss else None
        target = spec.target(inputs) if spec.target else None
        parts[c.key(spec)] = (spec.model(spec.build()), loss, inputs, target)
    return c.train_two_steps(parts)


@pytest.mark.parametrize("spec", c.params("layer", "train"))
def test_compiled_train_step(spec, trained):
    key = c.key(spec)
    if c.declares(spec, "train"):
        inputs = spec.data()
        loss = spec.loss() if spec.loss else None
        target = spec.target(inputs) if spec.target else None
        trained = c.train_two_steps({key: (spec.model(spec.build()), loss, inputs, target)})
    history, changed = trained
    assert len(history["loss"]) == 2 and np.all(np.isfinite(history["loss"]))
    assert any(changed[key]), "no weight of the model changed"
