"""Mixed precision beyond the contract: training under a 16-bit policy, and gradients at the edges.

The contract (tests/test_contract_*.py) checks each loss's and layer's *values* under
`mixed_float16` and `mixed_bfloat16` and a two-step float32 train step. Here:

- every loss and every layer trains under each mixed policy (`mixed_float16` with Keras'
  `LossScaleOptimizer`): the loss falls and stays finite (slow: one model per policy
  holds them all, so one compilation);
- the gradient of every loss function with respect to 16-bit predictions is finite at
  extreme logits (±1e4) and extreme embeddings (far apart, or all at one point), except
  where the true gradient is past float16's range (BP-MLL at gaps of 80): there it is
  the float32 gradient rounded to float16, inf of the right sign, never NaN.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import _contract as c
import _robust as r
import kerasloss
from _contract_specs import SPECS

pytestmark = pytest.mark.properties

# One step per epoch (the data is one batch). Under `mixed_float16` Keras' dynamic loss
# scaling starts at 2^15 and skips the first steps, whose scaled float16 gradients
# overflow, halving the scale each time: about three here. The other steps train.
EPOCHS = 10
MIN_APPLIED_STEPS = 4
# "The loss falls": by more than this fraction of its first value (or of 1, if smaller).
MARGIN = 0.002


def _optimizer(policy):
    adam = keras.optimizers.Adam(0.02)
    return keras.optimizers.LossScaleOptimizer(adam) if policy == "mixed_float16" else adam


def _parts():
    """Per spec: (model, loss, x, y), each model's variables under a path of its own.

    Every head model has a Dense layer named "head". Keras' torch backend registers a
    model's variables with torch by path, so of variables that share a path only one is
    registered and has its gradient reset before each step: the others would add up
    their gradients over the steps (and keep an overflowed float16 gradient forever,
    so that the loss scaling skips every step). A name scope per part keeps paths apart.
    """
    parts = {}
    for spec in c.specs("loss"):
        with keras.name_scope(c.key(spec)):
            parts[c.key(spec)] = (c.head_model(spec), spec.build(), c.features(), spec.data()[0])
    for spec in c.specs("layer"):
        inputs = spec.data()
        with keras.name_scope(c.key(spec)):
            model = spec.model(spec.build())
        parts[c.key(spec)] = (
            model,
            spec.loss() if spec.loss else None,
            inputs,
            spec.target(inputs) if spec.target else None,
        )
    return parts


def _fell(values):
    return values[0] - values[-1] > MARGIN * max(1.0, abs(values[0]))


@pytest.mark.slow
@pytest.mark.parametrize("policy", c.POLICIES)
def test_every_loss_and_layer_trains_under_a_mixed_policy(policy):
    keras.utils.set_random_seed(0)
    with c.dtype_policy(policy):
        parts = _parts()
        model, losses, x, y = c.combine(parts)
        paths = [v.path for v in model.variables]
        assert len(paths) == len(set(paths)), "two variables share a path"
        optimizer = _optimizer(policy)
        model.compile(optimizer=optimizer, loss=losses, **c.compile_options())
        before = {k: [c.np_(w) for w in p[0].weights] for k, p in parts.items()}
        # No shuffling: a similarity-matrix head (N-pairs) predicts one column per row of
        # the batch, so its loss depends on the order of the rows.
        history = model.fit(x, y, batch_size=c.B, epochs=EPOCHS, shuffle=False, verbose=0).history
    applied = int(c.np_(optimizer.iterations))
    assert applied >= MIN_APPLIED_STEPS, f"{applied} of {EPOCHS} steps applied"
    assert np.all(np.isfinite(history["loss"])), history["loss"]
    assert _fell(history["loss"]), history["loss"]
    for name in losses:  # every loss, and the compiled losses of the layers
        per_loss = history[f"{name}_loss"]
        assert np.all(np.isfinite(per_loss)), (name, per_loss)
        assert _fell(per_loss), (name, per_loss)
    for key, part in parts.items():
        after = [c.np_(w) for w in part[0].weights]
        assert any(c.weights_changed(before[key], after)), f"{key}: no weight changed"
        assert all(np.all(np.isfinite(w)) for w in after), f"{key}: a weight is not finite"


# ------------------------------------------------------------------------ gradients


def gradient_16_bit(fn, x, dtype):
    """d sum(fn(x)) / dx for a 16-bit x, as float32 NumPy, by the backend's autodiff."""
    x = np.asarray(x, np.float32)
    if c.BACKEND == "jax":
        import jax

        value = jax.numpy.asarray(x, dtype=dtype)
        # Compiled: one compilation per case instead of one per operation. The gradient
        # leaves the compiled function in `dtype`, so its rounding is not elided.
        grad = jax.jit(jax.grad(lambda v: ops.sum(ops.cast(fn(v), "float32"))))(value)
        return np.asarray(grad).astype(np.float32)
    if c.BACKEND == "tensorflow":
        import tensorflow as tf

        value = tf.Variable(tf.cast(x, dtype))
        with tf.GradientTape() as tape:
            y = ops.sum(ops.cast(fn(value), "float32"))
        return tf.cast(tape.gradient(y, value), "float32").numpy()
    import torch

    value = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    ops.sum(ops.cast(fn(value), "float32")).backward()
    return value.grad.float().numpy()


EDGES = {
    "logits": ("±1e4", lambda a, rng: np.sign(a + 1e-3) * 1e4),
    "logits40": ("±40", lambda a, rng: np.sign(a + 1e-3) * 40.0),
    "sims": ("±1e4", lambda a, rng: np.sign(a + 1e-3) * 1e4),
    "emb": ("far apart (x300)", lambda a, rng: a * 300.0),
    "emb_same": ("all at one point", lambda a, rng: np.broadcast_to(a[:1], a.shape)),
    "real": ("±1e4", lambda a, rng: a * 1e4),
}


BPMLL_RANGE = (
    "BP-MLL sums exp(score gaps): at gaps of 2e4 the loss itself is e^20000, beyond every "
    "float type; its scores are tanh outputs in [-1, 1] (±40 is checked)"
)
BPMLL_FLOAT16 = (
    "BP-MLL's gradient at gaps of 80 is e^80, beyond float16: "
    "test_bpmll_float16_is_the_float32_result_rounded pins what float16 gives"
)


def _edge_cases():
    out = []
    for spec in SPECS:
        if r.kind(spec) != "function" or spec.obj.__module__.startswith("kerasloss.metrics"):
            continue  # a metric has no gradient
        roles = r.roles(spec)
        pred = next((i for i, role in enumerate(roles) if role in EDGES), None)
        if pred is None:
            continue
        edges = {"emb": ["emb", "emb_same"], "logits": ["logits", "logits40"]}.get(
            roles[pred], [roles[pred]]
        )
        for edge in edges:
            for dtype in ("float16", "bfloat16"):
                marks = []
                if spec.id == "bpmll_loss" and edge == "logits":
                    marks = [pytest.mark.skip(reason=BPMLL_RANGE)]
                if spec.id == "bpmll_loss" and edge == "logits40" and dtype == "float16":
                    marks = [pytest.mark.skip(reason=BPMLL_FLOAT16)]
                out.append(
                    pytest.param(
                        spec, pred, edge, dtype, id=f"{spec.id}-{edge}-{dtype}", marks=marks
                    )
                )
    return out


@pytest.mark.parametrize(("spec", "index", "edge", "dtype"), _edge_cases())
def test_gradients_are_finite_at_extreme_inputs(spec, index, edge, dtype):
    arrays = [np.asarray(a) for a in spec.data(batch=8)]
    rng = np.random.default_rng(0)
    arrays[index] = np.asarray(EDGES[edge][1](arrays[index], rng), np.float32)
    fn = spec.obj

    def loss(v):
        inputs = list(arrays)
        inputs[index] = v
        return fn(*inputs, **spec.kwargs)

    grad = gradient_16_bit(loss, arrays[index], dtype)
    assert np.all(np.isfinite(grad)), f"{EDGES[edge][0]}: {grad}"


FLOAT16_LARGEST = 65504.0


@pytest.mark.parametrize("score", [5.0, 40.0])
def test_bpmll_float16_is_the_float32_result_rounded(score):
    """BP-MLL with float16 scores of ±score: the float32 loss and gradient, rounded once.

    Its loss and gradient grow as exp(score gap): finite in float16 for gaps up to about
    11 (e^10 = 22026 at ±5), beyond it at ±40 (e^80 = 5.5e34). Rounded once, the number
    past float16's range is inf of the right sign (so Keras' loss scaling skips the step
    and `TerminateOnNaN` or the user sees it), never NaN and never a finite wrong number;
    every other entry is the float32 value. Under a mixed policy the `BPMLLLoss` class
    computes in float32, its dtype (Keras' losses compute in `floatx()`, whatever the
    policy), so its value stays finite; the gradient that reaches a float16 layer cannot.
    """
    spec = next(s for s in SPECS if s.id == "bpmll_loss")
    y_true, scores = (np.asarray(a) for a in spec.data(batch=8))
    scores = (np.sign(scores + 1e-3) * score).astype(np.float32)

    def loss(v):
        return kerasloss.bpmll_loss(y_true, v)

    grad32 = gradient_16_bit(loss, scores, "float32")
    grad16 = gradient_16_bit(loss, scores, "float16")
    loss32 = c.np_(loss(ops.convert_to_tensor(scores)))
    value16 = loss(ops.convert_to_tensor(scores, "float16"))
    assert c.dtype_name(value16) == "float16"
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(c.np_(value16), loss32.astype(np.float16))
    past = np.abs(grad32) > FLOAT16_LARGEST
    assert past.any() == (score == 40.0), grad32
    assert not np.isnan(grad16).any(), grad16
    np.testing.assert_array_equal(grad16[past], np.sign(grad32[past]) * np.inf)
    np.testing.assert_allclose(grad16[~past], grad32[~past], rtol=2.0**-10, atol=2.0**-24)

    with c.dtype_policy("mixed_float16"):
        loss_class = kerasloss.BPMLLLoss(reduction=None)
        value = loss_class(y_true, ops.convert_to_tensor(scores, "float16"))
    assert loss_class.dtype == "float32"
    assert c.dtype_name(value) == "float32"
    np.testing.assert_allclose(c.np_(value), loss32, rtol=1e-6)
    assert np.all(np.isfinite(c.np_(value)))
