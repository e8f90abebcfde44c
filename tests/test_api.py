"""The public API documents itself: names, docstring sections and type hints.

Public means listed in the `__all__` of a public module (CONTRIBUTING.md, "Names").
Each public function and class must explain itself in `help()`: a one-line summary,
the formula, the arguments, what it returns, what it raises, an example and a
reference, with type hints on its signature.
"""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import pkgutil
import warnings

import pytest

import kerasloss

SECTIONS = ("Formula:", "Args:", "Returns:", "Raises:", "Example:", "Reference:")


def _public_modules():
    yield kerasloss
    for info in pkgutil.walk_packages(kerasloss.__path__, "kerasloss."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        yield importlib.import_module(info.name)


PUBLIC_MODULES = list(_public_modules())


def _public_objects():
    seen = {}
    for module in PUBLIC_MODULES:
        for name in getattr(module, "__all__", ()):  # a missing __all__ fails its own test
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return dict(sorted(seen.items()))


PUBLIC = _public_objects()
each_public = pytest.mark.parametrize("obj", list(PUBLIC.values()), ids=list(PUBLIC))


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_public_modules_declare_all_and_nothing_public_hides_outside_it(module):
    assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"
    for name, obj in vars(module).items():
        defined_here = getattr(obj, "__module__", None) == module.__name__
        if defined_here and (inspect.isfunction(obj) or inspect.isclass(obj)):
            assert name.startswith("_") or name in module.__all__, (
                f"{module.__name__}.{name} looks public but is not in __all__: "
                "prefix it with an underscore or move it to kerasloss._internal"
            )


def test_there_is_a_public_api_to_check():
    names = {obj.__name__ for obj in PUBLIC.values()}
    assert {"BinaryFocalLoss", "triplet_loss", "CenterLoss", "HammingLoss"} <= names


@each_public
def test_docstring_has_summary_and_every_section(obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{obj.__qualname__} has no docstring"
    summary = doc.splitlines()[0]
    assert summary.endswith(".") and len(summary) <= 100, summary
    assert len(doc.splitlines()) == 1 or not doc.splitlines()[1].strip(), "summary is one line"
    missing = [section for section in SECTIONS if f"\n{section}" not in f"\n{doc}"]
    assert not missing, f"{obj.__qualname__} lacks {missing}"
    assert ">>> " in doc.split("Example:", 1)[1], f"{obj.__qualname__} has no >>> example"


def _signature_target(obj):
    return obj.__init__ if inspect.isclass(obj) else obj


@each_public
def test_signature_has_type_hints(obj):
    target = _signature_target(obj)
    if inspect.isclass(obj) and target is object.__init__:
        return
    signature = inspect.signature(target)
    unannotated = [
        name
        for name, parameter in signature.parameters.items()
        if name != "self" and parameter.annotation is inspect.Parameter.empty
    ]
    assert not unannotated, f"{obj.__qualname__}: no type hint for {unannotated}"
    if inspect.isfunction(obj):
        assert signature.return_annotation is not inspect.Signature.empty, obj.__qualname__


def test_the_package_ships_its_type_hints():
    assert (importlib.resources.files("kerasloss") / "py.typed").is_file()


# Old import paths (CHANGELOG.md, 0.2): each still resolves, and says where the name went.
ALIASES = {
    "kerasloss.losses.apply_threshold": "kerasloss.thresholds.apply_threshold",
    "kerasloss.losses.best_cut_per_example": "kerasloss.thresholds.best_cut_per_example",
    "kerasloss.losses.fit_linear_threshold": "kerasloss.thresholds.fit_linear_threshold",
    "kerasloss.losses.linear_threshold": "kerasloss.thresholds.linear_threshold",
    "kerasloss.losses.multilabel.apply_threshold": "kerasloss.thresholds.apply_threshold",
    "kerasloss.losses.multilabel.best_cut_per_example": (
        "kerasloss.thresholds.best_cut_per_example"
    ),
    "kerasloss.losses.multilabel.fit_linear_threshold": (
        "kerasloss.thresholds.fit_linear_threshold"
    ),
    "kerasloss.losses.multilabel.linear_threshold": "kerasloss.thresholds.linear_threshold",
    "kerasloss.losses.multilabel.LinearThreshold": "kerasloss.layers.LinearThreshold",
    "kerasloss.layers.OutputMean": "kerasloss.metrics.OutputMean",
    "kerasloss.layers.center.OutputMean": "kerasloss.metrics.OutputMean",
    "kerasloss.losses.center.class_ids": "kerasloss._internal.checks.class_ids",
    "kerasloss.losses.center.assignment": "kerasloss._internal.centers.assignment",
    "kerasloss.losses.center.center_term": "kerasloss._internal.centers.center_term",
    "kerasloss.losses.center.check_features": "kerasloss._internal.centers.check_features",
    "kerasloss.losses.center.wen_update": "kerasloss.layers.center._wen_update",
    "kerasloss.losses.metric_learning.MINING": "kerasloss._internal.mining.MINING",
    "kerasloss.losses.metric_learning.batch_hard": "kerasloss._internal.mining.batch_hard",
    "kerasloss.losses.metric_learning.semi_hard": "kerasloss._internal.mining.semi_hard",
    "kerasloss.losses.metric_learning.batch_all": "kerasloss._internal.mining.batch_all",
    "kerasloss.losses.metric_learning.check_margin": "kerasloss._internal.mining.check_margin",
    "kerasloss.losses.metric_learning.check_mining": "kerasloss._internal.mining.check_mining",
}


def _resolve(dotted):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("old", "new"), list(ALIASES.items()), ids=list(ALIASES))
def test_old_names_still_work_with_a_deprecation_warning(old, new):
    with pytest.warns(DeprecationWarning, match=old.rsplit(".", 1)[1]) as caught:
        got = _resolve(old)
    assert got is _resolve(new)
    message = str(caught[0].message)
    if "._" in new:  # a helper that became private is not advertised at its new place
        assert "private" in message and new not in message
    else:
        assert new in message


def test_an_unknown_name_is_still_an_attribute_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no_such_loss"):
            _resolve("kerasloss.losses.no_such_loss")
