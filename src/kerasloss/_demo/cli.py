"""`kerasloss demo`: the arguments, the run over the families, the outputs."""

from __future__ import annotations

import argparse
import datetime
import importlib
import logging
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

import kerasloss
from kerasloss._demo import common, report

# Family name -> (module, the extras its data and pictures need).
FAMILIES = {
    "cost": ("kerasloss._demo.cost", ("sklearn", "matplotlib")),
    "calibration": ("kerasloss._demo.calibration", ("sklearn", "matplotlib")),
    "bpmll": ("kerasloss._demo.bpmll", ("sklearn", "matplotlib", "river")),
    "center": ("kerasloss._demo.center", ("sklearn", "matplotlib")),
    "triplet": ("kerasloss._demo.triplet", ("sklearn", "matplotlib")),
    "margin": ("kerasloss._demo.margin", ("sklearn", "matplotlib")),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options, on the `demo` sub-command's parser."""
    parser.add_argument(
        "--family",
        action="append",
        choices=list(FAMILIES),
        metavar="NAME",
        help=f"run only this family (repeatable); one of {', '.join(FAMILIES)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller networks and fewer epochs: every family in about two minutes on 2 CPU cores",
    )
    parser.add_argument(
        "--out", default="kerasloss-demo", help="folder for the pictures and the report"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--seed", type=int, default=0, help="data split and weights (default 0)")


def _versions() -> dict[str, str]:
    versions = {
        "python": platform.python_version(),
        "kerasloss": kerasloss.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
    for module in ("jax", "tensorflow", "torch", "sklearn", "matplotlib", "river"):
        if module in sys.modules:  # only what this run imported
            versions[module] = str(getattr(sys.modules[module], "__version__", "?"))
    return versions


def run(args: argparse.Namespace, command: Sequence[str]) -> int:
    """Runs the chosen families and writes the outputs; returns the exit status."""
    chosen = list(dict.fromkeys(args.family or FAMILIES))
    needed = sorted({m for name in chosen for m in FAMILIES[name][1]})
    missing = common.missing_extras(needed)
    if missing:
        print(
            f"kerasloss demo needs {', '.join(missing)}, which is not installed. "
            f"Install the demo's extra dependencies with:\n\n    {common.INSTALL_HINT}\n",
            file=sys.stderr,
        )
        return 1
    import matplotlib

    matplotlib.use("Agg")  # draw to files only; no display is needed
    # Each family builds new models, and TensorFlow warns about every retraced predict
    # function; the warning says nothing the user can act on here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    os.makedirs(args.out, exist_ok=True)
    context = common.Context(quick=args.quick, seed=args.seed, out=args.out, verbose=not args.quiet)
    started = datetime.datetime.now(datetime.timezone.utc)
    start = time.perf_counter()
    print(
        f"kerasloss {kerasloss.__version__} demo on Keras {keras.__version__}, backend "
        f"{keras.backend.backend()}{' (--quick)' if args.quick else ''}; "
        f"families: {', '.join(chosen)}",
        flush=True,
    )
    results = []
    for name in chosen:
        module: Any = importlib.import_module(FAMILIES[name][0])
        if not args.quiet:
            print(f"[{name}] {module.TITLE}: training...", flush=True)
        result = module.run(context)
        results.append(result)
        print(f"[{name}] {result.seconds:5.1f} s  {result.headline}", flush=True)

    retrieval = _retrieval_summary(results)
    if retrieval is not None:
        results.append(retrieval)
    seconds = time.perf_counter() - start
    header = {
        "command": shlex.join(command),
        "backend": keras.backend.backend(),
        "quick": args.quick,
        "seed": args.seed,
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": seconds,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "versions": _versions(),
    }
    print()
    print(report.terminal_table(results))
    cost = next((r for r in results if r.name == "cost"), None)
    if cost is not None:
        print(report.terminal_table([_only_second_table(cost)]))
    print(
        "Training differs by backend (random streams, kernels, the order of sums), so these\n"
        "trained figures differ a little between TensorFlow, JAX and PyTorch; the losses give\n"
        "the same numbers for the same inputs on every backend."
    )
    report.write_json(os.path.join(args.out, "results.json"), header, results)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as file:
        file.write(report.markdown(results))
    report.write_html(os.path.join(args.out, "report.html"), args.out, header, results)
    print(f"\nDone in {seconds:.0f} s. Report: {os.path.join(args.out, 'report.html')}")
    return 0


def _retrieval_summary(results: Sequence[common.FamilyResult]) -> common.FamilyResult | None:
    """Every metric-learning model of the run scored the same way, in one table."""
    rows = [row for r in results for row in r.numbers.get("retrieval", [])]
    if not rows:
        return None
    best = max(rows, key=lambda row: row[3])
    return common.FamilyResult(
        name="retrieval",
        title="Retrieval scores of every metric-learning model",
        headline=f"best MAP@R {best[3]:.3f}: {best[0]}",
        explanation=[
            "Metric learning is judged by retrieval: each held-out digit queries the other "
            "held-out digits, nearest first. Precision@1 asks whether the nearest is of the "
            "same class; R-precision, with R the number of same-class digits, the share of "
            "them among the R nearest; MAP@R also rewards ranking them first (Musgrave et "
            'al., "A Metric Learning Reality Check", 2020). Computed with '
            "<code>kerasloss.metrics.retrieval_scores</code>. The models differ in size and "
            "training, so the table compares losses only loosely; within a family the "
            "network and the data are the same.",
        ],
        tables=[
            common.Table(
                ["model", "precision@1 ↑", "R-precision ↑", "MAP@R ↑"],
                rows,
                "held-out digits retrieving each other (each query leaves itself out)",
            )
        ],
        figures=[],
        numbers={"rows": rows},
    )


def _only_second_table(result: common.FamilyResult) -> common.FamilyResult:
    """The cost family's cost table, as a family of its own for `terminal_table`."""
    table = result.tables[1]
    return common.FamilyResult(
        result.name,
        "The cost table of the cost-sensitive family",
        "",
        [],
        [common.Table(table.columns, table.rows, "row: true digit, column: predicted digit")],
        [],
        {},
    )
