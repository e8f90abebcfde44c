"""The benchmark cases: each one a scalar loss of NumPy inputs, differentiated in the timing loop.

A case builds its inputs (NumPy, seeded) and a function of backend tensors that returns the
mean loss. The timing loop (`benchmarks.timing`) differentiates it with respect to the inputs
named in `wrt`. Every case is written in `keras.ops`, so it runs on each backend, except the
pytorch-metric-learning references (`torch_only`).

Reference cases (`kind="reference"`) are the floor or the competitor a loss is compared with:
Keras' built-in cross-entropies, the pairwise (B, C, C) form of BP-MLL, an O(B^3) semi-hard
triplet miner written after TensorFlow Addons' algorithm, and pytorch-metric-learning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
from keras import ops

import kerasloss

Fn = Callable[[dict[str, Any]], Any]

# The element-wise grid, the headline size of the ratio table and the mining sizes.
ELEMENTWISE_B = (256, 1024, 4096)
ELEMENTWISE_C = (10, 100, 1000)
HEADLINE = (2048, 1000)
MINING_B = (128, 256, 512, 1024, 2048, 4096)
MINING_D = 128
MINING_CLASSES = 64
MARGIN_C = (1000, 10000)
# The losses of the ratio table at the headline size.
HEADLINE_NAMES = (
    "keras_ce",
    "keras_bce",
    "cost_sensitive_ce",
    "label_smoothing_ce",
    "binary_focal",
    "bpmll",
)
# Largest (B, C, C) or (B, B, B) tensor a reference may build, in elements (1 GB of float32):
# past it the reference is skipped, not run out of memory.
MAX_CUBIC = 2**28


@dataclasses.dataclass(frozen=True)
class Case:
    """One timed computation: `fn(inputs)` is the mean loss, differentiated w.r.t. `wrt`."""

    name: str  # the loss or reference, e.g. "cost_sensitive_ce"
    group: str  # "elementwise", "multilabel", "mining", "pairs", "margin", "other"
    kind: str  # "ours", "keras" (a built-in floor) or "reference"
    sizes: dict[str, int]
    build: Callable[[np.random.Generator], tuple[dict[str, np.ndarray], tuple[str, ...], Fn]]
    torch_only: bool = False  # pytorch-metric-learning: native torch, torch backend only
    headline: bool = False  # a size of the ratio table (also timed under torch.compile)
    # Rough peak bytes of a step that builds a cubic tensor (forward and backward hold a
    # few of them): the run skips the case when the machine has less memory available.
    cubic_bytes: int = 0

    @property
    def key(self) -> str:
        size = ",".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"{self.group}/{self.name}[{size}]"


# ------------------------------------------------------------------------- inputs


def _logits(rng: np.random.Generator, b: int, c: int) -> np.ndarray:
    return rng.normal(scale=2.0, size=(b, c)).astype("float32")


def _one_hot(rng: np.random.Generator, b: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    ids = rng.integers(0, c, size=b)
    return np.eye(c, dtype="float32")[ids], ids.astype("int32")


def _multi_hot(rng: np.random.Generator, b: int, c: int) -> np.ndarray:
    # About one label in five relevant, at least one relevant and one irrelevant per row.
    y = (rng.random((b, c)) < 0.2).astype("float32")
    y[:, 0], y[:, -1] = 1.0, 0.0
    return y


def _cost_table(rng: np.random.Generator, c: int) -> np.ndarray:
    table = rng.uniform(0.5, 2.0, size=(c, c)).astype("float32")
    np.fill_diagonal(table, 0.1)
    return table


def _embeddings(rng: np.random.Generator, b: int, d: int, classes: int):
    labels = rng.permutation(np.arange(b) % classes).astype("int32")
    return rng.normal(size=(b, d)).astype("float32"), labels


# ------------------------------------------------------------------- element-wise


def _categorical(loss: Callable[..., Any], **kwargs: Any):
    """A loss of one-hot labels and logits, as a case builder for size (b, c)."""

    def builder(b: int, c: int):
        def build(rng):
            y, _ = _one_hot(rng, b, c)
            return (
                {"y_true": y, "y_pred": _logits(rng, b, c)},
                ("y_pred",),
                lambda t: ops.mean(loss(t["y_true"], t["y_pred"], **kwargs)),
            )

        return build

    return builder


def _sparse(loss: Callable[..., Any], **kwargs: Any):
    def builder(b: int, c: int):
        def build(rng):
            _, ids = _one_hot(rng, b, c)
            return (
                {"y_true": ids, "y_pred": _logits(rng, b, c)},
                ("y_pred",),
                lambda t: ops.mean(loss(t["y_true"], t["y_pred"], **kwargs)),
            )

        return build

    return builder


def _multilabel(loss: Callable[..., Any], **kwargs: Any):
    def builder(b: int, c: int):
        def build(rng):
            return (
                {"y_true": _multi_hot(rng, b, c), "y_pred": _logits(rng, b, c)},
                ("y_pred",),
                lambda t: ops.mean(loss(t["y_true"], t["y_pred"], **kwargs)),
            )

        return build

    return builder


def _cost_sensitive(b: int, c: int):
    def build(rng):
        y, _ = _one_hot(rng, b, c)
        inputs = {"y_true": y, "y_pred": _logits(rng, b, c), "cost": _cost_table(rng, c)}
        return (
            inputs,
            ("y_pred",),
            lambda t: ops.mean(
                kerasloss.cost_sensitive_crossentropy(
                    t["y_true"], t["y_pred"], cost_matrix=t["cost"], from_logits=True
                )
            ),
        )

    return build


def _sparse_cost_sensitive(b: int, c: int):
    def build(rng):
        _, ids = _one_hot(rng, b, c)
        inputs = {"y_true": ids, "y_pred": _logits(rng, b, c)}
        table = _cost_table(rng, c)
        return (
            inputs,
            ("y_pred",),
            lambda t: ops.mean(
                kerasloss.sparse_cost_sensitive_crossentropy(
                    t["y_true"], t["y_pred"], cost_matrix=table, from_logits=True
                )
            ),
        )

    return build


def pairwise_bpmll(y_true: Any, y_pred: Any) -> Any:
    """BP-MLL by its definition: every (relevant, irrelevant) pair, a (B, C, C) tensor.

    The form most implementations write; the reference that kerasloss' factorised
    `bpmll_loss` is timed against. Rows without a relevant or an irrelevant label give 0.
    """
    relevant = ops.cast(ops.greater(y_true, 0.5), y_pred.dtype)
    irrelevant = 1.0 - relevant
    pairs = relevant[:, :, None] * irrelevant[:, None, :]  # (B, C, C): k relevant, l not
    terms = ops.exp(y_pred[:, None, :] - y_pred[:, :, None])  # exp(-(c_k - c_l))
    count = ops.sum(relevant, axis=-1) * ops.sum(irrelevant, axis=-1)
    total = ops.sum(pairs * terms, axis=(1, 2))
    return ops.where(count > 0, total / ops.maximum(count, 1.0), ops.zeros_like(total))


def _keras_ce(b: int, c: int):
    return _categorical(keras.losses.categorical_crossentropy, from_logits=True)(b, c)


def _keras_sparse_ce(b: int, c: int):
    return _sparse(keras.losses.sparse_categorical_crossentropy, from_logits=True)(b, c)


def _keras_bce(b: int, c: int):
    # Keras averages over the last axis where kerasloss' binary losses sum: the same work.
    return _multilabel(keras.losses.binary_crossentropy, from_logits=True)(b, c)


# (name, group, kind, builder(b, c), extra condition on (b, c))
ELEMENTWISE: tuple[tuple[str, str, str, Callable[[int, int], Any]], ...] = (
    ("keras_ce", "elementwise", "keras", _keras_ce),
    ("keras_sparse_ce", "elementwise", "keras", _keras_sparse_ce),
    ("keras_bce", "multilabel", "keras", _keras_bce),
    ("cost_sensitive_ce", "elementwise", "ours", _cost_sensitive),
    (
        "label_smoothing_ce",
        "elementwise",
        "ours",
        _categorical(kerasloss.label_smoothing_crossentropy, from_logits=True),
    ),
    (
        "categorical_focal",
        "elementwise",
        "ours",
        _categorical(kerasloss.categorical_focal_loss, from_logits=True),
    ),
    (
        "poly1_ce",
        "elementwise",
        "ours",
        _categorical(kerasloss.poly1_crossentropy, from_logits=True),
    ),
    ("sparsemax", "elementwise", "ours", _categorical(kerasloss.sparsemax_loss)),
    ("sparse_cost_sensitive_ce", "elementwise", "ours", _sparse_cost_sensitive),
    (
        "sparse_label_smoothing_ce",
        "elementwise",
        "ours",
        _sparse(kerasloss.sparse_label_smoothing_crossentropy, from_logits=True),
    ),
    (
        "sparse_categorical_focal",
        "elementwise",
        "ours",
        _sparse(kerasloss.sparse_categorical_focal_loss, from_logits=True),
    ),
    (
        "binary_focal",
        "multilabel",
        "ours",
        _multilabel(kerasloss.binary_focal_loss, from_logits=True),
    ),
    ("bpmll", "multilabel", "ours", _multilabel(kerasloss.bpmll_loss)),
    ("pairwise_bpmll", "multilabel", "reference", _multilabel(pairwise_bpmll)),
    ("asymmetric", "multilabel", "ours", _multilabel(kerasloss.asymmetric_loss, from_logits=True)),
)


# ------------------------------------------------------------------------- mining


def _triplet(mining: str, b: int, d: int, classes: int):
    def build(rng):
        x, labels = _embeddings(rng, b, d, classes)
        return (
            {"y_true": labels, "y_pred": x},
            ("y_pred",),
            lambda t: ops.mean(
                kerasloss.triplet_loss(
                    t["y_true"], t["y_pred"], mining=mining, distance="euclidean", margin=1.0
                )
            ),
        )

    return build


def cubic_semi_hard(labels: Any, embeddings: Any, margin: float = 1.0) -> Any:
    """Semi-hard triplet loss the way TensorFlow Addons computes it: O(B^3) memory.

    For each (anchor, positive) pair every negative is compared with the positive's
    distance in one (B, B, B) tensor; the negative is the closest one farther than the
    positive, else the farthest negative. Written in `keras.ops` for the benchmark only.
    """
    x = embeddings
    sq = ops.sum(x * x, axis=-1)
    d2 = ops.maximum(sq[:, None] + sq[None, :] - 2.0 * ops.matmul(x, ops.transpose(x)), 0.0)
    zero = ops.cast(ops.less_equal(d2, 0.0), x.dtype)
    dist = ops.sqrt(d2 + zero * 1e-16) * (1.0 - zero)
    same = ops.equal(labels[:, None], labels[None, :])
    b = ops.shape(x)[0]
    eye = ops.eye(b, dtype="bool")
    positive = ops.logical_and(same, ops.logical_not(eye))
    negative = ops.cast(ops.logical_not(same), x.dtype)
    # (a, p, n): negative n of anchor a farther than the positive p.
    farther = ops.cast(dist[:, None, :] > dist[:, :, None], x.dtype) * negative[:, None, :]
    big = ops.max(dist) + 1.0
    semi = ops.min(dist[:, None, :] + (1.0 - farther) * big, axis=-1)  # (a, p)
    hardest = ops.max(dist * negative, axis=-1)  # farthest negative, per anchor
    has_semi = ops.sum(farther, axis=-1) > 0
    neg_dist = ops.where(has_semi, semi, hardest[:, None])
    pos = ops.cast(positive, x.dtype)
    losses = ops.maximum(margin + dist - neg_dist, 0.0) * pos
    return ops.sum(losses) / ops.maximum(ops.sum(pos), 1.0)


def _cubic_semi_hard(b: int, d: int, classes: int):
    def build(rng):
        x, labels = _embeddings(rng, b, d, classes)
        return (
            {"y_true": labels, "y_pred": x},
            ("y_pred",),
            lambda t: cubic_semi_hard(t["y_true"], t["y_pred"]),
        )

    return build


def _pml_triplet(mining: str, b: int, d: int, classes: int):
    def build(rng):
        import pytorch_metric_learning as pml  # noqa: F401  (torch only)
        from pytorch_metric_learning import losses, miners

        x, labels = _embeddings(rng, b, d, classes)
        loss = losses.TripletMarginLoss(margin=1.0)
        miner = {
            "batch_hard": miners.BatchHardMiner(),
            "semi_hard": miners.TripletMarginMiner(margin=1.0, type_of_triplets="semihard"),
            "batch_all": None,
        }[mining]

        def fn(t):
            emb, lab = t["y_pred"], t["y_true"]
            if miner is None:
                return loss(emb, lab)
            return loss(emb, lab, miner(emb, lab))

        return {"y_true": labels.astype("int64"), "y_pred": x}, ("y_pred",), fn

    return build


def _pml_triplet_ok(mining: str, b: int) -> bool:
    # PML's semi-hard miner and all-triplets loss list every triplet, O(B^3) int64
    # indices: about 3 GB at B = 2048 with 64 classes.
    return mining == "batch_hard" or b <= 1024


# -------------------------------------------------------------- pairs and others


def _labelled(loss: Callable[..., Any], **kwargs: Any):
    def builder(b: int, d: int, classes: int):
        def build(rng):
            x, labels = _embeddings(rng, b, d, classes)
            return (
                {"y_true": labels, "y_pred": x},
                ("y_pred",),
                lambda t: ops.mean(loss(t["y_true"], t["y_pred"], **kwargs)),
            )

        return build

    return builder


def _npairs(multilabel: bool):
    def builder(b: int, d: int, classes: int):
        def build(rng):
            anchors, labels = _embeddings(rng, b, d, classes)
            positives = anchors + 0.1 * rng.normal(size=anchors.shape).astype("float32")
            loss = kerasloss.npairs_multilabel_loss if multilabel else kerasloss.npairs_loss
            y = np.eye(classes, dtype="float32")[labels] if multilabel else labels

            def fn(t):
                sims = ops.matmul(t["anchors"], ops.transpose(t["positives"]))
                return ops.mean(loss(t["y_true"], sims))

            return (
                {"y_true": y, "anchors": anchors, "positives": positives},
                ("anchors", "positives"),
                fn,
            )

        return build

    return builder


def _two_tower(name: str):
    def builder(b: int, d: int, classes: int):
        def build(rng):
            a = rng.normal(size=(b, d)).astype("float32")
            bb = a + 0.5 * rng.normal(size=(b, d)).astype("float32")
            if name == "clip":
                fn = lambda t: ops.mean(kerasloss.clip_loss(t["a"], t["b"], logit_scale=14.3))  # noqa: E731
            else:
                fn = lambda t: ops.mean(  # noqa: E731
                    kerasloss.siglip_loss(t["a"], t["b"], logit_scale=10.0, logit_bias=-10.0)
                )
            return {"a": a, "b": bb}, ("a", "b"), fn

        return build

    return builder


def _center(b: int, d: int, classes: int):
    def build(rng):
        x, labels = _embeddings(rng, b, d, classes)
        centers = rng.normal(size=(classes, d)).astype("float32")
        return (
            {"features": x, "labels": labels, "centers": centers},
            ("features", "centers"),
            lambda t: ops.mean(kerasloss.center_loss(t["features"], t["labels"], t["centers"])),
        )

    return build


def _proxy(loss: Callable[..., Any]):
    """A proxy loss of labelled embeddings and one learned proxy per class."""

    def builder(b: int, d: int, classes: int):
        def build(rng):
            x, labels = _embeddings(rng, b, d, classes)
            proxies = rng.normal(size=(classes, d)).astype("float32")
            return (
                {"labels": labels, "embeddings": x, "proxies": proxies},
                ("embeddings", "proxies"),
                lambda t: ops.mean(loss(t["labels"], t["embeddings"], t["proxies"])),
            )

        return build

    return builder


def _triplet_margin(b: int, d: int, classes: int):
    def build(rng):
        a, p, n = (rng.normal(size=(b, d)).astype("float32") for _ in range(3))
        return (
            {"a": a, "p": p, "n": n},
            ("a", "p", "n"),
            lambda t: ops.mean(kerasloss.triplet_margin_loss(t["a"], t["p"], t["n"])),
        )

    return build


def _pinball(b: int, c: int):
    def build(rng):
        tau = list(np.linspace(0.05, 0.95, c))
        return (
            {"y_true": rng.normal(size=(b, 1)).astype("float32"), "y_pred": _logits(rng, b, c)},
            ("y_pred",),
            lambda t: ops.mean(kerasloss.pinball_loss(t["y_true"], t["y_pred"], tau=tau)),
        )

    return build


def _kappa(b: int, c: int):
    def build(rng):
        y, _ = _one_hot(rng, b, c)
        return (
            {"y_true": y, "y_pred": _logits(rng, b, c)},
            ("y_pred",),
            lambda t: ops.mean(
                kerasloss.weighted_kappa_loss(t["y_true"], ops.softmax(t["y_pred"]), num_classes=c)
            ),
        )

    return build


PAIRS: tuple[tuple[str, Callable[[int, int, int], Any]], ...] = (
    ("contrastive", _labelled(kerasloss.contrastive_loss)),
    ("multi_similarity", _labelled(kerasloss.multi_similarity_loss)),
    ("lifted_structure", _labelled(kerasloss.lifted_structure_loss)),
    ("nt_xent", _labelled(kerasloss.nt_xent_loss)),
    ("supcon", _labelled(kerasloss.supcon_loss)),
    ("npairs", _npairs(False)),
    ("npairs_multilabel", _npairs(True)),
    ("clip", _two_tower("clip")),
    ("siglip", _two_tower("siglip")),
    ("center", _center),
    ("triplet_margin", _triplet_margin),
    ("proxy_anchor", _proxy(kerasloss.proxy_anchor_loss)),
    ("proxy_nca", _proxy(kerasloss.proxy_nca_loss)),
)


# ----------------------------------------------------------------- margin heads


def _margin_head(layer_cls: type, b: int, d: int, c: int):
    def build(rng):
        layer = layer_cls(c)
        layer.build([(None, d), (None,)])
        x = rng.normal(size=(b, d)).astype("float32")
        labels = rng.integers(0, c, size=b).astype("int32")
        # (D, C), or (D, C * K) for sub-centres: the layer's own kernel shape.
        kernel = rng.normal(size=tuple(layer.kernel.shape)).astype("float32") / np.sqrt(d)

        def fn(t):
            logits, _ = layer.stateless_call([t["kernel"]], [], [t["x"], t["labels"]])
            return ops.mean(
                keras.losses.sparse_categorical_crossentropy(t["labels"], logits, from_logits=True)
            )

        return {"x": x, "labels": labels, "kernel": kernel}, ("x", "kernel"), fn

    return build


def _softmax_head(b: int, d: int, c: int):
    """The floor of a margin head: a plain linear softmax classifier of the same size."""

    def build(rng):
        x = rng.normal(size=(b, d)).astype("float32")
        labels = rng.integers(0, c, size=b).astype("int32")
        kernel = rng.normal(size=(d, c)).astype("float32") / np.sqrt(d)

        def fn(t):
            logits = ops.matmul(t["x"], t["kernel"])
            return ops.mean(
                keras.losses.sparse_categorical_crossentropy(t["labels"], logits, from_logits=True)
            )

        return {"x": x, "labels": labels, "kernel": kernel}, ("x", "kernel"), fn

    return build


def _pml_arcface(b: int, d: int, c: int):
    def build(rng):
        import torch
        from pytorch_metric_learning import losses

        loss = losses.ArcFaceLoss(num_classes=c, embedding_size=d, margin=np.degrees(0.5), scale=64)
        x = rng.normal(size=(b, d)).astype("float32")
        labels = rng.integers(0, c, size=b).astype("int64")
        kernel = rng.normal(size=(d, c)).astype("float32") / np.sqrt(d)

        # The loss' own class weights, set to the kernel the kerasloss heads get; the
        # backward pass fills their gradient too, as it fills the kernel's for the heads.
        with torch.no_grad():
            loss.W.copy_(torch.from_numpy(kernel))

        def fn(t):
            return loss(t["x"], t["labels"])

        return {"x": x, "labels": labels}, ("x",), fn

    return build


# --------------------------------------------------------------------- the grid


def cases(quick: bool = False, backend: str = "jax") -> Iterator[Case]:
    """Every case of the run: the full grid, or tiny sizes for the smoke test (`quick`)."""
    if quick:
        grid: tuple[tuple[int, int], ...] = ((32, 10),)
        mining_b: tuple[int, ...] = (32,)
        pair_b, margin_c, d, classes = 32, (50,), 16, 4
    else:
        grid = (*((b, c) for b in ELEMENTWISE_B for c in ELEMENTWISE_C), HEADLINE)
        mining_b = MINING_B
        pair_b, margin_c, d, classes = 1024, MARGIN_C, MINING_D, MINING_CLASSES
    for b, c in grid:
        for name, group, kind, builder in ELEMENTWISE:
            if name == "pairwise_bpmll" and b * c * c > MAX_CUBIC:
                continue
            headline = not quick and (
                ((b, c) == HEADLINE and name in HEADLINE_NAMES)
                or ((b, c) == (256, 1000) and name in ("bpmll", "pairwise_bpmll"))
            )
            cubic = 16 * b * c * c if name == "pairwise_bpmll" else 0
            yield Case(
                name,
                group,
                kind,
                {"B": b, "C": c},
                builder(b, c),
                headline=headline,
                cubic_bytes=cubic,
            )
    for b in mining_b:
        sizes = {"B": b, "D": d}
        headline = not quick and b == 1024
        for mining in ("batch_hard", "semi_hard", "batch_all"):
            yield Case(
                f"triplet_{mining}",
                "mining",
                "ours",
                sizes,
                _triplet(mining, b, d, classes),
                headline=headline,
            )
        if b**3 <= MAX_CUBIC // 2:
            yield Case(
                "tfa_semi_hard_cubic",
                "mining",
                "reference",
                sizes,
                _cubic_semi_hard(b, d, classes),
                cubic_bytes=16 * b**3,
            )
        if backend == "torch":
            for mining in ("batch_hard", "semi_hard", "batch_all"):
                if _pml_triplet_ok(mining, b):
                    yield Case(
                        f"pml_triplet_{mining}",
                        "mining",
                        "reference",
                        sizes,
                        _pml_triplet(mining, b, d, classes),
                        torch_only=True,
                        headline=headline,
                    )
    for name, builder in PAIRS:
        yield Case(name, "pairs", "ours", {"B": pair_b, "D": d}, builder(pair_b, d, classes))
    small = (32, 10) if quick else (1024, 100)
    yield Case("pinball", "other", "ours", {"B": small[0], "C": small[1]}, _pinball(*small))
    yield Case("weighted_kappa", "other", "ours", {"B": small[0], "C": small[1]}, _kappa(*small))
    margin_b = 32 if quick else 256
    for c in margin_c:
        sizes = {"B": margin_b, "D": d, "C": c}
        yield Case("softmax_head", "margin", "keras", sizes, _softmax_head(margin_b, d, c))
        for layer in (
            kerasloss.layers.ArcFace,
            kerasloss.layers.CosFace,
            kerasloss.layers.SphereFace,
            kerasloss.layers.SubCenterArcFace,
        ):
            yield Case(
                layer.__name__.lower(), "margin", "ours", sizes, _margin_head(layer, margin_b, d, c)
            )
        if backend == "torch":
            yield Case(
                "pml_arcface",
                "margin",
                "reference",
                sizes,
                _pml_arcface(margin_b, d, c),
                torch_only=True,
            )
