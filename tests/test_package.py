"""Package rules: public-API-only imports, explicit exports, registered serializable names.

The registered objects themselves are checked by the contract (tests/test_contract_*.py),
which finds them in Keras' registry; here: that the registry and the public API agree, and
that every registered object has a contract spec.
"""

from __future__ import annotations

import ast
import inspect
import json
import pathlib
import subprocess
import sys

import keras
import pytest

import _contract as contract
import kerasloss
from _contract_specs import SPECS

SRC = pathlib.Path(kerasloss.__file__).parent
FORBIDDEN = ("tensorflow", "jax", "jaxlib", "torch", "keras.src")
DEMO = SRC / "_demo"
# The demo's extras (`kerasloss[demo]`): only the demo imports them, inside functions.
DEMO_EXTRAS = {"sklearn", "matplotlib", "river"}
# The gather across replicas (docs/distributed.md) is the one module that may import a
# backend, and only inside its functions, after asking Keras which one is active.
BACKEND_AWARE = SRC / "_internal" / "replicas.py"
# Layers and metrics a saved model may hold: public in their subpackage, registered.
SAVED_OBJECTS = [
    getattr(module, name)
    for module in (kerasloss.layers, kerasloss.metrics)
    for name in sorted(vars(module))
    if isinstance(getattr(module, name), type)
    and issubclass(getattr(module, name), (keras.layers.Layer, keras.metrics.Metric))
]


def _imported_modules(path, *, in_functions=True):
    """Absolute imports of the module; `in_functions=False` skips those inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    nested = set()
    if not in_functions:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                nested |= {id(inner) for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in nested:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


@pytest.mark.parametrize(
    "path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC.parent))
)
def test_source_imports_only_public_keras_numpy_and_stdlib(path):
    allowed_third_party = {"keras", "numpy"}
    if DEMO in path.parents:
        # The demo's extras are allowed inside functions; at module level they are not.
        allowed_third_party |= DEMO_EXTRAS
        for module in _imported_modules(path, in_functions=False):
            assert module.split(".")[0] not in DEMO_EXTRAS, (
                f"{path.name} imports {module} at module level: import it inside the function"
            )
    # The replica module's function-level imports are checked on their own, below.
    scan = _top_level_modules if path == BACKEND_AWARE else _imported_modules
    for module in scan(path):
        top = module.split(".")[0]
        assert not any(module == f or module.startswith(f + ".") for f in FORBIDDEN), module
        assert top in allowed_third_party or top == "kerasloss" or top in sys.stdlib_module_names, (
            f"{path.name} imports {module}"
        )


def _top_level_modules(path):
    """The modules imported at module level (not inside a function)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_only_the_replica_module_imports_a_backend_and_only_in_functions():
    backends = {"tensorflow", "torch", "jax", "jaxlib"}
    importers = {
        path
        for path in SRC.rglob("*.py")
        if any(m.split(".")[0] in backends for m in _imported_modules(path))
    }
    assert importers == {BACKEND_AWARE}
    top = {m.split(".")[0] for m in _top_level_modules(BACKEND_AWARE)}
    assert not top & backends, top
    inside = {m for m in _imported_modules(BACKEND_AWARE) if m.split(".")[0] in backends}
    assert inside <= {
        "tensorflow",
        "torch",
        "torch.distributed",
    }, inside
    assert not any(m.startswith("keras.src") for m in _imported_modules(BACKEND_AWARE))


def test_the_scan_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\nfrom keras.src.losses import loss\nimport torch.nn\n")
    assert list(_imported_modules(bad)) == ["numpy", "keras.src.losses", "torch.nn"]


def test_the_scan_tells_module_level_imports_from_those_in_functions(tmp_path):
    source = tmp_path / "lazy.py"
    source.write_text("import numpy\ndef f():\n    import matplotlib\n    from sklearn import x\n")
    assert list(_imported_modules(source, in_functions=False)) == ["numpy"]
    assert sorted(_imported_modules(source)) == ["matplotlib", "numpy", "sklearn"]


def test_import_never_loads_the_demo_or_its_extras():
    """`import kerasloss` skips the demo; the demo's modules import their extras lazily."""
    code = (
        "import sys, json, pkgutil, importlib\n"
        "import keras\n"
        "before = {m.split('.')[0] for m in sys.modules}\n"  # Keras may import some itself
        "import kerasloss\n"
        "first = sorted(m for m in sys.modules if m.startswith('kerasloss._demo'))\n"
        "import kerasloss.__main__, kerasloss._demo\n"
        "for info in pkgutil.iter_modules(kerasloss._demo.__path__, 'kerasloss._demo.'):\n"
        "    importlib.import_module(info.name)\n"
        "tops = {m.split('.')[0] for m in sys.modules} - before\n"
        "extras = sorted(tops & {'sklearn', 'matplotlib', 'river'})\n"
        "print(json.dumps([first, extras]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    first, extras = json.loads(done.stdout.strip().splitlines()[-1])
    assert first == []
    assert extras == []


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


def _public_objects():
    """Every public name of the package and its subpackages, with the object it names."""
    for module in (kerasloss, kerasloss.losses, kerasloss.layers, kerasloss.metrics):
        for name in getattr(module, "__all__", None) or sorted(vars(module)):
            if not name.startswith("_"):
                yield f"{module.__name__}.{name}", getattr(module, name)


def _saveable(obj):
    """A Loss, Layer or Metric class, or a per-sample loss function of (y_true, y_pred)."""
    if isinstance(obj, type):
        return contract.kind_of(obj) is not None
    if inspect.isfunction(obj):
        return list(inspect.signature(obj).parameters)[:2] == ["y_true", "y_pred"]
    return False


PUBLIC_SAVEABLE = sorted(
    {(path, obj) for path, obj in _public_objects() if _saveable(obj)}, key=lambda item: item[0]
)


@pytest.mark.parametrize(("path", "obj"), PUBLIC_SAVEABLE, ids=[p for p, _ in PUBLIC_SAVEABLE])
def test_public_losses_layers_and_metrics_are_registered_under_the_package_name(path, obj):
    name = f"kerasloss>{obj.__name__}"
    assert keras.saving.get_registered_name(obj) == name, path
    assert keras.saving.get_registered_object(name) is obj, path


@pytest.mark.parametrize("name", sorted(contract.REGISTERED))
def test_registered_objects_are_public_and_of_a_known_kind(name):
    obj = contract.REGISTERED[name]
    assert contract.kind_of(obj) in contract.KINDS, (
        f"{name} is not a loss, function, layer or metric"
    )
    assert name == f"kerasloss>{obj.__name__}"
    assert any(o is obj for _, o in _public_objects()), f"{name} is not exported"


@pytest.mark.parametrize("name", sorted(contract.REGISTERED))
def test_every_registered_object_has_a_contract_spec(name):
    specs = [s for s in SPECS if s.name == name]
    assert specs, f"{name} is registered but has no spec in tests/_contract_specs.py"


@pytest.mark.parametrize("name", sorted({s.name for s in SPECS}))
def test_every_contract_spec_names_a_registered_object(name):
    assert name in contract.REGISTERED, f"a spec names {name}, which is not registered"


def test_spec_ids_are_unique():
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
