"""Random configurations against the NumPy references: no crash, no NaN, the reference's values.

Each configuration draws a loss (or a multi-label metric function), its hyper-parameters,
the batch size and the number of classes or the embedding size (each from a short list,
so that JAX compiles each operation for a few shapes only), the float dtype
(float32, float64, float16 or bfloat16), the label dtype, and the function or its Loss
class with a random reduction and, for a loss that does not couple the batch, random
sample weights half the time. Inputs are finite, so every value must be finite and equal
the NumPy reference (tests/_reference*.py) of the same inputs, rounded to the dtype first.

`KERASLOSS_STRESS_CONFIGS` sets how many (default 200, 50 on JAX: the CI run);
`nox -s "stress(jax)"` runs 10,000 per backend. `KERASLOSS_STRESS_SEED` picks another
set (default 0). A failure lists the first failing configurations with their index;
`python tests/test_stress.py INDEX...` (with PYTHONPATH and KERAS_BACKEND set as for
pytest) prints and checks those configurations alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import traceback
from collections.abc import Callable

import keras
import ml_dtypes  # a dependency of Keras: NumPy's bfloat16
import numpy as np

import _reference as ref
import _reference_asl as ref_asl
import _reference_focal as rf
import _reference_pairs as pair_ref
import _reference_pinball_kappa as ref_pk
import _reference_proxy as ref_proxy
import _reference_self_supervised as ref_ssl
import _reference_sparse as sparse_ref
import _reference_sparsemax as ref_sparsemax
import _reference_two_tower as rt
import kerasloss  # noqa: F401  (registers the losses looked up by name)
from _autodiff import float64_context

# The CI run: 200 configurations, 50 on JAX, where each configuration's first shapes and
# dtypes cost XLA compilations (~1 s of CPU per configuration in the first hundreds,
# against ~25 ms on TensorFlow and torch).
_CI_COUNT = "50" if keras.backend.backend() == "jax" else "200"
COUNT = int(os.environ.get("KERASLOSS_STRESS_CONFIGS", _CI_COUNT))
SEED = int(os.environ.get("KERASLOSS_STRESS_SEED", "0"))
REDUCTIONS = (None, "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")
# Short lists: on JAX, each new shape (and dtype) costs an XLA compilation of every
# operation a loss runs, ~0.1 s each, which dominated the run when batches of 1 to 12
# and widths of 2 to 6 were drawn; once compiled for a shape, a configuration runs in
# ~10 ms. B = 1 and B = 2 are the edge cases (one sample, one pair); 8 holds several
# samples of a class. A width of 2 is the binary edge.
BATCHES = (1, 2, 8)
WIDTHS = (2, 5)  # classes, labels, quantiles or embedding size
DTYPES = ("float32", "float64", "float16", "bfloat16")
HALF = {"float16": 2.0**-11, "bfloat16": 2.0**-8}  # relative rounding of a 16-bit result
LARGEST = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38}


# ------------------------------------------------------------------------ inputs
# A maker takes (rng, batch, width) and returns the inputs as float64 or integer NumPy.


def _logits(rng, b, c):
    return rng.normal(scale=rng.choice([0.3, 2.0, 8.0]), size=(b, c))


def onehot_logits(rng, b, c):
    ids = rng.integers(0, c, size=b)
    return np.eye(c)[ids], _logits(rng, b, c)


def multihot_logits(rng, b, c):
    return (rng.uniform(size=(b, c)) < 0.4).astype(float), _logits(rng, b, c)


def ids_logits(rng, b, c):
    return rng.integers(0, c, size=b), _logits(rng, b, c)


def ids_some_ignored_logits(rng, b, c):
    ids, logits = ids_logits(rng, b, c)
    return np.where(rng.uniform(size=b) < 0.25, IGNORED, ids), logits


def groups_embeddings(rng, b, d):
    groups = rng.integers(1, 4)
    return rng.integers(0, groups, size=b), rng.normal(size=(b, d))


def three_embeddings(rng, b, d):
    return tuple(rng.normal(size=(b, d)) for _ in range(3))


def two_towers(rng, b, d):
    a = rng.normal(size=(b, d))
    return a, a + rng.uniform(0.1, 2.0) * rng.normal(size=(b, d))


def quantiles(rng, b, q):
    return rng.normal(size=(b, 1)), rng.normal(size=(b, q))


def onehot_probabilities(rng, b, c):
    y, z = onehot_logits(rng, b, c)
    return y, ref.softmax(z)


def pair_ids_similarities(rng, b, _):
    return rng.integers(0, 4, size=b), rng.normal(scale=2.0, size=(b, b))


def pair_multihot_similarities(rng, b, c):
    multi_hot = (rng.uniform(size=(b, c)) < 0.4).astype(float)
    multi_hot[np.arange(b), rng.integers(0, c, size=b)] = 1.0  # one label at least
    return multi_hot, rng.normal(scale=2.0, size=(b, b))


def center_data(rng, b, d):
    classes = int(rng.integers(1, 5))
    return rng.normal(size=(b, d)), rng.integers(0, classes, size=b), rng.normal(size=(classes, d))


def labels_embeddings_proxies(rng, b, d):
    classes = int(rng.integers(2, 5))
    labels = rng.integers(0, classes, size=b)
    return labels, rng.normal(size=(b, d)), rng.normal(size=(classes, d))


def packed_tables(rng, b, c):
    """One-hot labels packed with one (C, C) cost table per example, in the layout that
    `pack_example_costs` documents (the labels, then the table row by row); the logits."""
    y, z = onehot_logits(rng, b, c)
    tables = rng.uniform(0.0, 3.0, size=(b, c, c)).round(2)
    return np.concatenate([y, tables.reshape(b, c * c)], axis=1), z


IGNORED = -1  # the `ignore_class` of the sparse losses, when they draw one


# ------------------------------------------------------------------------ hyper-parameters
# A sampler takes (rng, width, dtype) and returns (kwargs, reference kwargs).


def _cost(rng, c):
    return rng.uniform(0.0, 3.0, size=(c, c)).round(2)


def _distance(rng):
    return str(rng.choice(["euclidean", "squared_euclidean", "cosine"]))


def _logits_or_probabilities(rng, dtype):
    # 16-bit probabilities are clipped at their own gap below 1 (test_geometry.py), the
    # references at Keras' 1e-7: from logits only.
    return dtype in HALF or bool(rng.integers(2))


def _csc(rng, c, dtype):
    table, logits = _cost(rng, c), _logits_or_probabilities(rng, dtype)
    return {"cost_matrix": table, "from_logits": logits}, {"cost": table, "from_logits": logits}


def _smoothing(rng, c, dtype):
    kw = {
        "epsilon": float(rng.uniform(0, 0.9)),
        "from_logits": _logits_or_probabilities(rng, dtype),
    }
    return kw, kw


def _binary_focal(rng, c, dtype):
    alpha = None if rng.integers(2) else float(rng.uniform(0.05, 0.95))
    kw = {"gamma": float(rng.uniform(0, 4)), "alpha": alpha, "from_logits": True}
    if rng.integers(2):
        return kw, {**kw, "label_smoothing": 0.0}
    smoothing = float(rng.uniform(0, 0.3))
    return {**kw, "label_smoothing": smoothing}, {**kw, "label_smoothing": smoothing}


def _categorical_focal(rng, c, dtype):
    alpha = None if rng.integers(2) else list(rng.uniform(0.1, 2.0, size=c).round(2))
    kw = {"gamma": float(rng.uniform(0, 4)), "alpha": alpha}
    kw["label_smoothing"] = float(rng.uniform(0, 0.3))
    kw["from_logits"] = _logits_or_probabilities(rng, dtype)
    return kw, kw


def _sparse_focal(rng, c, dtype):
    alpha = float(rng.uniform(0.1, 2.0)) if rng.integers(2) else list(rng.uniform(0.1, 2.0, c))
    kw = {
        "gamma": float(rng.uniform(0, 4)),
        "alpha": None if rng.integers(3) == 0 else alpha,
        "label_smoothing": float(rng.uniform(0, 0.3)),
        "from_logits": True,
    }
    return {**kw, "ignore_class": IGNORED}, {**kw, "ignore_class": IGNORED}


def _poly1(rng, c, dtype):
    kw = {"epsilon": float(rng.uniform(-1, 4)), "from_logits": True}
    return kw, kw


def _asl(rng, c, dtype):
    kw = {
        "gamma_pos": float(rng.uniform(0, 2)),
        "gamma_neg": float(rng.uniform(0, 5)),
        "clip": float(rng.choice([0.0, 0.05, 0.2])),
    }
    return kw, {**kw, "from_logits": True}


def _tau(rng, q, dtype):
    tau = float(rng.uniform(0.05, 0.95)) if rng.integers(2) else list(rng.uniform(0.05, 0.95, q))
    return {"tau": tau}, {"tau": tau}


def _triplet(rng, _, dtype):
    kw = {
        "margin": float(rng.uniform(0.0, 2.0)),
        "distance": _distance(rng),
        "mining": str(rng.choice(["batch_all", "batch_hard", "semi_hard"])),
    }
    if kw["mining"] == "batch_hard" and rng.integers(2):
        kw["soft"] = True
    return kw, kw


def _triplet_margin(rng, _, dtype):
    kw = {"margin": float(rng.uniform(0.0, 2.0)), "distance": _distance(rng)}
    return kw, kw


def _contrastive(rng, _, dtype):
    kw = {
        "pos_margin": float(rng.uniform(0, 0.5)),
        "neg_margin": float(rng.uniform(0.5, 2.0)),
        "distance": _distance(rng),
    }
    return kw, kw


def _multi_similarity(rng, _, dtype):
    alpha, beta, base = (
        float(rng.uniform(0.5, 4)),
        float(rng.uniform(5, 60)),
        float(rng.uniform(0, 1)),
    )
    epsilon = None if rng.integers(2) else float(rng.uniform(0, 0.5))
    kw = {"alpha": alpha, "beta": beta, "base": base, "mining_epsilon": epsilon}
    return kw, {"alpha": alpha, "beta": beta, "base": base, "epsilon": epsilon}


def _lifted(rng, _, dtype):
    kw = {
        "pos_margin": float(rng.uniform(0, 1)),
        "neg_margin": float(rng.uniform(0, 3)),
        "distance": _distance(rng),
    }
    return kw, kw


def _temperature(rng, _, dtype):
    t = float(rng.uniform(0.05, 1.0))
    return {"temperature": t}, {"t": t}


def _clip(rng, _, dtype):
    s = float(rng.uniform(1, 30))
    return {"logit_scale": s}, {"logit_scale": s}


def _siglip(rng, _, dtype):
    s, b = float(rng.uniform(1, 30)), float(rng.uniform(-10, 0))
    return {"logit_scale": s, "logit_bias": b}, {"logit_scale": s, "logit_bias": b}


def _kappa(rng, c, dtype):
    weightage = str(rng.choice(["linear", "quadratic"]))
    epsilon = float(rng.choice([1e-6, 1e-3, 0.1]))
    return (
        {"num_classes": c, "weightage": weightage, "epsilon": epsilon},
        {"weightage": weightage, "epsilon": epsilon},
    )


def _proxy_anchor(rng, _, dtype):
    kw = {"margin": float(rng.uniform(0, 0.5)), "alpha": float(rng.uniform(1, 40))}
    return kw, kw


def _proxy_nca(rng, _, dtype):
    kw = {"softmax_scale": float(rng.uniform(0.25, 10))}
    return kw, kw


def _hamming(rng, _, dtype):
    kw = {"threshold": float(rng.uniform(-1, 1))}
    return kw, kw


def _none(rng, _, dtype):
    return {}, {}


def _sparse_csc(rng, c, dtype):
    table = _cost(rng, c)
    kw = {"from_logits": True, "ignore_class": IGNORED}
    return {**kw, "cost_matrix": table}, {**kw, "cost": table}


def _sparse_smoothing(rng, c, dtype):
    kw = {"epsilon": float(rng.uniform(0, 0.9)), "from_logits": True, "ignore_class": IGNORED}
    return kw, kw


# ------------------------------------------------------------------------ references
# Adapters to the references' signatures; every value comes from tests/_reference*.py.


def _packed_reference(packed, z):
    c = np.shape(z)[-1]
    tables = np.asarray(packed)[:, c:].reshape(-1, c, c)
    return ref.cost_sensitive(packed[:, :c], z, tables, from_logits=True)


def _packed(rng, c, dtype):
    return {"from_logits": True}, {}


def _sklearn_per_row(metric):
    """A scikit-learn ranking metric applied to each row on its own: per-example values."""

    def per_row(y, p):
        from sklearn import metrics as skm

        fn = getattr(skm, metric)
        return np.array([fn(y[i : i + 1], p[i : i + 1]) for i in range(len(y))], np.float64)

    return per_row


def _hamming_reference(y, p, threshold):
    return np.mean(np.asarray(y) != (np.asarray(p) > threshold), axis=-1, dtype=np.float64)


# ------------------------------------------------------------------------ families


@dataclasses.dataclass(frozen=True)
class Family:
    """How to draw and check one registered function (and its Loss class, if any).

    `roles` gives each input's kind: "y" labels (0/1 indicators, float or integer), "i"
    integer ids, "x" floats of the configuration's dtype. `coupled`: one sample's value
    depends on the batch; the reference is the batch loss. `metric`: the values are
    float32 whatever the inputs' dtype. `ignored`: ids equal to `ignore_class` are left
    out of the class's mean.
    """

    make: Callable
    sample: Callable
    reference: Callable
    cls: str | None = None
    roles: str = "yx"
    coupled: bool = False
    metric: bool = False
    ignored: bool = False
    # The function's name when the key of FAMILIES is a variant of it.
    function: str | None = None
    # Sample weights make sense (per-example cost tables warn: Keras' class weights
    # would read the packed targets).
    weights: bool = True


FAMILIES = {
    "cost_sensitive_crossentropy": Family(
        onehot_logits, _csc, ref.cost_sensitive, "CostSensitiveCrossentropy"
    ),
    "cost_sensitive_crossentropy[per_example]": Family(
        packed_tables,
        _packed,
        _packed_reference,
        "CostSensitiveCrossentropy",
        roles="xx",
        function="cost_sensitive_crossentropy",
        weights=False,
    ),
    "label_smoothing_crossentropy": Family(
        onehot_logits, _smoothing, ref.label_smoothing, "LabelSmoothingCrossentropy"
    ),
    "binary_focal_loss": Family(
        multihot_logits, _binary_focal, rf.binary_focal_smoothed, "BinaryFocalLoss"
    ),
    "categorical_focal_loss": Family(
        onehot_logits, _categorical_focal, rf.categorical_focal, "CategoricalFocalLoss"
    ),
    "sparse_categorical_focal_loss": Family(
        ids_some_ignored_logits,
        _sparse_focal,
        rf.sparse_categorical_focal,
        "SparseCategoricalFocalLoss",
        roles="ix",
        ignored=True,
    ),
    "poly1_crossentropy": Family(onehot_logits, _poly1, ref_asl.poly1, "Poly1Crossentropy"),
    "asymmetric_loss": Family(multihot_logits, _asl, ref_asl.asymmetric, "AsymmetricLoss"),
    "bpmll_loss": Family(multihot_logits, _none, ref.bpmll, "BPMLLLoss"),
    "pinball_loss": Family(quantiles, _tau, ref_pk.pinball, "PinballLoss", roles="xx"),
    "weighted_kappa_loss": Family(
        onehot_probabilities,
        _kappa,
        ref_pk.weighted_kappa_tfa,
        "WeightedKappaLoss",
        coupled=True,
    ),
    "sparse_cost_sensitive_crossentropy": Family(
        ids_some_ignored_logits,
        _sparse_csc,
        sparse_ref.sparse_cost_sensitive,
        "SparseCostSensitiveCrossentropy",
        roles="ix",
        ignored=True,
    ),
    "sparse_label_smoothing_crossentropy": Family(
        ids_some_ignored_logits,
        _sparse_smoothing,
        sparse_ref.sparse_label_smoothing,
        "SparseLabelSmoothingCrossentropy",
        roles="ix",
        ignored=True,
    ),
    "sparsemax_loss": Family(
        onehot_logits, _none, ref_sparsemax.tfa_sparsemax_loss, "SparsemaxLoss"
    ),
    "sparsemax_loss[ids]": Family(
        ids_logits,
        _none,
        ref_sparsemax.optax_multiclass_sparsemax_loss,
        "SparsemaxLoss",
        roles="ix",
        function="sparsemax_loss",
    ),
    "npairs_loss": Family(
        pair_ids_similarities, _none, ref_sparsemax.npairs, "NpairsLoss", roles="ix", coupled=True
    ),
    "npairs_multilabel_loss": Family(
        pair_multihot_similarities,
        _none,
        ref_sparsemax.npairs_multilabel,
        "NpairsMultilabelLoss",
        coupled=True,
    ),
    "triplet_loss": Family(
        groups_embeddings, _triplet, ref.mined_triplet, "TripletLoss", roles="ix", coupled=True
    ),
    "triplet_margin_loss": Family(
        three_embeddings, _triplet_margin, ref.triplet_margin, roles="xxx"
    ),
    "contrastive_loss": Family(
        groups_embeddings,
        _contrastive,
        pair_ref.contrastive,
        "ContrastiveLoss",
        roles="ix",
        coupled=True,
    ),
    "multi_similarity_loss": Family(
        groups_embeddings,
        _multi_similarity,
        pair_ref.multi_similarity,
        "MultiSimilarityLoss",
        roles="ix",
        coupled=True,
    ),
    "lifted_structure_loss": Family(
        groups_embeddings,
        _lifted,
        pair_ref.lifted_structure,
        "LiftedStructureLoss",
        roles="ix",
        coupled=True,
    ),
    "nt_xent_loss": Family(
        groups_embeddings, _temperature, ref_ssl.nt_xent, "NTXentLoss", roles="ix", coupled=True
    ),
    "supcon_loss": Family(
        groups_embeddings, _temperature, ref_ssl.supcon, "SupConLoss", roles="ix", coupled=True
    ),
    "clip_loss": Family(two_towers, _clip, rt.clip, roles="xx"),
    "siglip_loss": Family(two_towers, _siglip, rt.siglip, roles="xx"),
    "center_loss": Family(center_data, _none, ref.center_loss, roles="xix"),
    "proxy_anchor_loss": Family(
        labels_embeddings_proxies, _proxy_anchor, ref_proxy.proxy_anchor, roles="ixx", coupled=True
    ),
    "proxy_nca_loss": Family(
        labels_embeddings_proxies, _proxy_nca, ref_proxy.proxy_nca, roles="ixx"
    ),
    "hamming_loss": Family(multihot_logits, _hamming, _hamming_reference, metric=True),
    "one_error": Family(multihot_logits, _none, ref.one_error, metric=True),
    "label_ranking_loss": Family(
        multihot_logits, _none, _sklearn_per_row("label_ranking_loss"), metric=True
    ),
    "coverage_error": Family(
        multihot_logits, _none, _sklearn_per_row("coverage_error"), metric=True
    ),
    "label_ranking_average_precision": Family(
        multihot_logits,
        _none,
        _sklearn_per_row("label_ranking_average_precision_score"),
        metric=True,
    ),
}
NAMES = sorted(FAMILIES)


class _Grid:
    """The generator, with uniform draws on a grid of 1/64: exact in float32 and float64.

    Hyper-parameters are kept as float32 by some losses even when they compute in float64,
    which moves a float64 value by ~1e-8 relative; on the grid both agree exactly.
    """

    def __init__(self, rng):
        self._rng = rng

    def uniform(self, low=0.0, high=1.0, size=None):
        return np.round(self._rng.uniform(low, high, size) * 64) / 64

    def __getattr__(self, name):
        return getattr(self._rng, name)


def configuration(index: int) -> dict:
    """The index-th random configuration: everything needed to run and check it."""
    rng = np.random.default_rng([SEED, index])
    name = NAMES[rng.integers(len(NAMES))]
    family = FAMILIES[name]
    width = int(rng.choice(WIDTHS))
    batch = int(rng.choice(BATCHES))
    dtype = str(rng.choice(DTYPES))
    kwargs, ref_kwargs = family.sample(_Grid(rng), width, dtype)
    use_class = family.cls is not None and bool(rng.integers(2))
    reduction = REDUCTIONS[rng.integers(len(REDUCTIONS))] if use_class else None
    weighted = use_class and family.weights and not family.coupled and bool(rng.integers(2))
    inputs = family.make(rng, batch, width)
    if kwargs.get("from_logits", True) is False:
        inputs = (*inputs[:-1], ref.softmax(inputs[-1]))
    return {
        "index": index,
        "name": name,
        "family": family,
        "cls": family.cls if use_class else None,
        "reduction": reduction,
        "kwargs": kwargs,
        "ref_kwargs": ref_kwargs,
        "dtype": dtype,
        "int_labels": bool(rng.integers(2)),
        "inputs": inputs,
        "sample_weight": rng.uniform(0.0, 2.0, size=batch).round(2) if weighted else None,
    }


def _rounded(a, dtype):
    """`a` rounded to `dtype`, as float64 NumPy: what the loss is given."""
    a = np.asarray(a, np.float64)
    if dtype == "bfloat16":
        return a.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)
    return a.astype(dtype).astype(np.float64)


def _prepare(config):
    """(what the loss is given, what the reference is given): the same numbers."""
    given, seen = [], []
    dtype = config["dtype"]
    for role, a in zip(config["family"].roles, config["inputs"], strict=True):
        a = np.asarray(a)
        if role == "i" or (role == "y" and config["int_labels"]):
            a = a.astype(np.int32 if config["int_labels"] else np.int64)
            given.append(a)
            seen.append(a)
            continue
        value = _rounded(a, dtype)
        seen.append(value)
        if dtype == "bfloat16":  # NumPy has no bfloat16 that every backend takes
            given.append(keras.ops.cast(value.astype(np.float32), "bfloat16"))
        else:
            given.append(value.astype(dtype))
    return given, seen


def _expected(config, seen):
    """The reference, reduced as the configuration's reduction does."""
    family = config["family"]
    expected = np.asarray(family.reference(*seen, **config["ref_kwargs"]), np.float64)
    reduction = config["reduction"]
    if family.coupled:
        return expected
    weight = config["sample_weight"]
    weight = np.ones(len(expected)) if weight is None else _rounded(weight, config["dtype"])
    weighted = expected * weight
    if reduction is None:
        return weighted
    if reduction == "sum":
        return weighted.sum()
    keep = np.ones(len(expected), bool)
    if family.ignored:  # ignored samples are left out of the mean
        keep = np.asarray(seen[0]).reshape(-1) != config["kwargs"]["ignore_class"]
    if reduction == "mean_with_sample_weight" and config["sample_weight"] is not None:
        total = weight[keep].sum()
    else:
        total = keep.sum()
    return weighted[keep].sum() / total if total else np.float64(0.0)


def run(config):
    """(got, expected) for one configuration, both float64 NumPy."""
    given, seen = _prepare(config)
    family = config["family"]
    dtype = config["dtype"]
    with float64_context() if dtype == "float64" else contextlib.nullcontext():
        if config["cls"]:
            loss = keras.saving.get_registered_object(f"kerasloss>{config['cls']}")
            # A Loss computes in its own dtype, float32 by default.
            loss = loss(reduction=config["reduction"], dtype=dtype, **config["kwargs"])
            weight = config["sample_weight"]
            if weight is not None:
                weight = weight.astype("float32" if dtype == "bfloat16" else dtype)
            value = loss(*given, sample_weight=weight)
        else:
            fn = keras.saving.get_registered_object(
                f"kerasloss>{family.function or config['name']}"
            )
            value = fn(*given, **config["kwargs"])
        # NumPy has no bfloat16 of its own: through float32, which holds it exactly.
        got = np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(value, "float32")), np.float64)
        if dtype == "float64":
            got = np.asarray(keras.ops.convert_to_numpy(value), np.float64)
        got_dtype = keras.backend.standardize_dtype(value.dtype)
    expected = _expected(config, seen)
    if family.coupled and expected.ndim == 0:
        # The reference is the batch loss; a per-sample result averages to it.
        if got.ndim:
            got = got.mean()
        elif config["reduction"] == "sum":
            got = got / len(seen[0])
    return got, expected, got_dtype


def describe(config):
    keep = ("index", "name", "cls", "reduction", "kwargs", "dtype", "int_labels")
    shapes = [np.shape(a) for a in config["inputs"]]
    weight = config["sample_weight"]
    return (
        f"{ {k: config[k] for k in keep} } shapes {shapes}"
        + ("" if weight is None else f" sample_weight {weight.tolist()}")
        + f"\n  reproduce: KERAS_BACKEND={keras.backend.backend()} KERASLOSS_STRESS_SEED={SEED}"
        + f" PYTHONPATH=src python tests/test_stress.py {config['index']}"
    )


def tolerance(config, expected):
    """(rtol, atol) for the configuration's value against the float64 reference."""
    dtype = config["dtype"]
    if config["family"].metric:
        return 2e-5, 1e-6  # a metric's values are float32 (fractions of a few labels)
    if dtype == "float64":
        if config["reduction"] is not None:
            # Keras reduces a Loss's float64 values in float32 on JAX and torch (its
            # ops.mean): one float32 rounding of the reduced value.
            return 2.0**-23, 1e-12
        return 1e-9, 1e-12
    if dtype == "float32":
        return 2e-5, 1e-6
    # 16 bits: the float32 value rounded once to 16 bits (the precision policy); a Loss
    # of that dtype then sums and divides in it: at most one rounding per sample added,
    # with weights, and one for the division.
    rounding = HALF[dtype]
    if config["reduction"] is not None:
        rounding *= len(config["inputs"][0]) + 3
    elif config["sample_weight"] is not None:
        rounding *= 3  # the weight and its product with the value, each rounded
    return rounding + 2e-5, 1e-6


def check(index):
    """None if configuration `index` passes, else a description of what went wrong."""
    config = configuration(index)
    try:
        got, expected, got_dtype = run(config)
    except Exception:
        return f"{describe(config)}\n  raised {traceback.format_exc(limit=-3)}"
    dtype = config["dtype"]
    want = {"float32" if config["family"].metric else dtype}
    if dtype == "float64" and config["reduction"] not in (None, "sum"):
        want.add("float32")  # Keras' mean of float64 values, on JAX and torch
    if got_dtype not in want:
        return f"{describe(config)}\n  dtype {got_dtype}, expected {want}"
    if np.shape(got) != np.shape(expected):
        return f"{describe(config)}\n  shape {np.shape(got)}, reference {np.shape(expected)}"
    if dtype in LARGEST and not config["family"].metric:
        # Beyond the dtype's range the honest value is an infinity of the same sign.
        beyond = np.abs(expected) * (1 - HALF[dtype]) > LARGEST[dtype]
        if np.any(got[beyond] != np.sign(expected[beyond]) * np.inf):
            return f"{describe(config)}\n  got {got}, reference {expected} (beyond {dtype})"
        got, expected = np.where(beyond, 0.0, got), np.where(beyond, 0.0, expected)
    if not np.all(np.isfinite(got)):
        return f"{describe(config)}\n  non-finite value from finite inputs: {got}"
    rtol, atol = tolerance(config, expected)
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        return f"{describe(config)}\n  got {got}, reference {expected}"
    return None


def test_random_configurations_equal_the_references():
    failures = [f for f in (check(i) for i in range(COUNT)) if f]
    assert not failures, f"{len(failures)} of {COUNT} failed; the first:\n" + "\n".join(
        failures[:5]
    )


def test_every_registered_loss_with_a_reference_is_drawn():
    """A loss added to the contract specs with a NumPy reference must be stressed too."""
    import _contract_specs as specs

    drawn = {f.function or name for name, f in FAMILIES.items()} | {
        f.cls for f in FAMILIES.values() if f.cls
    }
    missing = {
        s.name.split(">", 1)[1]
        for s in specs.SPECS
        if s.reference is not None and s.name.split(">", 1)[1] not in drawn
    } - UNSTRESSED
    assert not missing, f"registered with a reference but not in FAMILIES: {sorted(missing)}"


# Registered with a reference in the contract specs, left out here on purpose.
UNSTRESSED = {
    # A weighted sum of other losses, each of which is stressed on its own.
    "CombinedLoss",
}


if __name__ == "__main__":
    # python tests/test_stress.py INDEX...: each configuration, its check, and its values.
    for arg in sys.argv[1:]:
        config = configuration(int(arg))
        print(describe(config))
        print("  ", check(int(arg)) or "passes")
