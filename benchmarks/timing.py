"""Forward + backward of one case, compiled the backend's way, timed and its memory measured.

- jax: `jax.jit(jax.value_and_grad(...))`; memory from XLA's memory analysis of the
  compiled step (temporaries + outputs) and, like every backend, the process's peak RSS.
- tensorflow: `tf.function(jit_compile=True)` around a `GradientTape`.
- torch: eager, and `torch.compile` for the cases of the ratio table when it compiles.

Time: the median of `repeats` calls after `warmup` calls (the first call compiles).
Peak RSS delta: after the warm-up, freed heap is returned to the system (`malloc_trim`),
the kernel's high-water mark is reset (`/proc/self/clear_refs`), and one more call is
run; the delta is VmHWM minus the resident size before that call. Allocators that keep
memory cached (XLA's, torch's) can make it an underestimate; it is indicative.
"""

from __future__ import annotations

import ctypes
import gc
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from benchmarks.cases import Case


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak() -> bool:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def available_bytes() -> int | None:
    """MemAvailable of /proc/meminfo, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            match = re.search(r"^MemAvailable:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def peak_rss_delta(call: Callable[[], Any]) -> int | None:
    """Bytes the process's peak resident size rose by during `call()`, or None if unknown."""
    if not _reset_peak():
        return None
    before = _status_kb("VmRSS")
    call()
    peak = _status_kb("VmHWM")
    if before is None or peak is None:
        return None
    return max(peak - before, 0) * 1024


class Step:
    """A compiled forward + backward of a case, callable without arguments."""

    memory_analysis: dict[str, int] | None = None

    def __call__(self) -> Any:
        raise NotImplementedError


def _jax_step(fn, inputs, wrt) -> Step:
    import jax

    arrays = {k: jax.numpy.asarray(v) for k, v in inputs.items()}
    diff = {k: arrays[k] for k in wrt}
    rest = {k: v for k, v in arrays.items() if k not in wrt}

    def loss(d, r):
        return fn({**r, **d})

    jitted = jax.jit(jax.value_and_grad(loss))
    # Compiled once, ahead of time: the same executable is timed and analysed.
    compiled = jitted.lower(diff, rest).compile()

    class JaxStep(Step):
        def __call__(self):
            return jax.block_until_ready(compiled(diff, rest))

    step = JaxStep()
    try:
        analysis = compiled.memory_analysis()
        step.memory_analysis = {
            "temp_bytes": int(analysis.temp_size_in_bytes),
            "output_bytes": int(analysis.output_size_in_bytes),
            "argument_bytes": int(analysis.argument_size_in_bytes),
        }
    except Exception:  # an older jaxlib, or no analysis on this platform
        step.memory_analysis = None
    return step


def _tf_step(fn, inputs, wrt) -> Step:
    import tensorflow as tf

    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    diff = [tensors[k] for k in wrt]
    rest = {k: v for k, v in tensors.items() if k not in wrt}

    @tf.function(jit_compile=True)
    def compiled(diff, rest):
        with tf.GradientTape() as tape:
            tape.watch(diff)
            value = fn({**rest, **dict(zip(wrt, diff, strict=True))})
        return value, tape.gradient(value, diff)

    class TfStep(Step):
        def __call__(self):
            value, grads = compiled(diff, rest)
            return value.numpy(), [g.numpy() for g in grads]

    return TfStep()


def _torch_step(fn, inputs, wrt, compile_: bool) -> Step:
    import torch

    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inputs.items()}
    for k in wrt:
        tensors[k].requires_grad_(True)
    body = torch.compile(fn) if compile_ else fn

    class TorchStep(Step):
        def __call__(self):
            for k in wrt:
                tensors[k].grad = None
            value = body(tensors)
            value.backward()
            return value.detach()

    return TorchStep()


def make_step(backend: str, case: Case, rng: np.random.Generator, mode: str) -> Step:
    inputs, wrt, fn = case.build(rng)
    if backend == "jax":
        return _jax_step(fn, inputs, wrt)
    if backend == "tensorflow":
        return _tf_step(fn, inputs, wrt)
    if backend == "torch":
        return _torch_step(fn, inputs, wrt, compile_=mode == "torch.compile")
    raise ValueError(f"unknown backend {backend!r}")


def run_case(
    backend: str, case: Case, *, mode: str, warmup: int, repeats: int, budget: float
) -> dict[str, Any]:
    """Times one case; returns its record for results.json (with `error` if it failed)."""
    record: dict[str, Any] = {
        "name": case.name,
        "group": case.group,
        "kind": case.kind,
        "sizes": dict(case.sizes),
        "mode": mode,
        "headline": case.headline,
    }
    rng = np.random.default_rng(0)
    available = available_bytes()
    if case.cubic_bytes and available is not None and case.cubic_bytes > available // 2:
        # On a shared machine a reference that does not fit would take others down with it.
        record["error"] = (
            f"skipped: needs about {case.cubic_bytes / 2**30:.1f} GiB, "
            f"{available / 2**30:.1f} GiB available"
        )
        return record
    try:
        start = time.perf_counter()
        step = make_step(backend, case, rng, mode)
        step()
        record["build_and_first_call_s"] = time.perf_counter() - start
        for _ in range(max(warmup - 1, 0)):
            step()
        record["peak_rss_delta_bytes"] = peak_rss_delta(step)
        if step.memory_analysis is not None:
            record["xla_memory"] = step.memory_analysis
        times: list[float] = []
        spent = 0.0
        # At least `min(3, repeats)` repeats; fewer than `repeats` once `budget` seconds are spent.
        while len(times) < repeats and (len(times) < min(3, repeats) or spent < budget):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
            spent += times[-1]
        record["times_s"] = times
        record["median_s"] = statistics.median(times)
        record["min_s"] = min(times)
        record["repeats"] = len(times)
    except Exception as error:  # the run goes on; the record says why this case has no time
        record["error"] = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}"
    finally:
        keras.backend.clear_session()
        gc.collect()
    return record
