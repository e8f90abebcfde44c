"""Every `>>>` example in the package runs, on every backend, and prints what it says.

Examples may use `keras`, `np` (NumPy) and `kerasloss` without importing them, as well as
the names of their own module. Printed numbers are compared to the precision they are
written with (the same rule as pytest's NUMBER option), so an example shows a value to
4 decimals and still holds on a backend whose last float32 digit differs.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re

import keras
import numpy as np
import pytest

import kerasloss

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


class _NumberChecker(doctest.OutputChecker):
    """Doctest's checker, plus: a number printed with k decimals matches any value that
    rounds to it (|got - want| <= 0.5e-k, and a little slack for the last binary digit)."""

    def check_output(self, want, got, optionflags):
        if super().check_output(want, got, optionflags):
            return True
        wants, gots = _NUMBER.findall(want), _NUMBER.findall(got)
        if len(wants) != len(gots):
            return False
        if " ".join(_NUMBER.split(want)).split() != " ".join(_NUMBER.split(got)).split():
            return False
        for w, g in zip(wants, gots, strict=True):
            decimals = len(w.split(".")[1]) if "." in w and "e" not in w.lower() else 0
            if abs(float(g) - float(w)) > 0.5 * 10.0**-decimals * (1 + 1e-6) + 1e-12:
                return False
        return True


def _modules():
    yield kerasloss
    for info in pkgutil.walk_packages(kerasloss.__path__, "kerasloss."):
        if info.name == "kerasloss.__main__":
            continue
        yield importlib.import_module(info.name)


def _examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    seen = set()
    for module in _modules():
        for test in finder.find(module, module.__name__):
            if test.examples and test.name not in seen:
                seen.add(test.name)
                yield test


EXAMPLES = sorted(_examples(), key=lambda t: t.name)


def test_examples_are_found():
    assert len(EXAMPLES) >= 10, [t.name for t in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_example_runs_and_prints_what_it_shows(example):
    example.globs = {**example.globs, "keras": keras, "np": np, "kerasloss": kerasloss}
    runner = doctest.DocTestRunner(checker=_NumberChecker(), optionflags=FLAGS)
    output = []
    runner.run(example, out=output.append)
    assert runner.failures == 0, "".join(output)


@pytest.mark.parametrize(
    ("want", "got", "ok"),
    [
        ("[0.1235 2.0]\n", "[0.12345678 2.0000002]\n", True),
        ("0.5\n", "0.5501\n", False),
        ("(2, 3)\n", "(2, 4)\n", False),
        ("[1. 0.]\n", "[1. 0. 1.]\n", False),
        ("loss 0.25\n", "cost 0.25\n", False),
    ],
)
def test_number_checker_accepts_rounding_only(want, got, ok):
    assert _NumberChecker().check_output(want, got, FLAGS) is ok
