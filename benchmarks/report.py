"""The ratio table from one or more results.json files, as Markdown."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BACKENDS = ("jax", "tensorflow", "torch")

# (label, numerator, denominator, sizes, target)
RATIOS: tuple[tuple[str, str, str, dict[str, int], str], ...] = (
    (
        "cost-sensitive CE (one (C, C) table) / Keras CE",
        "cost_sensitive_ce",
        "keras_ce",
        {"B": 2048, "C": 1000},
        "≤ 1.3 compiled, ≤ 1.5 torch",
    ),
    (
        "label smoothing / Keras CE",
        "label_smoothing_ce",
        "keras_ce",
        {"B": 2048, "C": 1000},
        "same",
    ),
    (
        "binary focal / Keras BCE",
        "binary_focal",
        "keras_bce",
        {"B": 2048, "C": 1000},
        "≤ 1.5 compiled, ≤ 2.5 torch",
    ),
    (
        "BP-MLL / Keras BCE",
        "bpmll",
        "keras_bce",
        {"B": 2048, "C": 1000},
        "≤ 1.5 compiled, ≤ 3 torch",
    ),
    (
        "pairwise (B, C, C) BP-MLL / ours, B = 256",
        "pairwise_bpmll",
        "bpmll",
        {"B": 256, "C": 1000},
        "≥ 50",
    ),
    (
        "semi_hard / batch_hard",
        "triplet_semi_hard",
        "triplet_batch_hard",
        {"B": 1024, "D": 128},
        "≤ 2",
    ),
    (
        "batch_all / batch_hard",
        "triplet_batch_all",
        "triplet_batch_hard",
        {"B": 1024, "D": 128},
        "≤ 3",
    ),
)
PML = (
    ("hard", "triplet_batch_hard", "pml_triplet_batch_hard"),
    ("semi-hard", "triplet_semi_hard", "pml_triplet_semi_hard"),
    ("all", "triplet_batch_all", "pml_triplet_batch_all"),
)


def load(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """backend -> results, from results.json files or the directories that hold them.

    Several files of one backend are merged: a later file's record replaces an earlier
    one of the same case (name, sizes and mode), so a re-run of a few cases updates them.
    """
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        path = path / "results.json" if path.is_dir() else path
        data = json.loads(path.read_text())
        if data["backend"] not in out:
            out[data["backend"]] = data
            continue
        merged = out[data["backend"]]

        def key(r: dict[str, Any]) -> tuple[str, str, str]:
            return (r["name"], r["mode"], json.dumps(r["sizes"], sort_keys=True))

        new = {key(r) for r in data["records"]}
        merged["records"] = [r for r in merged["records"] if key(r) not in new] + data["records"]
    return out


def median(
    results: dict[str, Any], name: str, sizes: dict[str, int], mode: str, stat: str = "median_s"
) -> float | None:
    for record in results["records"]:
        if (
            record["name"] == name
            and record["mode"] == mode
            and all(record["sizes"].get(k) == v for k, v in sizes.items())
            and stat in record
        ):
            return float(record[stat])
    return None


def _ratio(results, num, den, sizes, mode, stat="median_s") -> float | None:
    a, b = median(results, num, sizes, mode, stat), median(results, den, sizes, mode, stat)
    return None if a is None or b is None or b == 0 else a / b


def _fmt(x: float | None) -> str:
    return "—" if x is None else (f"{x:.0f}" if x >= 100 else f"{x:.2f}")


def ratio_table(by_backend: dict[str, dict[str, Any]], stat: str = "median_s") -> str:
    """The table of the performance targets: ratios of medians (or of `stat`), per backend."""
    modes = {"jax": "jit", "tensorflow": "xla", "torch": "eager"}
    has_compile = "torch" in by_backend and any(
        r["mode"] == "torch.compile" for r in by_backend["torch"]["records"]
    )
    head = "| ratio | JAX (jit) | TensorFlow (XLA) | torch (eager) |"
    rule = "|---|---|---|---|"
    if has_compile:
        head += " torch.compile |"
        rule += "---|"
    lines = [head + " target |", rule + "---|"]
    for label, num, den, sizes, target in RATIOS:
        cells = [
            _fmt(_ratio(by_backend[b], num, den, sizes, modes[b], stat)) if b in by_backend else "—"
            for b in BACKENDS
        ]
        if has_compile:
            cells.append(_fmt(_ratio(by_backend["torch"], num, den, sizes, "torch.compile", stat)))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    if "torch" in by_backend:
        sizes = {"B": 1024, "D": 128}
        pml = ", ".join(
            _fmt(_ratio(by_backend["torch"], ours, ref, sizes, "eager", stat))
            for _, ours, ref in PML
        )
        cells = ["—", "—", pml] + (["—"] if has_compile else [])
        lines.append(
            "| ours / pytorch-metric-learning (hard, semi-hard, all), B = 1024 | "
            + " | ".join(cells)
            + " | ≤ 1 |"
        )
    return "\n".join(lines)


# (name, sizes) of the absolute table: the cases the ratios are made of.
ABSOLUTE = (
    ("keras_ce", {"B": 2048, "C": 1000}),
    ("cost_sensitive_ce", {"B": 2048, "C": 1000}),
    ("label_smoothing_ce", {"B": 2048, "C": 1000}),
    ("keras_bce", {"B": 2048, "C": 1000}),
    ("binary_focal", {"B": 2048, "C": 1000}),
    ("bpmll", {"B": 2048, "C": 1000}),
    ("bpmll", {"B": 256, "C": 1000}),
    ("pairwise_bpmll", {"B": 256, "C": 1000}),
    ("triplet_batch_hard", {"B": 1024, "D": 128}),
    ("triplet_semi_hard", {"B": 1024, "D": 128}),
    ("triplet_batch_all", {"B": 1024, "D": 128}),
    ("pml_triplet_batch_hard", {"B": 1024, "D": 128}),
    ("pml_triplet_semi_hard", {"B": 1024, "D": 128}),
    ("pml_triplet_batch_all", {"B": 1024, "D": 128}),
)


def absolute_table(by_backend: dict[str, dict[str, Any]], stat: str = "median_s") -> str:
    """Milliseconds per forward + backward of the cases in the ratio table."""
    modes = {"jax": "jit", "tensorflow": "xla", "torch": "eager"}
    lines = [
        "| case | sizes | JAX (jit) | TensorFlow (XLA) | torch (eager) |",
        "|---|---|---|---|---|",
    ]
    for name, sizes in ABSOLUTE:
        cells = []
        for b in BACKENDS:
            value = median(by_backend[b], name, sizes, modes[b], stat) if b in by_backend else None
            cells.append("—" if value is None else f"{value * 1e3:.1f}")
        size = ", ".join(f"{k} = {v}" for k, v in sizes.items())
        lines.append(f"| {name} | {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(argv if argv is not None else sys.argv[1:])
    stat = "median_s"
    if "--min" in args:  # ratios of the fastest call: less sensitive to a busy machine
        args.remove("--min")
        stat = "min_s"
    results = load([Path(p) for p in args])
    print(ratio_table(results, stat))
    print()
    print(absolute_table(results, stat))


if __name__ == "__main__":
    main()
