"""Every classification loss in a compiled train step, and in a saved model reloaded elsewhere."""

from __future__ import annotations

import json
import textwrap

import keras
import numpy as np
import pytest

import _models
import kerasloss
from _fresh import reload_in_fresh_process


def _per_head(model, x, y):
    results = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    return {head: float(results[f"{head}_loss"]) for head in _models.losses()}


def _assert_fit_lowers_every_head(model, x, y, *, epochs, factor):
    before = _per_head(model, x, y)
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    after = _per_head(model, x, y)
    for head, value in after.items():
        assert np.isfinite(value)
        assert value < factor * before[head], (head, before[head], value)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["jit_compile", "eager"], ids=["compiled", "eager"])
def test_fit_lowers_every_loss(mode):
    x, y = _models.data()
    model = _models.build()
    compile_args = {"jit_compile": True} if mode == "jit_compile" else {"run_eagerly": True}
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=_models.losses(), **compile_args)
    if mode == "jit_compile":
        assert model.jit_compile is True  # no silent fall-back to an uncompiled step
    _assert_fit_lowers_every_head(model, x, y, epochs=4 if mode == "jit_compile" else 2, factor=0.8)


RELOAD = textwrap.dedent(
    """
    import json, sys
    import keras, numpy as np
    import kerasloss  # the only import the saved losses need
    model = keras.saving.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    x = data["x"]
    y = {k[2:]: data[k] for k in data.files if k.startswith("y_")}
    results = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    configs = {k: keras.losses.serialize(v) for k, v in model.loss.items()}
    print(json.dumps({"results": {k: float(v) for k, v in results.items()}, "configs": configs}))
    """
)


@pytest.mark.slow
def test_saved_model_reloads_in_a_fresh_process(tmp_path):
    x, y = _models.data(n=256)
    model = _models.build()
    losses = _models.losses()
    model.compile(optimizer="adam", loss=losses)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    expected = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    data = {"x": x, **{f"y_{k}": v for k, v in y.items()}}
    reloaded = reload_in_fresh_process(tmp_path, model, RELOAD, **data)
    for key, value in expected.items():
        np.testing.assert_allclose(reloaded["results"][key], float(value), rtol=1e-5, err_msg=key)
    for head, loss in losses.items():
        assert reloaded["configs"][head] == json.loads(json.dumps(keras.losses.serialize(loss)))


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_fit_under_mixed_precision(policy):
    x, y = _models.data()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = _models.build()
        assert keras.backend.standardize_dtype(model.outputs[0].dtype) == policy.split("_")[1]
        losses = _models.losses()
        # A kerasloss Loss computes in float32 by default, as Keras' own losses do; one
        # head computes in the policy's half precision to cover that path too.
        losses["focal"] = kerasloss.BinaryFocalLoss(from_logits=True, dtype=policy)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=losses)
        _assert_fit_lowers_every_head(model, x, y, epochs=3, factor=0.9)
    finally:
        keras.config.set_dtype_policy(previous)
