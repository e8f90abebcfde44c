"""Smoke test of the performance harness (benchmarks/): tiny sizes, one repeat, no timings checked.

The harness is not part of the package; these tests keep it from rotting. They check
that every case still builds and runs, and that a run writes a complete results.json.
How fast anything is, is never asserted here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as runner  # noqa: E402
from benchmarks.cases import cases  # noqa: E402

BACKEND = keras.backend.backend()
HAS_PML = importlib.util.find_spec("pytorch_metric_learning") is not None


def _quick_cases():
    return [
        case
        for case in cases(quick=True, backend=BACKEND)
        if not case.torch_only or (BACKEND == "torch" and HAS_PML)
    ]


def test_every_case_runs_and_is_finite():
    names = set()
    for case in _quick_cases():
        inputs, wrt, fn = case.build(np.random.default_rng(0))
        assert set(wrt) <= set(inputs), case.key
        if case.torch_only:
            import torch

            value = fn({k: torch.from_numpy(v) for k, v in inputs.items()})
        else:
            value = fn({k: ops.convert_to_tensor(v) for k, v in inputs.items()})
        value = ops.convert_to_numpy(value)
        assert value.shape == (), case.key
        assert np.isfinite(value), case.key
        names.add(case.name)
    # One case per loss family at least, and the references.
    for name in (
        "keras_ce",
        "keras_bce",
        "pairwise_bpmll",
        "tfa_semi_hard_cubic",
        "cost_sensitive_ce",
        "binary_focal",
        "bpmll",
        "triplet_semi_hard",
        "supcon",
        "clip",
        "center",
        "pinball",
        "weighted_kappa",
        "sparsemax",
        "npairs",
        "arcface",
    ):
        assert name in names


def test_pairwise_bpmll_reference_matches_the_factorised_loss():
    # The reference the harness times ours against must compute the same loss.
    import kerasloss

    rng = np.random.default_rng(1)
    y_true = (rng.random((6, 5)) < 0.4).astype("float32")
    y_true[0] = 0.0  # no relevant label: 0
    y_pred = rng.normal(size=(6, 5)).astype("float32")
    from benchmarks.cases import pairwise_bpmll

    got = ops.convert_to_numpy(pairwise_bpmll(ops.convert_to_tensor(y_true), y_pred))
    want = ops.convert_to_numpy(kerasloss.bpmll_loss(y_true, y_pred))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_quick_run_writes_results(tmp_path):
    out = tmp_path / "bench"
    code = runner.main(
        [
            "--backend",
            BACKEND,
            "--quick",
            "--out",
            str(out),
            "--groups",
            "elementwise,fit",
            # Two losses, each once compiled and once in a fit step: seconds, not minutes.
            "--names",
            "keras_ce,cost_sensitive_ce",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["backend"] == BACKEND
    assert results["quick"] is True
    assert {"keras", "python", "numpy", "kerasloss"} <= set(results["versions"])
    assert results["machine"]["cpus_available"] >= 1
    records = results["records"]
    assert {r["group"] for r in records} == {"elementwise", "fit"}
    for record in records:
        assert "error" not in record, record
        assert record["median_s"] > 0
        assert record["repeats"] == 1 == len(record["times_s"])
        assert {"name", "kind", "sizes", "mode"} <= set(record)
    for group in ("elementwise", "fit"):
        names = {r["name"] for r in records if r["group"] == group}
        assert names == {"keras_ce", "cost_sensitive_ce"}


def test_ratio_table_reads_the_results(tmp_path):
    from benchmarks.report import ratio_table

    record = {"mode": "jit", "sizes": {"B": 2048, "C": 1000}}
    results = {
        "backend": "jax",
        "records": [
            {**record, "name": "cost_sensitive_ce", "median_s": 3.0},
            {**record, "name": "keras_ce", "median_s": 2.0},
        ],
    }
    table = ratio_table({"jax": results})
    assert "| cost-sensitive CE (one (C, C) table) / Keras CE | 1.50 | — | — |" in table


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_plot_draws_a_png(tmp_path):
    from benchmarks.plot import plot

    results = {
        "backend": BACKEND,
        "records": [
            {
                "name": "triplet_batch_hard",
                "mode": {"jax": "jit", "tensorflow": "xla", "torch": "eager"}[BACKEND],
                "sizes": {"B": b, "D": 128},
                "median_s": 1e-3 * b,
                "peak_rss_delta_bytes": 1000 * b,
            }
            for b in (128, 256)
        ],
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    (path,) = plot([tmp_path / "results.json"], tmp_path)
    assert path.read_bytes()[:4] == b"\x89PNG"
