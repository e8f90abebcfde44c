"""Log-log figures of time and memory against size, one PNG per backend.

`python -m benchmarks.plot DIR [DIR ...] [--out DIR]` draws them from results.json files.
Left: the element-wise and multi-label losses at C = 100 against B (and the pairwise
BP-MLL). Right: triplet mining against B at D = 128, with O(B^2) and O(B^3) slopes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.report import load

LEFT = ("keras_ce", "keras_bce", "cost_sensitive_ce", "binary_focal", "bpmll", "pairwise_bpmll")
RIGHT = (
    "triplet_batch_hard",
    "triplet_semi_hard",
    "triplet_batch_all",
    "tfa_semi_hard_cubic",
    "pml_triplet_batch_hard",
    "pml_triplet_semi_hard",
    "pml_triplet_batch_all",
)
MODES = {"jax": "jit", "tensorflow": "xla", "torch": "eager"}


def _memory(record: dict[str, Any]) -> float | None:
    xla = record.get("xla_memory")
    if xla:
        return float(xla["temp_bytes"] + xla["output_bytes"])
    value = record.get("peak_rss_delta_bytes")
    return float(value) if value else None


def _series(results, name, mode, fixed):
    points = []
    for r in results["records"]:
        if r["name"] != name or r["mode"] != mode or "median_s" not in r:
            continue
        if any(r["sizes"].get(k) != v for k, v in fixed.items()):
            continue
        points.append((r["sizes"]["B"], r["median_s"], _memory(r)))
    return sorted(points)


def _slopes(ax, xs, y0):
    import numpy as np

    xs = np.array([min(xs), max(xs)], dtype=float)
    for power, style in ((2, ":"), (3, "--")):
        ax.plot(xs, y0 * (xs / xs[0]) ** power, "k" + style, lw=0.8, label=f"O(B^{power})")


def plot(paths: list[Path], out: Path) -> list[Path]:
    written = []
    for backend, results in load(paths).items():
        mode = MODES[backend]
        fig, axes = plt.subplots(2, 2, figsize=(10, 7))
        memory_label = (
            "memory (XLA temp + output, bytes)" if backend == "jax" else "peak RSS delta (bytes)"
        )
        for col, (names, fixed, title) in enumerate(
            (
                (LEFT, {"C": 100}, "element-wise, C = 100"),
                (RIGHT, {"D": 128}, "triplet mining, D = 128, 64 classes"),
            )
        ):
            time_ax, mem_ax = axes[0][col], axes[1][col]
            low = None
            for name in names:
                points = _series(results, name, mode, fixed)
                if not points:
                    continue
                bs = [p[0] for p in points]
                time_ax.plot(bs, [p[1] for p in points], "o-", ms=3, label=name)
                mem = [(p[0], p[2]) for p in points if p[2]]
                if mem:
                    mem_ax.plot(*zip(*mem, strict=True), "o-", ms=3, label=name)
                if name == "triplet_batch_hard":
                    low = (bs, points[0][1])
            if low is not None:
                _slopes(time_ax, *low)
            for ax, ylabel in ((time_ax, "forward + backward (s)"), (mem_ax, memory_label)):
                ax.set_xscale("log", base=2)
                ax.set_yscale("log")
                ax.set_xlabel("batch size B")
                ax.set_ylabel(ylabel)
                ax.grid(True, which="both", lw=0.3)
            time_ax.set_title(f"{backend} ({mode}): {title}", fontsize=9)
            for ax in (time_ax, mem_ax):
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=6)
        fig.tight_layout()
        path = out / f"bench_{backend}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plot")
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or (args.paths[0] if args.paths[0].is_dir() else args.paths[0].parent)
    out.mkdir(parents=True, exist_ok=True)
    for path in plot(args.paths, out):
        print(path)


if __name__ == "__main__":
    main()
