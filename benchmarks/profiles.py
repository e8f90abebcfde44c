"""Where the time goes, timed interleaved (one call of each variant in turn, so a busy
machine slows them alike).

`KERAS_BACKEND=jax python -m benchmarks.profiles --backend jax` builds the cost-sensitive
cross-entropy up from Keras' CE one piece at a time, B = 2048, C = 1000.
`python -m benchmarks.profiles --backend torch --profile mining` times the three triplet
minings (B = 1024, D = 128, 64 classes, Euclidean) and, on torch, pytorch-metric-learning's
equivalents, and prints each median as a ratio to batch_hard's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiles")
    parser.add_argument("--backend", required=True, choices=("jax", "tensorflow", "torch"))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, help="B: 2048 (cost) or 1024 (mining)")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--profile", choices=("cost", "mining"), default="cost")
    args = parser.parse_args(argv)
    if args.profile == "mining":
        _mining(args.backend, args.repeats, args.batch or 1024)
        return
    args.batch = args.batch or 2048
    os.environ.setdefault("KERAS_BACKEND", args.backend)
    if args.backend == "torch":
        import torch  # noqa: F401  (before anything imports TensorFlow)
    import keras
    from keras import ops

    import kerasloss
    from benchmarks.cases import Case, _cost_table, _logits, _one_hot
    from benchmarks.timing import make_step
    from kerasloss._internal.masking import first_argmax

    b, c = args.batch, args.classes

    def ce(t):
        return -ops.sum(t["y_true"] * ops.log_softmax(t["y_pred"], axis=-1), axis=-1)

    def weight(t, argmax):
        pair = argmax(t["y_true"]) * c + argmax(ops.stop_gradient(t["y_pred"]))
        return ops.take(ops.reshape(t["cost"], (-1,)), pair)

    def builtin_argmax(x):
        return ops.argmax(x, axis=-1)

    variants = {
        "Keras CE": lambda t: ops.mean(
            keras.losses.categorical_crossentropy(t["y_true"], t["y_pred"], from_logits=True)
        ),
        "CE with ops.log_softmax": lambda t: ops.mean(ce(t)),
        "+ first-index argmax of y_true": lambda t: ops.mean(
            ce(t) * ops.cast(first_argmax(t["y_true"]), "float32")
        ),
        "+ first-index argmax of y_pred": lambda t: ops.mean(
            ce(t) * ops.cast(first_argmax(ops.stop_gradient(t["y_pred"])), "float32")
        ),
        "+ both and the table lookup": lambda t: ops.mean(ce(t) * weight(t, first_argmax)),
        "the same with ops.argmax": lambda t: ops.mean(ce(t) * weight(t, builtin_argmax)),
        "cost_sensitive_crossentropy": lambda t: ops.mean(
            kerasloss.cost_sensitive_crossentropy(
                t["y_true"], t["y_pred"], cost_matrix=t["cost"], from_logits=True
            )
        ),
    }

    def builder(fn):
        def build(rng):
            y, _ = _one_hot(rng, b, c)
            inputs = {"y_true": y, "y_pred": _logits(rng, b, c), "cost": _cost_table(rng, c)}
            return inputs, ("y_pred",), fn

        return build

    mode = {"jax": "jit", "tensorflow": "xla", "torch": "eager"}[args.backend]
    steps = {}
    for name, fn in variants.items():
        case = Case(name, "profile", "ours", {"B": b, "C": c}, builder(fn))
        steps[name] = make_step(args.backend, case, np.random.default_rng(0), mode)
        steps[name]()
        steps[name]()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    print(f"| variant ({args.backend}, B = {b}, C = {c}) | median (ms) | fastest (ms) |")
    print("|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {statistics.median(ts) * 1e3:.0f} | {min(ts) * 1e3:.0f} |")


def _interleaved(backend: str, cases: list, repeats: int) -> dict[str, list[float]]:
    """Median-ready times of each case's step, one call of each in turn (order alternating)."""
    from benchmarks.timing import make_step

    mode = {"jax": "jit", "tensorflow": "xla", "torch": "eager"}[backend]
    steps = {}
    for case in cases:
        steps[case.name] = make_step(backend, case, np.random.default_rng(0), mode)
        steps[case.name]()
        steps[case.name]()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return times


def _mining(backend: str, repeats: int, b: int = 1024, d: int = 128, classes: int = 64) -> None:
    os.environ.setdefault("KERAS_BACKEND", backend)
    if backend == "torch":
        import torch  # noqa: F401  (before anything imports TensorFlow)
    from benchmarks.cases import Case, _pml_triplet, _triplet

    minings = ("batch_hard", "semi_hard", "batch_all")
    sizes = {"B": b, "D": d, "classes": classes}
    cases = [Case(m, "mining", "ours", sizes, _triplet(m, b, d, classes)) for m in minings]
    if backend == "torch":
        cases += [
            Case(f"pml_{m}", "mining", "reference", sizes, _pml_triplet(m, b, d, classes))
            for m in minings
        ]
    times = _interleaved(backend, cases, repeats)
    base = statistics.median(times["batch_hard"])
    print(f"| case ({backend}, B = {b}, D = {d}, {classes} classes) | median / batch_hard's |")
    print("|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {statistics.median(ts) / base:.2f} |")


if __name__ == "__main__":
    main()
