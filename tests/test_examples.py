"""The scripts under examples/ run, on the backend of the session, and print what they promise."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from river import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    coverage_error,
    hamming_loss,
    label_ranking_average_precision_score,
    label_ranking_loss,
)
from sklearn.multiclass import OneVsRestClassifier

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _yeast():
    rows = list(datasets.Yeast())
    x = np.array([[xi[f"Att{i}"] for i in range(1, 104)] for xi, _ in rows], dtype="float32")
    y = np.array([[int(yi[f"Class{i}"]) for i in range(1, 15)] for _, yi in rows])
    return x, y


def _table_row(stdout, name):
    (line,) = [line for line in stdout.splitlines() if line.startswith(f"| {name}")]
    return [float(cell) for cell in line.split("|")[2:7]]


@pytest.mark.slow
def test_yeast_bpmll_prints_the_table():
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "yeast_bpmll.py"),
            "--epochs",
            "2",
            "--ensemble",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert f"backend {keras.backend.backend()}," in out
    assert re.search(r"Wall time: \d+\.\d s", out)

    # The logistic-regression row is deterministic: scikit-learn's own metrics must agree
    # with the kerasloss metrics the script prints, to the 4 decimals shown.
    x, y = _yeast()
    scores = (
        OneVsRestClassifier(LogisticRegression(max_iter=1000))
        .fit(x[:1500], y[:1500])
        .decision_function(x[1500:])
    )
    truth, top = y[1500:], scores.argmax(axis=1)
    expected = [
        hamming_loss(truth, (scores > 0).astype(int)),
        float(np.mean(truth[np.arange(len(truth)), top] == 0)),
        coverage_error(truth, scores),
        label_ranking_loss(truth, scores),
        label_ranking_average_precision_score(truth, scores),
    ]
    printed = _table_row(out, "scikit-learn one-vs-rest logistic regression")
    # Half a unit in the last printed digit: 4 decimals, coverage 2.
    tolerance = np.array([5e-5, 5e-5, 5e-3, 5e-5, 5e-5]) + 1e-9
    assert np.all(np.abs(np.array(printed) - expected) <= tolerance), (printed, expected)

    # Two epochs do not train the networks to the documented figures, but their rows
    # must hold metrics in range: losses in [0, 1], coverage in [1, 14].
    for name in (
        "BP-MLL network",
        "BP-MLL, ensemble of 2",
        "same network, binary cross-entropy",
    ):
        hamming, one_error, coverage, ranking, precision = _table_row(out, name)
        assert 0.0 <= hamming <= 1.0 and 0.0 <= one_error <= 1.0
        assert 1.0 <= coverage <= 14.0
        assert 0.0 <= ranking <= 1.0 and 0.0 < precision <= 1.0
