"""`python -m benchmarks --backend NAME [--quick] [--out DIR]`: time every case, write results.json.

KERAS_BACKEND must name the same backend (Keras reads it at import); the runner sets it
when it is unset. The figures are drawn when matplotlib is installed
(`python -m benchmarks.plot DIR [DIR ...]` draws them later from the results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--backend", required=True, choices=("jax", "tensorflow", "torch"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke test)")
    parser.add_argument("--out", default="bench-results", help="directory for results.json")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per case")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds of timed calls per case, at most"
    )
    parser.add_argument(
        "--groups",
        default="elementwise,multilabel,mining,pairs,other,margin,fit",
        help="comma-separated groups to run",
    )
    parser.add_argument(
        "--headline",
        action="store_true",
        help="only the sizes of the ratio table (B = 2048, C = 1000; B = 256 for the pairwise "
        "BP-MLL; B = 1024 for mining)",
    )
    parser.add_argument("--names", default=None, help="comma-separated case names to run")
    parser.add_argument("--max-batch", type=int, default=None, help="skip cases with a larger B")
    parser.add_argument("--no-compile", action="store_true", help="torch: skip torch.compile")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.start = time.perf_counter()

    def update(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.perf_counter() - self.start
        bar = "#" * filled + "." * (width - filled)
        line = f"\r[{bar}] {self.done}/{self.total} {elapsed:6.0f}s {label[:60]:<60}"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _versions(backend: str) -> dict[str, str]:
    import keras
    import numpy

    import kerasloss

    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "kerasloss": kerasloss.__version__,
    }
    module = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}[backend]
    versions[module] = __import__(module).__version__
    if backend == "torch":
        try:
            import pytorch_metric_learning

            versions["pytorch-metric-learning"] = pytorch_metric_learning.__version__
        except ImportError:
            pass
    return versions


def _machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": model,
        "cpus_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    requested = os.environ.setdefault("KERAS_BACKEND", args.backend)
    if requested != args.backend:
        sys.exit(f"KERAS_BACKEND={requested} but --backend {args.backend}: they must agree.")
    if args.backend == "torch":
        import torch  # noqa: F401  (before anything imports TensorFlow)
    import keras

    from benchmarks.cases import cases
    from benchmarks.fit import FIT_CASES, QUICK_FIT, run_fit_case
    from benchmarks.timing import run_case

    if keras.backend.backend() != args.backend:
        sys.exit(f"Keras runs on {keras.backend.backend()}, not {args.backend}.")
    repeats = args.repeats or (1 if args.quick else 7)
    budget = args.budget if args.budget is not None else (0.0 if args.quick else 5.0)
    warmup = 1 if args.quick else 2
    groups = set(args.groups.split(","))
    mode = {"jax": "jit", "tensorflow": "xla", "torch": "eager"}[args.backend]

    plan: list[tuple[str, Any]] = []
    for case in cases(quick=args.quick, backend=args.backend):
        if case.group not in groups or (args.headline and not case.headline):
            continue
        if args.names and case.name not in args.names.split(","):
            continue
        if args.max_batch and case.sizes.get("B", 0) > args.max_batch:
            continue
        plan.append((mode, case))
        if (
            args.backend == "torch"
            and case.headline
            and not case.torch_only
            and not (args.quick or args.no_compile)
        ):
            plan.append(("torch.compile", case))
    if "fit" in groups and not args.headline:
        plan += [
            ("model.fit", fit)
            for fit in FIT_CASES
            if (not args.quick or fit.name in QUICK_FIT)
            and (not args.names or fit.name in args.names.split(","))
        ]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "backend": args.backend,
        "quick": args.quick,
        "headline_only": args.headline,
        "repeats": repeats,
        "warmup": warmup,
        "budget_s": budget,
        "command": " ".join(
            ["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]
        ),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(args.backend),
        "machine": _machine(),
        "memory": "peak_rss_delta_bytes: rise of the process's peak resident size during one "
        "warm call (VmHWM reset through /proc/self/clear_refs); xla_memory (jax): XLA's "
        "memory analysis of the compiled step",
        "records": [],
    }
    progress = Progress(len(plan), enabled=not args.no_progress)
    fit_b, fit_c = (32, 10) if args.quick else (1024, 100)
    for run_mode, item in plan:
        if run_mode == "model.fit":
            record = run_fit_case(
                item, batch=fit_b, features=64, classes=fit_c, warmup=warmup + 1, repeats=repeats
            )
            label = f"fit/{item.name}"
        else:
            record = run_case(
                args.backend, item, mode=run_mode, warmup=warmup, repeats=repeats, budget=budget
            )
            label = f"{run_mode} {item.key}"
        results["records"].append(record)
        progress.update(label)
        # Written after every case, so an interrupted run keeps what it measured.
        (out / "results.json").write_text(json.dumps(results, indent=1))
    progress.close()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (out / "results.json").write_text(json.dumps(results, indent=1))
    failed = [r for r in results["records"] if "error" in r]
    for record in failed:
        print(
            f"not timed: {record['mode']} {record['group']}/{record['name']} "
            f"{record['sizes']}: {record['error']}"
        )
    print(
        f"{len(results['records']) - len(failed)} cases timed, {len(failed)} not; "
        f"results in {out / 'results.json'}"
    )
    if not args.no_plots:
        try:
            from benchmarks.plot import plot
        except ImportError as error:
            print(f"no plots ({error}); install matplotlib and run python -m benchmarks.plot {out}")
        else:
            for path in plot([out / "results.json"], out):
                print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
