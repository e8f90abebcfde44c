"""The package's structure: which part may import which, as CONTRIBUTING.md's table says.

The table is parsed from CONTRIBUTING.md, so the rule is written down once. Every module
of `src/kerasloss` is parsed (imports inside functions included) and each import of
another kerasloss part must be in the importing part's row.
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

import kerasloss

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = pathlib.Path(kerasloss.__file__).parent
PUBLIC_PARTS = {"losses", "layers", "metrics", "callbacks", "thresholds", "ops"}


def _rules() -> dict[str, set[str]]:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    table = re.search(r"<!-- import-rules: start -->(.*?)<!-- import-rules: end -->", text, re.S)
    assert table, "CONTRIBUTING.md has lost its import-rules table"
    rules = {}
    for line in table.group(1).strip().splitlines()[2:]:
        part, allowed = (cell.strip() for cell in line.strip().strip("|").split("|"))
        rules[part.strip("`")] = {name.strip().strip("`") for name in allowed.split(",") if name}
    return rules


RULES = _rules()


def _part(module: str) -> str:
    """The part a dotted kerasloss module name belongs to."""
    pieces = module.split(".")
    assert pieces[0] == "kerasloss", module
    if len(pieces) == 1:
        return "kerasloss"
    return pieces[1]


def _module_name(path: pathlib.Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _kerasloss_imports(source: str, module: str) -> list[str]:
    """The kerasloss modules (or `kerasloss.<part>` for `from kerasloss import x`) imported."""
    found = []
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "kerasloss"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "kerasloss":
                continue
            if base == "kerasloss":  # `from kerasloss import losses` names a part
                found += [f"kerasloss.{a.name}" for a in node.names]
            else:
                found.append(base)
    return found


def _violations(source: str, module: str) -> list[str]:
    here = _part(module)
    allowed = RULES[here]
    bad = []
    for target in _kerasloss_imports(source, module):
        there = _part(target)
        if there not in RULES:  # `from kerasloss import __version__` and the like
            there = "kerasloss"
        if there != here and there not in allowed:
            bad.append(f"{module} imports {target} ({here} -> {there})")
    return bad


SOURCES = sorted(SRC.rglob("*.py"))


def test_the_table_names_every_part_of_the_package():
    on_disk = {p.name.removesuffix(".py") for p in SRC.iterdir() if not p.name.startswith(".")}
    on_disk -= {"__init__", "py.typed", "__pycache__"}
    assert set(RULES) == on_disk | {"kerasloss"}
    assert PUBLIC_PARTS < set(RULES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC.parent)))
def test_imports_follow_the_table(path):
    assert _violations(path.read_text(), _module_name(path)) == []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("kerasloss.metrics.multilabel", "from kerasloss.losses.classification import x\n"),
        ("kerasloss.losses.center", "from kerasloss.layers import CenterLoss\n"),
        ("kerasloss._internal.checks", "import kerasloss.losses\n"),
        ("kerasloss._internal.checks", "from kerasloss import metrics\n"),
        ("kerasloss.layers.margin", "def f():\n    from kerasloss import __main__\n"),
        ("kerasloss.losses.multilabel", "from ..metrics import HammingLoss\n"),
        ("kerasloss.layers.center", "def f():\n    from kerasloss._demo import common\n"),
        ("kerasloss", "from kerasloss._demo import cli\n"),
        ("kerasloss._demo.cli", "from kerasloss import __main__\n"),
    ],
)
def test_a_forbidden_arrow_is_caught(module, source):
    assert _violations(source, module)


def test_an_allowed_arrow_passes():
    source = "from kerasloss._internal.masking import first_argmax\nfrom . import center\n"
    assert _violations(source, "kerasloss.layers.margin") == []


def test_nothing_imports_the_command_line_and_only_it_imports_the_demo():
    assert all("__main__" not in RULES[part] for part in RULES)
    assert [part for part in RULES if "_demo" in RULES[part]] == ["__main__"]


def test_import_works_without_docstrings():
    """`python -OO` strips docstrings; nothing at import time may depend on them."""

    def run(code):
        return subprocess.run(
            [sys.executable, "-OO", "-c", code],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=os.environ.copy(),
        )

    if run("import keras").returncode != 0:  # Keras 3.10 edits its own docstrings
        pytest.skip("this Keras itself does not import under python -OO")
    done = run("import kerasloss, kerasloss.__main__; print(len(kerasloss.__all__))")
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip().splitlines()[-1]) > 10
