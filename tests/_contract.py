"""The machinery of the contract tests: registry discovery, parameters, dtypes, policies."""

from __future__ import annotations

import contextlib
import inspect

import keras
import numpy as np
import pytest
from keras import ops

import kerasloss  # noqa: F401  (registers every object the contract discovers)
from _autodiff import float64_context
from _contract_specs import BATCH as B
from _contract_specs import SPECS

BACKEND = keras.backend.backend()
PREFIX = "kerasloss>"
KINDS = ("loss", "function", "layer", "metric")
POLICIES = ("mixed_float16", "mixed_bfloat16")
T = 3  # timesteps of the per-timestep case


def kind_of(obj) -> str | None:
    """ "loss", "metric", "layer" or "function"; None for anything else."""
    if isinstance(obj, type):
        for kind, base in (
            ("loss", keras.losses.Loss),
            ("metric", keras.metrics.Metric),
            ("layer", keras.layers.Layer),
        ):
            if issubclass(obj, base):
                return kind
        return None
    return "function" if inspect.isfunction(obj) else None


def registered() -> dict[str, object]:
    """Every object registered under the package name, by registered name."""
    return {
        name: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith(PREFIX)
    }


REGISTERED = registered()


def specs(kind: str):
    """The specs of the registered objects of one kind, in the order of SPECS."""
    return [s for s in SPECS if s.name in REGISTERED and kind_of(REGISTERED[s.name]) == kind]


def marks(spec, check: str):
    """The strict xfail or skip a spec declares for `check`, on every backend or on this one."""
    reason = spec.xfail.get(check) or spec.xfail.get(f"{check}:{BACKEND}")
    if reason:
        return [pytest.mark.xfail(strict=True, reason=reason)]
    reason = spec.skip.get(check) or spec.skip.get(f"{check}:{BACKEND}")
    return [pytest.mark.skip(reason=reason)] if reason else []


def declares(spec, check: str) -> bool:
    """Whether the spec expects `check` to fail or skips it here."""
    return bool(marks(spec, check))


def params(kind: str, check: str | None = None):
    """One pytest parameter per spec of `kind`, with the spec's marks for `check`."""
    return [pytest.param(s, id=s.id, marks=marks(s, check) if check else []) for s in specs(kind)]


def params_by(kind: str, checks):
    """One parameter per (spec, check), with that check's xfail."""
    return [
        pytest.param(s, c, id=f"{s.id}-{c}", marks=marks(s, c)) for s in specs(kind) for c in checks
    ]


def constructor_parameters(cls):
    """The parameters of `cls.__init__` a config must hold (not self, not **kwargs)."""
    return [
        p
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def assert_keyword_only(parameters, allowed_positional, owner):
    """Keyword-only, but for the names a spec declares positional (and those must be)."""
    positional = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional == list(allowed_positional), (
        f"{owner}: parameters {positional} can be given by position; the spec allows "
        f"{list(allowed_positional)}"
    )


# ---------------------------------------------------------------------------- dtypes

# Unit roundoff of the 16-bit output, the most a correct rounding can move a value, and
# half the spacing of float16's subnormals for values near 0.
ROUNDING = {"float16": (2.0**-11, 2.0**-25), "bfloat16": (2.0**-8, 2.0**-134)}


def np_(x):
    return ops.convert_to_numpy(x)


def to_float64(x):
    """A tensor as float64 NumPy (16-bit through float32, which NumPy may not know)."""
    if _is_16_bit(x):
        x = ops.cast(x, "float32")
    return np_(x).astype(np.float64)


def _is_16_bit(x):
    return keras.backend.standardize_dtype(x.dtype) in ROUNDING


def dtype_name(x) -> str:
    return keras.backend.standardize_dtype(x.dtype)


def cast_floats(arrays, dtype):
    """Floating arrays as backend tensors of `dtype`; integer arrays unchanged."""
    return tuple(
        ops.convert_to_tensor(a, dtype=dtype)
        if np.issubdtype(np.asarray(a).dtype, np.floating)
        # Integer labels stay NumPy: Keras and our functions convert them as they need.
        else a
        for a in arrays
    )


def rounded(arrays, dtype):
    """The arrays rounded to `dtype` and back to float32, as NumPy."""
    return tuple(
        np_(ops.cast(t, "float32")) if ops.is_tensor(t) else t for t in cast_floats(arrays, dtype)
    )


def dtype_context(dtype):
    return float64_context() if dtype == "float64" else contextlib.nullcontext()


def assert_16_bit_close(got, expected, dtype):
    """`got` is `expected` (float32) rounded to 16 bits: off by the output's rounding only."""
    rtol, atol = ROUNDING[dtype]
    # 2**-20: the loss's own float32 arithmetic may differ from `expected`'s in the last
    # bits and so round to the other neighbour; anything more is 16-bit arithmetic.
    np.testing.assert_allclose(
        to_float64(got), np.asarray(expected, np.float64), rtol=rtol + 2.0**-20, atol=atol
    )


def assert_float64_exact(got, spec, inputs, float32_values):
    """float64 output: against the NumPy reference, or else really computed in float64."""
    got = to_float64(got)
    if spec.reference is not None:
        expected = np.asarray(spec.reference(*inputs), np.float64)
        if expected.ndim == 0:  # the batch loss of a batch-coupled loss
            got = got.mean()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(got, float32_values, rtol=1e-5, atol=1e-6)
        assert np.any(got != np.asarray(float32_values, np.float64)), "computed in float32"


# ---------------------------------------------------------------------------- policies


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to `name` inside the block, restored after it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)


def compile_options():
    """A compiled train step: XLA on JAX and TensorFlow, the eager step on torch."""
    return {"jit_compile": BACKEND != "torch"}


def weights_changed(before, after):
    """Per weight of more than one entry (not a scalar such as a loss weight): changed?"""
    return [not np.array_equal(b, a) for b, a in zip(before, after, strict=True) if np.size(b) > 1]


# ---------------------------------------------------------------------------- models


def key(spec) -> str:
    """The spec's id as a Keras name (outputs, layers)."""
    return "".join(ch if ch.isalnum() else "_" for ch in spec.id).strip("_")


def _flat(prefix, value):
    if isinstance(value, dict):
        return {f"{prefix}__{k}": v for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return {f"{prefix}__{i}": v for i, v in enumerate(value)}
    return {prefix: value}


def combine(parts):
    """One model from several: `parts` maps a name to (model, loss, x, y).

    Each model becomes a nested layer of a model with all their inputs and outputs, so one
    compiled step trains them all (compiling once per model costs seconds each on XLA).
    Returns the combined model, its loss dict, x and y.
    """
    inputs, outputs, losses, xs, ys = {}, {}, {}, {}, {}
    for name, (model, loss, x, y) in parts.items():
        model_inputs = keras.tree.flatten(model.inputs)
        copies = [
            keras.Input(t.shape[1:], dtype=t.dtype, name=f"{name}__in{i}")
            for i, t in enumerate(model_inputs)
        ]
        x_flat = keras.tree.flatten(x)
        for copy, value in zip(copies, x_flat, strict=True):
            inputs[copy.name] = copy
            xs[copy.name] = value
        structured = copies[0] if len(copies) == 1 else copies
        outputs.update(_flat(name, model(structured)))
        for out_name, out_loss in _flat(name, loss).items():
            if out_loss is not None:
                losses[out_name] = out_loss
        if y is not None:
            ys.update({k: v for k, v in _flat(name, y).items() if k in losses})
    combined = keras.Model(inputs, outputs)
    paths = [v.path for v in combined.variables]
    shared = sorted({p for p in paths if paths.count(p) > 1})
    assert not shared, f"variables share a path (torch would mix their gradients): {shared}"
    return combined, losses, xs, ys


F = 6  # input features of the test models


def features(batch=B, seed=0):
    return np.random.default_rng(seed + 100).normal(size=(batch, F)).astype(np.float32)


def head_model(spec):
    """x (B, F) -> Dense -> y_pred of the spec's shape: a model to compile a loss or metric on."""
    y_pred = spec.data()[1]
    inputs = keras.Input((F,), name="x")
    # A path of its own per model: Keras' torch backend tracks variables by path, and
    # models combined into one whose variables share a path keep adding up gradients
    # across steps for all but one of them.
    with keras.name_scope(key(spec)):
        outputs = keras.layers.Dense(y_pred.shape[-1], activation=spec.head, name="head")(inputs)
    return keras.Model(inputs, outputs, name=key(spec))


def train_two_steps(parts):
    """Fits `combine(parts)` for two compiled steps.

    Returns the history and, per part, whether each weight of that part's model changed.
    """
    model, losses, x, y = combine(parts)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=losses or None, **compile_options())
    if BACKEND != "torch":
        assert model.jit_compile is True  # no silent fall-back to an uncompiled step
    before = {name: [np_(w) for w in part[0].weights] for name, part in parts.items()}
    history = model.fit(x, y or None, batch_size=B, epochs=2, verbose=0).history
    changed = {
        name: weights_changed(before[name], [np_(w) for w in part[0].weights])
        for name, part in parts.items()
    }
    return history, changed


def flat_arrays(x):
    """The arrays (or tensors) of a nested structure, as float64 NumPy, in order."""
    return [to_float64(ops.convert_to_tensor(t)) for t in keras.tree.flatten(x)]


def round_structure(x, dtype):
    """`x` with its floating arrays as `dtype` tensors, and rounded to `dtype` as float32."""
    flat = keras.tree.flatten(x)
    as_dtype = cast_floats(flat, dtype)
    as_float32 = rounded(flat, dtype)
    return keras.tree.pack_sequence_as(x, as_dtype), keras.tree.pack_sequence_as(x, as_float32)
