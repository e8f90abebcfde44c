"""What the property, stress and mixed-precision tests know about each spec's inputs.

A spec (tests/_contract_specs.py) gives valid data; the robustness tests also need to
know what each array *is* to break it on purpose: class ids with a range, labels of
0 and 1, free group labels, logits, probabilities, embeddings. `roles(spec)` says it,
one role per input array, from the spec's input generator (or, for layers, its name).
"""

from __future__ import annotations

import re

import keras
import numpy as np
from keras import ops

import _contract as c
from _contract_specs import SPECS

# The role of each array an input generator returns, in order.
#   ids: class ids in [0, C); groups: any integer label (metric learning);
#   labels01: one-hot or multi-hot targets in {0, 1}; packed: labels then cost tables;
#   logits, probs, tanh: scores; emb: embeddings; sims: a similarity matrix;
#   real: regression targets or predictions; centers: a (C, D) table of centres.
ROLES = {
    "_onehot_and_logits": ("labels01", "logits"),
    "_softmax_outputs": ("labels01", "probs"),
    "_multi_hot_and_scores": ("labels01", "logits"),
    "_tanh_scores": ("labels01", "tanh"),
    "_packed_costs": ("packed", "logits"),
    "_labelled_embeddings": ("groups", "emb"),
    "_triplets": ("emb", "emb", "emb"),
    "_center_data": ("emb", "ids", "centers"),
    "_per_sample_values": ("groups", "real"),
    "_ids_and_logits": ("ids", "logits"),
    "_ids_some_ignored_and_logits": ("ids", "logits"),
    "_ids_some_ignored_and_softmax": ("ids", "probs"),
    "_pair_labels_and_similarities": ("groups", "sims"),
    "_pair_multi_hot_and_similarities": ("labels01", "sims"),
    "_quantile_targets": ("real", "real"),
    "_regression_targets": ("real", "real"),
    "_two_towers": ("emb", "emb"),
    "_labels_embeddings_proxies": ("ids", "emb", "centers"),
}
# Layers: their call inputs, by registered name.
LAYER_ROLES = {
    "CenterLoss": ("emb", "ids"),
    "ArcFace": ("emb", "ids"),
    "CosFace": ("emb", "ids"),
    "SphereFace": ("emb", "ids"),
    "TripletMarginLossLayer": ("emb", "emb", "emb"),
    "CLIPLoss": ("emb", "emb"),
    "SigLIPLoss": ("emb", "emb"),
    "LinearThreshold": ("logits",),
    "CrossBatchMemory": ("emb", "groups"),
    "ProxyAnchor": ("emb", "ids"),
    "ProxyNCA": ("emb", "ids"),
    "SubCenterArcFace": ("emb", "ids"),
}
SCORES = {"logits", "probs", "tanh", "sims", "real", "emb"}
# What a message about our own input checks must never read like: the backend's words.
BACKEND_TEXT = re.compile(
    r"tensorflow|\bjax\b|jnp\.|\btorch\b|xla|traceback|\{\{function_node|INVALID_ARGUMENT|"
    r"Incompatible shapes|dot_general|Dimensions must be equal|size of tensor",
    re.IGNORECASE,
)


def kind(spec) -> str:
    return c.kind_of(spec.obj)


def short(spec) -> str:
    return spec.name.split(">", 1)[1]


def roles(spec) -> tuple[str, ...]:
    if kind(spec) == "layer":
        return LAYER_ROLES[short(spec)]
    return ROLES[spec.inputs.__name__]


def arg_names(spec) -> tuple[str, ...]:
    """The names a message about the i-th input may use."""
    if kind(spec) == "layer":
        return ("inputs", "embeddings", "labels", "anchor", "positive", "negative", "a", "b")
    return spec.data_args


def as_list(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def as_spec_inputs(spec, arrays):
    """Arrays back in the structure the spec's generator returns."""
    if kind(spec) == "layer" and short(spec) == "LinearThreshold":
        return arrays[0]
    return list(arrays) if kind(spec) == "layer" else tuple(arrays)


def num_classes(spec, arrays) -> int | None:
    """The C of class ids: the logits' width, the centres' rows or `num_classes`."""
    if "num_classes" in spec.kwargs:
        return int(spec.kwargs["num_classes"])
    r = roles(spec)
    if "centers" in r:
        return arrays[r.index("centers")].shape[0]
    if "ids" in r and kind(spec) != "layer":
        return arrays[1].shape[-1]
    return None


def evaluate(spec, inputs, *, reduction=None, dtype=None):
    """The spec's object applied to `inputs`, as a list of float64 NumPy arrays.

    Losses: the per-sample values (reduction None) or the reduced value; functions: their
    values; metrics: the result after one update; layers: their outputs and added losses.
    `dtype`, if given, is the dtype a loss class is built with (Keras computes a loss in
    its own dtype, whatever the inputs' dtype).
    """
    k = kind(spec)
    if k == "loss":
        extra = {} if dtype is None else {"dtype": dtype}
        out = [spec.build(reduction=reduction, **extra)(*inputs)]
    elif k == "function":
        out = [spec.obj(*inputs, **spec.kwargs)]
    elif k == "metric":
        metric = spec.build()
        metric.update_state(*inputs)
        out = [metric.result()]
    else:
        layer = spec.build()
        out = [*keras.tree.flatten(layer(inputs)), *layer.losses]
    return [c.to_float64(ops.convert_to_tensor(v)) for v in out]


def reference(spec, inputs):
    """The NumPy reference of `evaluate(spec, inputs)[0]`, or None where there is none.

    Per sample (B,) for per-sample losses, a scalar for batch losses and metrics.
    """
    if kind(spec) == "metric":
        fn = _metric_function(spec)
        if fn is None or fn.reference is None:
            return None
        return np.mean(fn.reference(*inputs))
    if spec.reference is None:
        return None
    return np.asarray(spec.reference(*inputs), np.float64)


def _metric_function(spec):
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", short(spec)).lower()
    for other in SPECS:
        if other.name == f"kerasloss>{snake}" and dict(other.kwargs) == dict(spec.kwargs):
            return other
    return None


def compare(spec, got, expected, *, rtol=1e-5, atol=1e-6):
    """`got` (from `evaluate`) against `reference`: per sample, or its mean for a batch loss."""
    got = np.asarray(got, np.float64)
    expected = np.asarray(expected, np.float64)
    if expected.ndim == 0 and got.ndim > 0:
        got = got.mean() if got.size else np.float64(np.nan)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def assert_clean_error(excinfo, spec, *, about=None):
    """A ValueError/TypeError of ours: names an argument and a shape or range, no backend text."""
    # Keras wraps an error raised inside a layer's call in its own text, then lists the
    # arguments (tensors, printed by the backend): the message of ours is in between.
    message = str(excinfo.value).split("Arguments received by")[0]
    assert excinfo.type in (ValueError, TypeError), f"{excinfo.type.__name__}: {message}"
    assert not BACKEND_TEXT.search(message), f"backend text in: {message}"
    names = about or arg_names(spec)
    assert any(re.search(rf"\b{re.escape(n)}\b", message) for n in names), (
        f"names none of {names}: {message}"
    )
    assert re.search(r"shape|rank|dimension|axis|range|\(|\[|\d", message), (
        f"no shape or range in: {message}"
    )
