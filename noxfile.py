"""Test sessions, one per backend, generated from backends_matrix.toml.

Run `nox -l` to list the sessions, `nox` to lint and then test on every backend, and
`nox -s "tests(jax)" -- -k focal` for one backend (arguments after -- go to pytest).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
# What `nox` runs with no `-s`: what CI runs. `.ci/run` runs these same sessions as two
# queues side by side; a session added here goes into one of its queues too. The long
# sessions defined below (demo, bench, stress, properties on JAX and TensorFlow) run only
# when named.
nox.options.sessions = ["lint", "docs", "tests", "tests-lowest-keras", "properties(torch)"]

MATRIX = nox.project.load_toml("backends_matrix.toml")
PYPROJECT = nox.project.load_toml("pyproject.toml")
BACKENDS = sorted(MATRIX["backends"])
# What the oldest admitted Keras is tested with (see `tests_lowest_keras`).
LOWEST_KERAS_TESTS = (
    "tests/test_contract_losses.py",
    "tests/test_contract_metrics.py",
    "tests/test_contract_layers.py",
    "tests/test_docstrings.py",
    "tests/test_api.py",
    "tests/test_package.py",
    "tests/test_architecture.py",
    "tests/test_porting.py",
)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and formatting) and mypy (the type hints of the package)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    paths = ("src", "tests", "examples", "tools", "benchmarks", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs, API reference from the docstrings), strictly.

    `--strict` turns every warning into a failure: a broken link or anchor, a page left
    out of the navigation, a docstring the API reference cannot read. The site goes to
    a temporary folder; `mkdocs serve` shows it while writing.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    site = str(Path(session.create_tmp()) / "site")
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})


def _pytest(
    session: nox.Session, keras_requirements: list[str], backend: str, *defaults: str
) -> None:
    spec = MATRIX["backends"][backend]
    session.install(
        *keras_requirements,
        *spec["requirements"],
        *nox.project.dependency_groups(PYPROJECT, "test"),
        *spec.get("test_requirements", []),
    )
    session.install("--no-deps", "-e", ".")
    session.run(
        "pytest",
        *(session.posargs or defaults),
        env={"KERAS_BACKEND": spec["keras_backend"], "PYTHONHASHSEED": "0"},
    )


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session: nox.Session, backend: str) -> None:
    """pytest on one backend, in a virtualenv that holds only that backend.

    The hypothesis property tests run in their own session, `properties`.
    """
    # The quick demo (tests marked `demo`, minutes of training) runs in CI on JAX, the
    # backend of the README's first command; `nox -s "demo(torch)" -- --quick` runs it on
    # another backend, and `nox -s "tests(torch)" -- -m demo` its checks.
    deselect = "not properties" if backend == "jax" else "not properties and not demo"
    _pytest(session, MATRIX["common"]["requirements"], backend, "-m", deselect)


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def properties(session: nox.Session, backend: str) -> None:
    """The long robustness tests on one backend: the hypothesis properties
    (tests/test_properties.py) and mixed-precision training (tests/test_mixed_precision.py).

    They pass on every backend. CI runs them on torch, where they take minutes; on JAX
    and TensorFlow every drawn shape and the mixed-precision train step are compiled
    by XLA, which takes 20 to 30 minutes: run `nox -s "properties(jax)"` by name.

    `KERASLOSS_HYPOTHESIS_PROFILE=thorough` draws 300 examples per test instead of 2.
    """
    _pytest(session, MATRIX["common"]["requirements"], backend, "-m", "properties", "-q")


@nox.session(name="tests-lowest-keras")
def tests_lowest_keras(session: nox.Session) -> None:
    """pytest with the oldest Keras that pyproject.toml admits, on one backend.

    It checks that the API kerasloss uses exists and behaves the same in the oldest Keras:
    the contract every registered loss, metric and layer passes (reductions, dtypes,
    config, a compiled train step), the docstring examples, the public API and the
    package rules. The slow tests (training runs, fresh processes) and the per-family
    value tests run with the pinned Keras only, in the `tests` sessions.
    """
    _pytest(
        session,
        MATRIX["lowest"]["requirements"],
        MATRIX["lowest"]["backend"],
        *LOWEST_KERAS_TESTS,
        "-m",
        "not slow",
    )


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def demo(session: nox.Session, backend: str) -> None:
    """The full `kerasloss demo` on one backend, installed as a user would (`.[demo]`).

    Not run by default (it trains for minutes): `nox -s "demo(jax)"`. Arguments after --
    go to the demo, e.g. `nox -s "demo(torch)" -- --quick --family cost`. The output lands
    in `kerasloss-demo/<backend>/`. CI runs the quick demo and its checks
    (tests/test_demo.py) in the JAX test session.
    """
    spec = MATRIX["backends"][backend]
    session.install(*MATRIX["common"]["requirements"], *spec["requirements"], ".[demo]")
    session.run(
        "kerasloss",
        "demo",
        "--out",
        f"kerasloss-demo/{backend}",
        *session.posargs,
        env={"KERAS_BACKEND": spec["keras_backend"]},
    )


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def bench(session: nox.Session, backend: str) -> None:
    """The performance harness on one backend (not in the default run; long).

    `nox -s "bench(jax)"` writes bench-results/jax/results.json and its figure;
    arguments after -- go to `python -m benchmarks` (e.g. `-- --headline --repeats 3`).
    docs/benchmarks.md says how the published numbers were made.
    """
    spec = MATRIX["backends"][backend]
    session.install(
        *MATRIX["common"]["requirements"],
        *spec["requirements"],
        *spec.get("test_requirements", []),
        "matplotlib",
    )
    session.install("--no-deps", "-e", ".")
    session.run(
        "python",
        "-m",
        "benchmarks",
        "--backend",
        backend,
        "--out",
        f"bench-results/{backend}",
        *session.posargs,
        env={"KERAS_BACKEND": spec["keras_backend"], "PYTHONHASHSEED": "0"},
    )


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def stress(session: nox.Session, backend: str) -> None:
    """10,000 random loss configurations against the NumPy references, on one backend.

    Not run by default: CI runs a few hundred inside the `tests` sessions. Set
    KERASLOSS_STRESS_CONFIGS to change the count. (The long hypothesis run is
    `KERASLOSS_HYPOTHESIS_PROFILE=thorough nox -s "tests(jax)" -- tests/test_properties.py`.)
    """
    session.env["KERASLOSS_STRESS_CONFIGS"] = os.environ.get("KERASLOSS_STRESS_CONFIGS", "10000")
    _pytest(session, MATRIX["common"]["requirements"], backend, "tests/test_stress.py", "-q")
