"""Every registered Loss, Metric and Layer in a saved `.keras` model that reloads elsewhere.

One compiled model per object, all saved in one folder and reloaded in a single fresh
process where only `import kerasloss` ran: the registry alone must bring them back.
"""

from __future__ import annotations

import json
import textwrap

import keras
import numpy as np
import pytest

import _contract as c
from _fresh import reload_all_in_fresh_process

pytestmark = pytest.mark.slow

RELOAD = textwrap.dedent(
    """
    import json, pathlib, sys, traceback
    import keras, numpy as np
    import kerasloss  # the only import the saved objects need

    folder = pathlib.Path(sys.argv[1])
    data = np.load(folder / "data.npz")
    results = {}
    for path in sorted(folder.glob("*.keras")):
        name = path.stem
        try:
            model = keras.saving.load_model(path)
            count = len([k for k in data.files if k.startswith(name + "/x")])
            x = [data[f"{name}/x{i}"] for i in range(count)]
            outputs = keras.tree.flatten(model(x if count > 1 else x[0]))
            result = {
                "outputs": [keras.ops.convert_to_numpy(o).tolist() for o in outputs],
                "compile": model.get_compile_config(),
                "layers": {
                    layer.name: layer.get_config()
                    for layer in model.layers
                    if keras.saving.get_registered_name(type(layer)).startswith("kerasloss>")
                },
            }
            results[name] = result
        except Exception:
            results[name] = {"error": traceback.format_exc()}
    print(json.dumps(results))
    """
)

RELOADED = c.params("loss", "reload") + c.params("metric", "reload") + c.params("layer", "reload")


def _saved_model(spec):
    """A small compiled model that holds the object, and its inputs."""
    kind = c.kind_of(spec.obj)
    if kind == "layer":
        model = spec.model(spec.build())
        model.compile(optimizer="sgd", loss=spec.loss() if spec.loss else None)
        return model, spec.data()
    model = c.head_model(spec)
    if kind == "loss":
        model.compile(optimizer="sgd", loss=spec.build())
    else:
        loss = spec.loss() if spec.loss else "mean_squared_error"
        model.compile(optimizer="sgd", loss=loss, metrics=[spec.build()])
    return model, c.features()


def _save_and_reload(specs, folder):
    """Saves one model per spec in `folder`, reloads them all in one fresh process."""
    models, arrays, expected = {}, {}, {}
    for spec in specs:
        name = c.key(spec)
        model, x = _saved_model(spec)
        models[name] = model
        for i, array in enumerate(keras.tree.flatten(x)):
            arrays[f"{name}/x{i}"] = array
        expected[name] = {
            "outputs": [c.to_float64(o) for o in keras.tree.flatten(model(x))],
            "compile": json.loads(json.dumps(model.get_compile_config())),
            "layers": {
                layer.name: json.loads(json.dumps(layer.get_config()))
                for layer in model.layers
                if isinstance(layer, spec.obj)
            },
        }
    return expected, reload_all_in_fresh_process(folder, models, RELOAD, **arrays)


@pytest.fixture(scope="module")
def reloaded(tmp_path_factory):
    """Every object whose spec does not expect "reload" to fail, in one process."""
    specs = [p.values[0] for p in RELOADED if not c.declares(p.values[0], "reload")]
    return _save_and_reload(specs, tmp_path_factory.mktemp("contract_models"))


@pytest.mark.parametrize("spec", RELOADED)
def test_saved_model_reloads_in_a_fresh_process(spec, reloaded, tmp_path):
    if c.declares(spec, "reload"):
        reloaded = _save_and_reload([spec], tmp_path)
    expected, results = reloaded
    name = c.key(spec)
    got = results[name]
    assert "error" not in got, got.get("error")
    want = expected[name]
    assert got["compile"] == want["compile"]
    assert got["layers"] == want["layers"]
    for output, value in zip(got["outputs"], want["outputs"], strict=True):
        np.testing.assert_allclose(output, value, rtol=1e-6, atol=1e-6)
