"""Random configurations against the NumPy references: no crash, no NaN, the reference's values.

Each configuration draws a loss, its hyper-parameters, the batch size, the number of
classes or the embedding size, the float dtype (float32 or float64), the label dtype,
and the function or its Loss class with a random reduction. Inputs are finite, so every
value must be finite and equal the NumPy reference (tests/_reference*.py).

`KERASLOSS_STRESS_CONFIGS` sets how many (default 200, the CI run); `nox -s "stress(jax)"`
runs 10,000 per backend. `KERASLOSS_STRESS_SEED` picks another set (default 0). A
failure lists the first failing configurations, each reproducible from its index.
"""

from __future__ import annotations

import os
import traceback

import keras
import numpy as np

import _reference as ref
import _reference_asl as ref_asl
import _reference_focal as rf
import _reference_pairs as pair_ref
import _reference_pinball_kappa as ref_pk
import _reference_self_supervised as ref_ssl
import _reference_sparse as sparse_ref
import _reference_two_tower as rt
import kerasloss  # noqa: F401  (registers the losses looked up by name)
from _autodiff import float64_context

COUNT = int(os.environ.get("KERASLOSS_STRESS_CONFIGS", "200"))
SEED = int(os.environ.get("KERASLOSS_STRESS_SEED", "0"))
REDUCTIONS = (None, "sum", "sum_over_batch_size", "mean")


# ------------------------------------------------------------------------ inputs


def _logits(rng, b, c):
    return rng.normal(scale=rng.choice([0.3, 2.0, 8.0]), size=(b, c))


def onehot_logits(rng, b, c):
    ids = rng.integers(0, c, size=b)
    return np.eye(c)[ids], _logits(rng, b, c)


def onehot_probs(rng, b, c):
    y, z = onehot_logits(rng, b, c)
    return y, ref.softmax(z)


def multihot_logits(rng, b, c):
    return (rng.uniform(size=(b, c)) < 0.4).astype(float), _logits(rng, b, c)


def ids_logits(rng, b, c):
    return rng.integers(0, c, size=b), _logits(rng, b, c)


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


# ------------------------------------------------------------------------ families
# name: (inputs, integer label input?, hyper-parameter sampler, reference, Loss class or None,
# batch-coupled?). The sampler returns (kwargs, reference kwargs).


def _cost(rng, c):
    return rng.uniform(0.0, 3.0, size=(c, c)).round(2)


def _distance(rng):
    return str(rng.choice(["euclidean", "squared_euclidean", "cosine"]))


def _csc(rng, c):
    table, logits = _cost(rng, c), bool(rng.integers(2))
    return {"cost_matrix": table, "from_logits": logits}, {"cost": table, "from_logits": logits}


def _smoothing(rng, c):
    kw = {"epsilon": float(rng.uniform(0, 0.9)), "from_logits": bool(rng.integers(2))}
    return kw, kw


def _binary_focal(rng, c):
    alpha = None if rng.integers(2) else float(rng.uniform(0.05, 0.95))
    kw = {"gamma": float(rng.uniform(0, 4)), "alpha": alpha, "from_logits": True}
    return kw, kw


def _categorical_focal(rng, c):
    alpha = None if rng.integers(2) else list(rng.uniform(0.1, 2.0, size=c).round(2))
    kw = {"gamma": float(rng.uniform(0, 4)), "alpha": alpha}
    kw["label_smoothing"] = float(rng.uniform(0, 0.3))
    return {**kw, "from_logits": True}, {**kw, "from_logits": True}


def _poly1(rng, c):
    kw = {"epsilon": float(rng.uniform(-1, 4)), "from_logits": True}
    return kw, kw


def _asl(rng, c):
    kw = {
        "gamma_pos": float(rng.uniform(0, 2)),
        "gamma_neg": float(rng.uniform(0, 5)),
        "clip": float(rng.choice([0.0, 0.05, 0.2])),
    }
    return kw, {**kw, "from_logits": True}


def _tau(rng, q):
    tau = float(rng.uniform(0.05, 0.95)) if rng.integers(2) else list(rng.uniform(0.05, 0.95, q))
    return {"tau": tau}, {"tau": tau}


def _triplet(rng, _):
    kw = {
        "margin": float(rng.uniform(0.0, 2.0)),
        "distance": _distance(rng),
        "mining": str(rng.choice(["batch_all", "batch_hard", "semi_hard"])),
    }
    return kw, kw


def _triplet_margin(rng, _):
    kw = {"margin": float(rng.uniform(0.0, 2.0)), "distance": _distance(rng)}
    return kw, kw


def _contrastive(rng, _):
    kw = {
        "pos_margin": float(rng.uniform(0, 0.5)),
        "neg_margin": float(rng.uniform(0.5, 2.0)),
        "distance": _distance(rng),
    }
    return kw, kw


def _temperature(rng, _):
    t = float(rng.uniform(0.05, 1.0))
    return {"temperature": t}, {"t": t}


def _clip(rng, _):
    s = float(rng.uniform(1, 30))
    return {"logit_scale": s}, {"logit_scale": s}


def _siglip(rng, _):
    s, b = float(rng.uniform(1, 30)), float(rng.uniform(-10, 0))
    return {"logit_scale": s, "logit_bias": b}, {"logit_scale": s, "logit_bias": b}


def _none(rng, _):
    return {}, {}


def _sparse_csc(rng, c):
    table = _cost(rng, c)
    return {"cost_matrix": table, "from_logits": True}, {"cost": table, "from_logits": True}


def _sparse_smoothing(rng, c):
    kw = {"epsilon": float(rng.uniform(0, 0.9)), "from_logits": True}
    return kw, kw


def _probabilities_if_asked(inputs, kwargs):
    def make(rng, b, c):
        arrays = inputs(rng, b, c)
        if kwargs.get("from_logits", True):
            return arrays
        return arrays[0], ref.softmax(arrays[1])

    return make


FAMILIES = {
    "cost_sensitive_crossentropy": (
        onehot_logits,
        _csc,
        ref.cost_sensitive,
        "CostSensitiveCrossentropy",
        False,
    ),
    "label_smoothing_crossentropy": (
        onehot_logits,
        _smoothing,
        ref.label_smoothing,
        "LabelSmoothingCrossentropy",
        False,
    ),
    "binary_focal_loss": (
        multihot_logits,
        _binary_focal,
        ref.binary_focal,
        "BinaryFocalLoss",
        False,
    ),
    "categorical_focal_loss": (
        onehot_logits,
        _categorical_focal,
        rf.categorical_focal,
        "CategoricalFocalLoss",
        False,
    ),
    "poly1_crossentropy": (onehot_logits, _poly1, ref_asl.poly1, "Poly1Crossentropy", False),
    "asymmetric_loss": (multihot_logits, _asl, ref_asl.asymmetric, "AsymmetricLoss", False),
    "bpmll_loss": (multihot_logits, _none, ref.bpmll, "BPMLLLoss", False),
    "pinball_loss": (quantiles, _tau, ref_pk.pinball, "PinballLoss", False),
    "sparse_cost_sensitive_crossentropy": (
        ids_logits,
        _sparse_csc,
        sparse_ref.sparse_cost_sensitive,
        "SparseCostSensitiveCrossentropy",
        False,
    ),
    "sparse_label_smoothing_crossentropy": (
        ids_logits,
        _sparse_smoothing,
        sparse_ref.sparse_label_smoothing,
        "SparseLabelSmoothingCrossentropy",
        False,
    ),
    "triplet_loss": (groups_embeddings, _triplet, ref.mined_triplet, "TripletLoss", True),
    "triplet_margin_loss": (three_embeddings, _triplet_margin, ref.triplet_margin, None, False),
    "contrastive_loss": (
        groups_embeddings,
        _contrastive,
        pair_ref.contrastive,
        "ContrastiveLoss",
        True,
    ),
    "nt_xent_loss": (groups_embeddings, _temperature, ref_ssl.nt_xent, "NTXentLoss", True),
    "supcon_loss": (groups_embeddings, _temperature, ref_ssl.supcon, "SupConLoss", True),
    "clip_loss": (two_towers, _clip, rt.clip, None, False),
    "siglip_loss": (two_towers, _siglip, rt.siglip, None, False),
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
    make, sample, reference, cls, coupled = FAMILIES[name]
    width = int(rng.integers(2, 7))
    batch = int(rng.integers(1, 13))
    kwargs, ref_kwargs = sample(_Grid(rng), width)
    make = _probabilities_if_asked(make, kwargs)
    use_class = cls is not None and bool(rng.integers(2))
    return {
        "index": index,
        "name": name,
        "cls": cls if use_class else None,
        "reduction": REDUCTIONS[rng.integers(len(REDUCTIONS))] if use_class else None,
        "kwargs": kwargs,
        "ref_kwargs": ref_kwargs,
        "reference": reference,
        "coupled": coupled,
        "dtype": str(rng.choice(["float32", "float64"])),
        "int_labels": bool(rng.integers(2)),
        "inputs": make(rng, batch, width),
    }


def _prepare(config):
    out = []
    for i, a in enumerate(config["inputs"]):
        a = np.asarray(a)
        integer = np.issubdtype(a.dtype, np.integer)
        if integer or (
            i == 0
            and config["name"] != "pinball_loss"
            and not config["coupled"]
            and config["int_labels"]
            and np.all(a == np.round(a))
            and config["name"] not in ("triplet_margin_loss", "clip_loss", "siglip_loss")
        ):
            out.append(a.astype(np.int32 if config["int_labels"] else np.int64))
        else:
            out.append(a.astype(config["dtype"]))
    return out


def run(config):
    """(got, expected) for one configuration, both float64 NumPy."""
    inputs = _prepare(config)
    float64 = config["dtype"] == "float64"
    with float64_context() if float64 else _null():
        if config["cls"]:
            loss = keras.saving.get_registered_object(f"kerasloss>{config['cls']}")
            dtype = "float64" if float64 else None  # a Loss computes in its own dtype
            value = loss(reduction=config["reduction"], dtype=dtype, **config["kwargs"])(*inputs)
        else:
            fn = keras.saving.get_registered_object(f"kerasloss>{config['name']}")
            value = fn(*inputs, **config["kwargs"])
        got = np.asarray(keras.ops.convert_to_numpy(value), np.float64)
    expected = np.asarray(config["reference"](*config["inputs"], **config["ref_kwargs"]))
    if config["coupled"] and expected.ndim == 0:
        # The reference is the batch loss; a per-sample result averages to it.
        batch = len(config["inputs"][0])
        if got.ndim:
            got = got.mean()
        elif config["reduction"] == "sum":
            got = got / batch
    elif config["reduction"] == "sum":
        expected = expected.sum()
    elif config["reduction"] in ("sum_over_batch_size", "mean"):
        expected = expected.mean()
    return got, expected


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def describe(config):
    keep = ("index", "name", "cls", "reduction", "kwargs", "dtype", "int_labels")
    shapes = [np.shape(a) for a in config["inputs"]]
    return f"{ {k: config[k] for k in keep} } shapes {shapes}"


def check(index):
    """None if configuration `index` passes, else a description of what went wrong."""
    config = configuration(index)
    try:
        got, expected = run(config)
    except Exception:
        return f"{describe(config)}\n  raised {traceback.format_exc(limit=2)}"
    if not np.all(np.isfinite(got)):
        return f"{describe(config)}\n  non-finite value from finite inputs: {got}"
    rtol = 1e-9 if config["dtype"] == "float64" else 2e-5
    if config["reduction"] is not None and rtol < 1e-6:
        # Keras reduces a Loss's float64 values in float32 on JAX and torch (its ops.mean):
        # one float32 rounding of the reduced value.
        rtol = 2.0**-23
    if not np.allclose(got, expected, rtol=rtol, atol=1e-6 if rtol > 1e-9 else 1e-12):
        return f"{describe(config)}\n  got {got}, reference {expected}"
    return None


def test_random_configurations_equal_the_references():
    failures = [f for f in (check(i) for i in range(COUNT)) if f]
    assert not failures, f"{len(failures)} of {COUNT} failed; the first:\n" + "\n".join(
        failures[:5]
    )
