"""The project's promises outside the losses: the docs quote the matrix, the command line runs."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import keras
import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_backends_doc_quotes_the_matrix():
    matrix = tomllib.loads((ROOT / "backends_matrix.toml").read_text())
    doc = (ROOT / "docs" / "backends.md").read_text()
    assert set(matrix["backends"]) == {"tensorflow", "jax", "torch"}
    for requirement in matrix["common"]["requirements"]:
        assert f"`{requirement}`" in doc
    for name, spec in matrix["backends"].items():
        assert f"`tests({name})`" in doc
        assert f"`{spec['keras_backend']}`" in doc
        for requirement in spec["requirements"]:
            assert f"`{requirement}`" in doc, requirement


def test_ci_runs_every_default_nox_session_once():
    # `.ci/run` splits nox's default sessions into two queues that run side by side; a
    # default session left out of both would never run in CI.
    import ast
    import re

    noxfile = ast.parse((ROOT / "noxfile.py").read_text())
    default = next(
        ast.literal_eval(node.value)
        for node in noxfile.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "nox.options.sessions"
    )
    matrix = tomllib.loads((ROOT / "backends_matrix.toml").read_text())
    backends = sorted(matrix["backends"])
    expected = []
    for name in default:
        expected += [f"tests({b})" for b in backends] if name == "tests" else [name]
    queued = []
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        match = re.match(r"python3 -m nox -s (.*) >", line)
        if match:
            queued += [arg.strip('"') for arg in match.group(1).split()]
    assert sorted(queued) == sorted(expected)


def test_lowest_keras_is_the_floor_pyproject_declares():
    matrix = tomllib.loads((ROOT / "backends_matrix.toml").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (pinned,) = [r for r in matrix["lowest"]["requirements"] if r.startswith("keras==")]
    assert f"keras>={pinned.split('==')[1]}" in pyproject["project"]["dependencies"]
    assert (
        f"`tests-lowest-keras` | `{matrix['lowest']['backend']}` | `{pinned}`"
        in (ROOT / "docs" / "backends.md").read_text()
    )


def test_this_session_runs_the_backend_it_was_asked_for():
    requested = os.environ.get("KERAS_BACKEND")
    if requested is None:
        pytest.skip("KERAS_BACKEND is not set (nox sets it for every session)")
    assert keras.backend.backend() == requested


@pytest.mark.slow
def test_the_command_line_lists_its_sub_commands():
    done = subprocess.run(
        [sys.executable, "-m", "kerasloss"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "demo" in done.stdout
    assert "usage: kerasloss" in done.stdout
