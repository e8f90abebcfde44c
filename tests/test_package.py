"""Package rules: public-API-only imports, explicit exports, registered serializable names."""

from __future__ import annotations

import ast
import inspect
import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import kerasloss

SRC = pathlib.Path(kerasloss.__file__).parent
FORBIDDEN = ("tensorflow", "jax", "jaxlib", "torch", "keras.src")
LOSS_CLASSES = [
    kerasloss.CostSensitiveCrossentropy,
    kerasloss.LabelSmoothingCrossentropy,
    kerasloss.BinaryFocalLoss,
    kerasloss.BPMLLLoss,
    kerasloss.TripletLoss,
    kerasloss.CombinedLoss,
]
LOSS_FUNCTIONS = [
    kerasloss.cost_sensitive_crossentropy,
    kerasloss.label_smoothing_crossentropy,
    kerasloss.binary_focal_loss,
    kerasloss.bpmll_loss,
    kerasloss.triplet_loss,
    kerasloss.triplet_margin_loss,
    kerasloss.center_loss,
]
# Layers and metrics a saved model may hold: public in their subpackage, registered.
SAVED_OBJECTS = [
    getattr(module, name)
    for module in (kerasloss.layers, kerasloss.metrics)
    for name in sorted(vars(module))
    if isinstance(getattr(module, name), type)
    and issubclass(getattr(module, name), (keras.layers.Layer, keras.metrics.Metric))
]


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


@pytest.mark.parametrize(
    "path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC.parent))
)
def test_source_imports_only_public_keras_numpy_and_stdlib(path):
    allowed_third_party = {"keras", "numpy"}
    for module in _imported_modules(path):
        top = module.split(".")[0]
        assert not any(module == f or module.startswith(f + ".") for f in FORBIDDEN), module
        assert top in allowed_third_party or top == "kerasloss" or top in sys.stdlib_module_names, (
            f"{path.name} imports {module}"
        )


def test_the_scan_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\nfrom keras.src.losses import loss\nimport torch.nn\n")
    assert list(_imported_modules(bad)) == ["numpy", "keras.src.losses", "torch.nn"]


def test_import_loads_no_framework_that_keras_did_not():
    code = (
        "import sys, json\n"
        "import keras\n"
        "before = set(sys.modules)\n"
        "import kerasloss\n"
        "new = sorted({m.split('.')[0] for m in set(sys.modules) - before})\n"
        "print(json.dumps(new))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    new = json.loads(done.stdout.strip().splitlines()[-1])
    assert new == ["kerasloss"]


def test_all_lists_exactly_the_public_names():
    public = {n for n in vars(kerasloss) if not n.startswith("_")}
    assert set(kerasloss.__all__) == public | {"__version__"}
    for name in kerasloss.__all__:
        assert hasattr(kerasloss, name)


def test_the_subpackages_export_what_the_issues_name():
    names = {o.__name__ for o in SAVED_OBJECTS}
    assert {"CenterLoss", "ArcFace", "CosFace", "SphereFace"} <= names
    assert {"HammingLoss", "LabelRankingLoss", "OneError", "CoverageError"} <= names
    assert "LabelRankingAveragePrecision" in names
    assert kerasloss.callbacks.LossWeightScheduler


@pytest.mark.parametrize(
    "obj", LOSS_CLASSES + LOSS_FUNCTIONS + SAVED_OBJECTS, ids=lambda o: o.__name__
)
def test_registered_under_the_package_name(obj):
    name = f"kerasloss>{obj.__name__}"
    assert keras.saving.get_registered_name(obj) == name
    assert keras.saving.get_registered_object(name) is obj


def _instances():
    return [
        kerasloss.CostSensitiveCrossentropy(
            cost_matrix=[[0.0, 2.0], [1.0, 0.5]], from_logits=True, reduction="sum", name="csc"
        ),
        kerasloss.CostSensitiveCrossentropy(),
        kerasloss.LabelSmoothingCrossentropy(epsilon=0.3, from_logits=True, dtype="float16"),
        kerasloss.BinaryFocalLoss(gamma=1.5, alpha=None, from_logits=True, reduction=None),
        kerasloss.CombinedLoss(
            ["mse", kerasloss.BinaryFocalLoss(gamma=0.5)], [0.5, 2.0], name="mixture"
        ),
        kerasloss.BPMLLLoss(reduction="sum", name="bpmll"),
        kerasloss.TripletLoss(margin=0.5, distance="cosine", mining="semi_hard", name="triplet"),
    ]


@pytest.mark.parametrize("loss", _instances(), ids=lambda loss: loss.name)
def test_config_holds_every_constructor_argument_and_round_trips(loss):
    config = loss.get_config()
    parameters = set(inspect.signature(type(loss).__init__).parameters) - {"self"}
    assert parameters <= set(config), parameters - set(config)
    json.dumps(config)  # what a .keras file stores
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == config
    y_true = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], np.float32)
    y_pred = np.array([[0.2, 0.8], [0.4, 0.6], [0.9, 0.1]], np.float32)
    if loss.name == "cost_sensitive_crossentropy":  # per-example tables
        y_true = kerasloss.pack_example_costs(y_true, np.ones((3, 2, 2)))
    if loss.name == "triplet":  # integer labels
        y_true = np.array([0, 0, 1], np.int32)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored(y_true, y_pred)),
        keras.ops.convert_to_numpy(loss(y_true, y_pred)),
        rtol=1e-6,
    )


@pytest.mark.parametrize("cls", LOSS_CLASSES[:-1], ids=lambda c: c.__name__)
def test_hyper_parameters_are_keyword_only(cls):
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter.name
    with pytest.raises(TypeError):
        cls(None)


def test_bad_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        kerasloss.BinaryFocalLoss(reduction="average")
