"""A NaN or an infinity in the predictions reaches the loss value the user logs.

Masks, clips and hinges written with `where` turn a NaN into a finite number; then the
logged loss looks fine while the weights become NaN. For every loss, loss function and
loss-carrying layer of tests/_contract_specs.py, one bad entry in the predictions (the
embeddings, the logits, the anchors) must give a non-finite reduced loss, eagerly and
inside a compiled function (jax.jit, tf.function with XLA; torch stays eager).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import _contract as c

BACKEND = keras.backend.backend()
BAD = {"nan": np.nan, "inf": np.inf}

# The metric functions compare scores with a threshold or rank them: they are not losses.
METRIC_FUNCTIONS = {
    "kerasloss>hamming_loss",
    "kerasloss>label_ranking_loss",
    "kerasloss>one_error",
    "kerasloss>coverage_error",
    "kerasloss>label_ranking_average_precision",
}
# Layers whose output is not a loss (a decision rule on scores).
NOT_A_LOSS = {"kerasloss>LinearThreshold"}
# Known today, fixed elsewhere: strict xfails, so a fix turns them red until removed.
KNOWN: dict[tuple[str, str], str] = {}
# An infinite logit is the limit of a confident score, whose loss is finite.
INF_IS_A_LIMIT = {"kerasloss>AsymmetricLoss"}


def _compiled(fn):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    return fn


def _poisoned(arrays, position, value):
    arrays = [np.array(a) for a in arrays]
    arrays[position][1, 0] = value
    return arrays


def _prediction_position(spec):
    """The data argument that holds the model's predictions."""
    names = list(spec.data_args)
    for name in ("y_pred", "anchor", "features", "a"):
        if name in names:
            return names.index(name)
    raise AssertionError(f"no prediction argument in {names}")


def _expect(request, spec, bad):
    if (spec.name, bad) in KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN[spec.name, bad]))
    if bad == "inf" and spec.name in INF_IS_A_LIMIT:
        pytest.skip("an infinite logit is the limit of a confident score: a finite loss")


def _assert_not_finite(value, what):
    value = np.asarray(c.np_(value), np.float64)
    assert not np.all(np.isfinite(value)), f"{what}: finite loss {value} from a bad input"


def _assert_visible(compute, what):
    """The loss is not finite, or (where values can be read: eagerly) a ValueError
    names the prediction: probabilities outside [0, 1] are refused before any loss."""
    try:
        value = compute()
    except ValueError as error:
        assert "`y_pred`" in str(error), error
        return
    _assert_not_finite(value, what)


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("spec", c.params("loss"))
def test_bad_prediction_reaches_the_reduced_loss(request, spec, compiled, bad):
    _expect(request, spec, bad)
    y_true, y_pred = _poisoned(spec.data(), 1, BAD[bad])
    loss = spec.build()
    fn = _compiled(loss) if compiled else loss
    _assert_visible(lambda: fn(y_true, y_pred), spec.id)


FUNCTION_SPECS = [p for p in c.params("function") if p.values[0].name not in METRIC_FUNCTIONS]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("spec", FUNCTION_SPECS)
def test_bad_prediction_reaches_the_function_mean(request, spec, compiled, bad):
    _expect(request, spec, bad)
    inputs = _poisoned(spec.data(), _prediction_position(spec), BAD[bad])
    fn = spec.obj

    def mean_loss(*args):
        values = fn(*args, **spec.kwargs)
        return ops.sum(values) / ops.cast(ops.size(values), values.dtype)

    run = _compiled(mean_loss) if compiled else mean_loss
    _assert_visible(lambda: run(*inputs), spec.id)


LAYER_SPECS = [p for p in c.params("layer") if p.values[0].name not in NOT_A_LOSS]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("spec", LAYER_SPECS)
def test_bad_embedding_reaches_the_layer_loss(spec, bad):
    """A layer's added losses (or its last output: the margin heads' logits, the centre
    loss) are not finite."""
    inputs = _poisoned(spec.data(), 0, BAD[bad])
    layer = spec.build()
    outputs = layer(inputs)
    if layer.losses:
        _assert_not_finite(sum(ops.sum(loss) for loss in layer.losses), spec.id)
    else:
        last = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
        _assert_not_finite(last, spec.id)
