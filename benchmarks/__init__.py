"""Timing and memory benchmarks of kerasloss against Keras' built-in losses and references.

Run one backend at a time, in a process whose `KERAS_BACKEND` is that backend:

    KERAS_BACKEND=jax python -m benchmarks --backend jax --out bench-results/jax

or every backend through nox (`nox -s "bench(jax)"`, ...). The cases live in
`benchmarks.cases`, the timing loop in `benchmarks.timing`, the `model.fit` steps in
`benchmarks.fit` and the figures in `benchmarks.plot`.
"""
