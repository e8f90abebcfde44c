"""One spec per registered kerasloss object: what the contract tests need to exercise it.

Every name registered under "kerasloss>" needs at least one `Spec` in `SPECS` (the
contract fails, naming it, otherwise); a new loss, metric or layer needs nothing else.
A spec says:

- `name`: the registered name; `variant` tells several specs of one object apart.
- `kwargs` (and `args`, for the parameters named in `positional`): how to build it,
  with non-default hyper-parameters; for a function, its keyword hyper-parameters.
- `inputs(rng, lead)`: valid data, float32 or int32 NumPy arrays with leading dims
  `lead` ((B,), or (B, T) for the per-timestep case): `(y_true, y_pred)` for losses
  and metrics, the `data_args` for a function, the call inputs for a layer.
- `reference(*inputs)`: NumPy float64 from tests/_reference.py, per sample (B,) or,
  for a loss that `couples_batch`, the batch loss (the mean of the per-sample values).
- `function`: the registered function a Loss class applies as `fn(y_true, y_pred, **kwargs)`.
- `couples_batch`: one sample's value depends on the other samples (mined triplets).
- `timesteps`: True if (B, T, ...) inputs give (B, T) values as Keras' losses do; a
  string says why the loss is (B, ...) only, and the contract expects a ValueError.
- `head`: losses and metrics, the activation of the Dense layer that predicts y_pred in
  the test models. Layers: `model(layer)` wraps the layer in a model that takes the
  layer's call inputs, `loss()` its compile loss, `target(inputs)` its fit target.
- `xfail`: check -> reason, for checks known to fail today; "check:backend" limits it to
  one backend. They run as strict xfails, so a fix turns them red until removed.
  `skip`: the same, for checks that do not apply (say why). Checks: "float16",
  "bfloat16", "float64" (dtypes), "mixed_float16", "mixed_bfloat16", "timesteps",
  "train", "reload".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import keras
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
import kerasloss


@dataclasses.dataclass(frozen=True)
class Spec:
    name: str
    inputs: Callable
    variant: str = ""
    kwargs: Mapping = dataclasses.field(default_factory=dict)
    args: tuple = ()
    positional: tuple[str, ...] = ()
    data_args: tuple[str, ...] = ("y_true", "y_pred")
    reference: Callable | None = None
    function: str | None = None
    timesteps: bool | str = True
    couples_batch: bool = False
    head: str | None = None
    model: Callable | None = None
    loss: Callable | None = None
    target: Callable | None = None
    xfail: Mapping[str, str] = dataclasses.field(default_factory=dict)
    skip: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def id(self) -> str:
        short = self.name.split(">", 1)[1]
        return f"{short}[{self.variant}]" if self.variant else short

    @property
    def obj(self):
        return keras.saving.get_registered_object(self.name)

    def build(self, **overrides):
        return self.obj(*self.args, **{**self.kwargs, **overrides})

    def data(self, batch=None, seed=0, timesteps=None):
        batch = BATCH if batch is None else batch
        lead = (batch,) if timesteps is None else (batch, timesteps)
        return self.inputs(np.random.default_rng(seed), lead)


# The contract's batch size: one size for every check keeps JAX from compiling each
# operation for several shapes, and 32 samples are enough to tell 16-bit arithmetic
# from float32 rounded once (with 8, every sample can land within the rounding).
BATCH = 32
C, K, D = 4, 5, 3  # classes, labels of a multi-label target, embedding size


def _onehot_and_logits(rng, lead):
    labels = rng.integers(0, C, size=lead)
    onehot = np.eye(C, dtype=np.float32)[labels]
    # About half the rows confidently right: a cross-entropy near 0 is log(1 + tiny),
    # which 16-bit arithmetic rounds away and float32 keeps.
    confident = rng.uniform(size=(*lead, 1)) < 0.5
    logits = rng.normal(scale=2.0, size=(*lead, C)) + 6.0 * onehot * confident
    return onehot, logits.astype(np.float32)


def _softmax_outputs(rng, lead):
    onehot, logits = _onehot_and_logits(rng, lead)
    return onehot, ref.softmax(logits).astype(np.float32)


def _multi_hot_and_scores(rng, lead):
    multi_hot = (rng.uniform(size=(*lead, K)) < 0.4).astype(np.float32)
    return multi_hot, rng.normal(scale=1.5, size=(*lead, K)).astype(np.float32)


def _tanh_scores(rng, lead):
    multi_hot, scores = _multi_hot_and_scores(rng, lead)
    return multi_hot, np.tanh(scores).astype(np.float32)


def _packed_costs(rng, lead):
    onehot, logits = _onehot_and_logits(rng, lead)
    tables = rng.uniform(0.0, 3.0, size=(*lead, C, C))
    packed = kerasloss.pack_example_costs(onehot.reshape(-1, C), tables.reshape(-1, C, C))
    return packed.reshape(*lead, C + C * C), logits


def _unpacked_reference(y_true, y_pred):
    """The layout `pack_example_costs` documents: labels (B, C), then the (C, C) tables."""
    tables = np.asarray(y_true, np.float64)[:, C:].reshape(-1, C, C)
    return ref.cost_sensitive(y_true[:, :C], y_pred, tables, from_logits=True)


def _labelled_embeddings(rng, lead):
    # Three classes of two or more examples each, so every anchor has a positive.
    labels = rng.permutation(np.arange(int(np.prod(lead))) % 3).reshape(lead).astype(np.int32)
    return labels, rng.normal(size=(*lead, D)).astype(np.float32)


def _triplets(rng, lead):
    return tuple(rng.normal(size=(*lead, D)).astype(np.float32) for _ in range(3))


def _center_data(rng, lead):
    labels = rng.integers(0, C, size=lead).astype(np.int32)
    features = rng.normal(size=(*lead, D)).astype(np.float32)
    return features, labels, rng.normal(size=(C, D)).astype(np.float32)


def _per_sample_values(rng, lead):
    return rng.integers(0, C, size=lead).astype(np.int32), rng.uniform(size=(*lead, 1)).astype(
        np.float32
    )


# Sparsemax and N-pairs losses: data.


def _ids_and_logits(rng, lead):
    onehot, logits = _onehot_and_logits(rng, lead)
    return np.argmax(onehot, axis=-1).astype(np.int32), logits


def _pair_labels_and_similarities(rng, lead):
    """Labels of B pairs (8 classes) and the (B, B) similarities of anchors and positives;
    with (B, T) leading dims, a (B, T, B) array, which the N-pairs losses refuse."""
    labels = rng.integers(0, 8, size=lead).astype(np.int32)
    return labels, rng.normal(scale=2.0, size=(*lead, lead[0])).astype(np.float32)


def _pair_multi_hot_and_similarities(rng, lead):
    multi_hot, _ = _multi_hot_and_scores(rng, lead)
    first = rng.integers(0, K, size=lead)
    multi_hot = np.maximum(multi_hot, np.eye(K, dtype=np.float32)[first])  # one label at least
    return multi_hot, rng.normal(scale=2.0, size=(*lead, lead[0])).astype(np.float32)


NPAIRS_ONLY_B = "N-pairs compares the B anchors with the B positives: y_pred is (B, B)"


FOCAL_ALPHA = [0.5, 1.0, 2.0, 0.25]  # one weight per class
TABLE = np.random.default_rng(11).uniform(0.2, 3.0, size=(C, C)).round(2)
COEFFICIENTS = [0.1, -0.2, 0.3, 0.0, 0.5]
PROBABILITY_CLIP = "16-bit probabilities are clipped at their dtype's gap below 1, not at 1e-7"
TRIPLET_ONLY_B = "triplets are mined within one (B, D) batch of embeddings"
PAIRS_ONLY_B = "pairs are formed within one (B, D) batch of embeddings"


# ------------------------------------------- pinball and weighted kappa (inputs, constants)

QUANTILES = [0.1, 0.5, 0.9]
KAPPA_ONLY_B = "the weighted kappa is a batch statistic of (B, C) labels and probabilities"


def _quantile_targets(rng, lead):
    """One target per sample, (..., 1), and a prediction per quantile, (..., 3)."""
    y_true = rng.normal(size=(*lead, 1))
    y_pred = rng.normal(size=(*lead, len(QUANTILES))) + np.array([-1.3, 0.0, 1.3])
    return y_true.astype(np.float32), y_pred.astype(np.float32)


def _regression_targets(rng, lead):
    return (
        rng.normal(size=(*lead, 2)).astype(np.float32),
        rng.normal(size=(*lead, 2)).astype(np.float32),
    )


IGNORED = -1  # the `ignore_class` of the sparse specs


def _ids_and_logits(rng, lead):
    onehot, logits = _onehot_and_logits(rng, lead)
    return onehot.argmax(-1).astype(np.int32), logits


def _ids_some_ignored_and_logits(rng, lead):
    ids, logits = _ids_and_logits(rng, lead)
    return np.where(rng.uniform(size=lead) < 0.25, IGNORED, ids).astype(np.int32), logits


def _ids_some_ignored_and_softmax(rng, lead):
    ids, logits = _ids_some_ignored_and_logits(rng, lead)
    return ids, ref.softmax(logits).astype(np.float32)


# ---------------------------------------------------------------------------- losses


def _sparse_ce():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


LOSSES = [
    Spec(
        "kerasloss>CostSensitiveCrossentropy",
        _onehot_and_logits,
        variant="table",
        kwargs={"cost_matrix": TABLE, "from_logits": True, "name": "csc"},
        function="kerasloss>cost_sensitive_crossentropy",
        reference=lambda y, p: ref.cost_sensitive(y, p, TABLE, from_logits=True),
    ),
    Spec(
        "kerasloss>CostSensitiveCrossentropy",
        _packed_costs,
        variant="per_example",
        kwargs={"from_logits": True},
        function="kerasloss>cost_sensitive_crossentropy",
        reference=_unpacked_reference,
    ),
    Spec(
        "kerasloss>LabelSmoothingCrossentropy",
        _onehot_and_logits,
        kwargs={"epsilon": 0.2, "from_logits": True},
        function="kerasloss>label_smoothing_crossentropy",
        reference=lambda y, p: ref.label_smoothing(y, p, 0.2, from_logits=True),
    ),
    Spec(
        "kerasloss>BinaryFocalLoss",
        _multi_hot_and_scores,
        kwargs={"gamma": 1.5, "alpha": 0.4, "from_logits": True},
        function="kerasloss>binary_focal_loss",
        reference=lambda y, p: ref.binary_focal(y, p, 1.5, 0.4, from_logits=True),
    ),
    Spec(
        "kerasloss>BPMLLLoss",
        _tanh_scores,
        kwargs={"name": "bpmll"},
        function="kerasloss>bpmll_loss",
        reference=ref.bpmll,
        head="tanh",
    ),
    # One mining strategy only, the one with the most arithmetic: every strategy costs
    # seconds of XLA compilation in the train step. test_triplet.py covers the others.
    Spec(
        "kerasloss>TripletLoss",
        _labelled_embeddings,
        variant="batch_all",
        kwargs={"margin": 0.5, "distance": "squared_euclidean", "mining": "batch_all"},
        function="kerasloss>triplet_loss",
        reference=lambda y, p: ref.mined_triplet(y, p, 0.5, "squared_euclidean", "batch_all"),
        timesteps=TRIPLET_ONLY_B,
        couples_batch=True,
    ),
    # Children from kerasloss only: Keras' own losses compute float64 in float32 on JAX
    # and torch (keras.ops.mean); test_combined.py covers them.
    Spec(
        "kerasloss>CombinedLoss",
        _multi_hot_and_scores,
        args=(
            [
                kerasloss.BinaryFocalLoss(gamma=1.0, alpha=None, from_logits=True),
                "kerasloss>bpmll_loss",
            ],
            [0.3, 1.7],
        ),
        kwargs={"name": "mixture"},
        positional=("losses", "weights"),
        reference=lambda y, p: (
            0.3 * ref.binary_focal(y, p, 1.0, None, from_logits=True) + 1.7 * ref.bpmll(y, p)
        ),
    ),
    # pinball and weighted kappa (TensorFlow Addons' losses)
    Spec(
        "kerasloss>PinballLoss",
        _quantile_targets,
        variant="quantiles",
        kwargs={"tau": QUANTILES, "name": "quantiles"},
        function="kerasloss>pinball_loss",
        reference=lambda y, p: ref_pk.pinball(y, p, QUANTILES),
    ),
    Spec(
        "kerasloss>WeightedKappaLoss",
        _softmax_outputs,
        kwargs={"num_classes": C, "weightage": "linear", "epsilon": 1e-5},
        function="kerasloss>weighted_kappa_loss",
        reference=lambda y, p: ref_pk.weighted_kappa_tfa(y, p, "linear", 1e-5),
        timesteps=KAPPA_ONLY_B,
        couples_batch=True,
        head="softmax",
    ),
    # Sparse labels. The classes' data hold no ignored id: the contract's reductions
    # divide by B. With `ignore_class` set, the rescaled mean of `SparseLoss` still runs
    # (every weight 1); tests/test_sparse.py covers batches with ignored ids.
    Spec(
        "kerasloss>SparseCostSensitiveCrossentropy",
        _ids_and_logits,
        kwargs={
            "cost_matrix": TABLE,
            "from_logits": True,
            "ignore_class": IGNORED,
            "name": "sparse_csc",
        },
        function="kerasloss>sparse_cost_sensitive_crossentropy",
        reference=lambda y, p: sparse_ref.sparse_cost_sensitive(y, p, TABLE, from_logits=True),
    ),
    Spec(
        "kerasloss>SparseLabelSmoothingCrossentropy",
        _ids_and_logits,
        kwargs={"epsilon": 0.2, "from_logits": True},
        function="kerasloss>sparse_label_smoothing_crossentropy",
        reference=lambda y, p: sparse_ref.sparse_label_smoothing(y, p, 0.2, from_logits=True),
    ),
    # ---- asymmetric loss (multi-label) and Poly-1 cross-entropy
    Spec(
        "kerasloss>AsymmetricLoss",
        _multi_hot_and_scores,
        kwargs={"gamma_pos": 1.0, "gamma_neg": 4.0, "clip": 0.05, "name": "asl"},
        function="kerasloss>asymmetric_loss",
        reference=lambda y, p: ref_asl.asymmetric(y, p, 1.0, 4.0, 0.05, from_logits=True),
    ),
    Spec(
        "kerasloss>Poly1Crossentropy",
        _onehot_and_logits,
        kwargs={"epsilon": 2.0, "from_logits": True},
        function="kerasloss>poly1_crossentropy",
        reference=lambda y, p: ref_asl.poly1(y, p, 2.0, from_logits=True),
    ),
    # Sparsemax and N-pairs losses.
    Spec(
        "kerasloss>SparsemaxLoss",
        _onehot_and_logits,
        variant="one_hot",
        function="kerasloss>sparsemax_loss",
        reference=ref_sparsemax.tfa_sparsemax_loss,
    ),
    Spec(
        "kerasloss>SparsemaxLoss",
        _ids_and_logits,
        variant="ids",
        kwargs={"name": "sparsemax"},
        function="kerasloss>sparsemax_loss",
        reference=ref_sparsemax.optax_multiclass_sparsemax_loss,
    ),
    Spec(
        "kerasloss>NpairsLoss",
        _pair_labels_and_similarities,
        function="kerasloss>npairs_loss",
        reference=ref_sparsemax.npairs,
        timesteps=NPAIRS_ONLY_B,
        couples_batch=True,
    ),
    Spec(
        "kerasloss>NpairsMultilabelLoss",
        _pair_multi_hot_and_similarities,
        kwargs={"name": "npairs_ml"},
        function="kerasloss>npairs_multilabel_loss",
        reference=ref_sparsemax.npairs_multilabel,
        timesteps=NPAIRS_ONLY_B,
        couples_batch=True,
    ),
]


# ---------------------------------------------------------------------------- functions

FUNCTIONS = [
    Spec(
        "kerasloss>cost_sensitive_crossentropy",
        _onehot_and_logits,
        kwargs={"cost_matrix": TABLE, "from_logits": True},
        reference=lambda y, p: ref.cost_sensitive(y, p, TABLE, from_logits=True),
    ),
    Spec(
        "kerasloss>label_smoothing_crossentropy",
        _softmax_outputs,
        kwargs={"epsilon": 0.3, "from_logits": False},
        reference=lambda y, p: ref.label_smoothing(y, p, 0.3, from_logits=False),
        # The float32 computation on rounded inputs clips at float32's 1e-7; 16-bit
        # probabilities are clipped at their own gap below 1 (test_geometry.py checks it).
        skip={"float16": PROBABILITY_CLIP, "bfloat16": PROBABILITY_CLIP},
    ),
    Spec(
        "kerasloss>binary_focal_loss",
        _multi_hot_and_scores,
        kwargs={"gamma": 2.0, "alpha": None, "from_logits": True},
        reference=lambda y, p: ref.binary_focal(y, p, 2.0, None, from_logits=True),
    ),
    Spec("kerasloss>bpmll_loss", _multi_hot_and_scores, reference=ref.bpmll),
    Spec(
        "kerasloss>triplet_loss",
        _labelled_embeddings,
        kwargs={"distance": "euclidean", "mining": "batch_hard", "soft": True},
        reference=lambda y, p: ref.mined_triplet(y, p, 1.0, "euclidean", "batch_hard", soft=True),
        couples_batch=True,
    ),
    Spec(
        "kerasloss>triplet_margin_loss",
        _triplets,
        kwargs={"margin": 0.2, "distance": "euclidean"},
        data_args=("anchor", "positive", "negative"),
        reference=lambda a, p, n: ref.triplet_margin(a, p, n, 0.2, "euclidean"),
    ),
    Spec(
        "kerasloss>center_loss",
        _center_data,
        data_args=("features", "labels", "centers"),
        reference=ref.center_loss,
    ),
    # pinball and weighted kappa (TensorFlow Addons' losses)
    Spec(
        "kerasloss>pinball_loss",
        _regression_targets,
        kwargs={"tau": 0.3},
        reference=lambda y, p: ref_pk.pinball(y, p, 0.3),
    ),
    Spec(
        "kerasloss>weighted_kappa_loss",
        _softmax_outputs,
        kwargs={"num_classes": C},
        reference=lambda y, p: ref_pk.weighted_kappa_tfa(y, p, "quadratic", 1e-6),
        couples_batch=True,
    ),
    # Sparse labels: about a quarter of the ids are `ignore_class`, whose values are 0.
    Spec(
        "kerasloss>sparse_cost_sensitive_crossentropy",
        _ids_some_ignored_and_logits,
        kwargs={"cost_matrix": TABLE, "from_logits": True, "ignore_class": IGNORED},
        reference=lambda y, p: sparse_ref.sparse_cost_sensitive(
            y, p, TABLE, from_logits=True, ignore_class=IGNORED
        ),
    ),
    Spec(
        "kerasloss>sparse_label_smoothing_crossentropy",
        _ids_some_ignored_and_softmax,
        kwargs={"epsilon": 0.3, "from_logits": False, "ignore_class": IGNORED},
        reference=lambda y, p: sparse_ref.sparse_label_smoothing(
            y, p, 0.3, from_logits=False, ignore_class=IGNORED
        ),
        skip={"float16": PROBABILITY_CLIP, "bfloat16": PROBABILITY_CLIP},
    ),
]


# Two-tower losses (CLIP, SigLIP): row i of `a` is paired with row i of `b`, and every
# other row of the batch is a negative, so each value depends on the whole batch.
def _two_towers(rng, lead):
    a = rng.normal(size=(*lead, D)).astype(np.float32)
    return a, (a + 0.5 * rng.normal(size=(*lead, D))).astype(np.float32)


TWO_TOWER = {
    "timesteps": "a two-tower batch is (B, D): the pairs of one batch",
    "couples_batch": True,
}

FUNCTIONS += [
    Spec(
        "kerasloss>clip_loss",
        _two_towers,
        kwargs={"logit_scale": 5.0},
        data_args=("a", "b"),
        reference=lambda a, b: rt.clip(a, b, 5.0),
        **TWO_TOWER,
    ),
    Spec(
        "kerasloss>siglip_loss",
        _two_towers,
        kwargs={"logit_scale": 5.0, "logit_bias": -2.0},
        data_args=("a", "b"),
        reference=lambda a, b: rt.siglip(a, b, 5.0, -2.0),
        **TWO_TOWER,
    ),
    # Sparsemax and N-pairs losses.
    Spec(
        "kerasloss>sparsemax_loss",
        _ids_and_logits,
        reference=ref_sparsemax.optax_multiclass_sparsemax_loss,
    ),
    Spec(
        "kerasloss>npairs_loss",
        _pair_labels_and_similarities,
        reference=ref_sparsemax.npairs,
        couples_batch=True,
    ),
    Spec(
        "kerasloss>npairs_multilabel_loss",
        _pair_multi_hot_and_similarities,
        reference=ref_sparsemax.npairs_multilabel,
        couples_batch=True,
    ),
]


# Metric functions: per-example values are float32 whatever the scores' dtype (a
# metric's state is float32), and a ranking is over the last axis of a (B, C) batch.
METRIC_FLOAT32 = "a metric's per-example values are float32 for any score dtype"
METRIC_FUNCTION = {
    "skip": {"float16": METRIC_FLOAT32, "bfloat16": METRIC_FLOAT32, "float64": METRIC_FLOAT32},
    "timesteps": "the metrics rank the labels of a (B, C) batch",
}


def _sklearn_per_row(metric, **kwargs):
    """A scikit-learn metric applied to each row on its own: the per-example values."""
    from sklearn import metrics as skm

    fn = getattr(skm, metric)
    return lambda y, p: np.array(
        [fn(y[i : i + 1], p[i : i + 1], **kwargs) for i in range(len(y))], np.float64
    )


FUNCTIONS += [
    Spec(
        "kerasloss>hamming_loss",
        _multi_hot_and_scores,
        kwargs={"threshold": 0.25},
        reference=lambda y, p: np.mean(y != (p > 0.25), axis=-1, dtype=np.float64),
        **METRIC_FUNCTION,
    ),
    Spec(
        "kerasloss>label_ranking_loss",
        _multi_hot_and_scores,
        reference=_sklearn_per_row("label_ranking_loss"),
        **METRIC_FUNCTION,
    ),
    Spec(
        "kerasloss>one_error",
        _multi_hot_and_scores,
        reference=lambda y, p: ref.one_error(y, p),
        **METRIC_FUNCTION,
    ),
    Spec(
        "kerasloss>coverage_error",
        _multi_hot_and_scores,
        reference=_sklearn_per_row("coverage_error"),
        **METRIC_FUNCTION,
    ),
    Spec(
        "kerasloss>label_ranking_average_precision",
        _multi_hot_and_scores,
        reference=_sklearn_per_row("label_ranking_average_precision_score"),
        **METRIC_FUNCTION,
    ),
]


# ---- asymmetric loss (multi-label) and Poly-1 cross-entropy
FUNCTIONS += [
    Spec(
        "kerasloss>asymmetric_loss",
        _multi_hot_and_scores,
        kwargs={"gamma_pos": 0.5, "gamma_neg": 2.0, "clip": 0.0},
        reference=lambda y, p: ref_asl.asymmetric(y, p, 0.5, 2.0, 0.0, from_logits=True),
    ),
    Spec(
        "kerasloss>poly1_crossentropy",
        _onehot_and_logits,
        kwargs={"epsilon": -1.0, "from_logits": True},
        reference=lambda y, p: ref_asl.poly1(y, p, -1.0, from_logits=True),
    ),
]


# ---------------------------------------------------------------------------- metrics

METRICS = [
    Spec("kerasloss>HammingLoss", _multi_hot_and_scores, kwargs={"threshold": 0.25}),
    Spec("kerasloss>LabelRankingLoss", _multi_hot_and_scores, kwargs={"name": "ranking"}),
    Spec("kerasloss>OneError", _multi_hot_and_scores),
    Spec("kerasloss>CoverageError", _multi_hot_and_scores),
    Spec("kerasloss>LabelRankingAveragePrecision", _multi_hot_and_scores),
    # Keras' own Mean takes (name, dtype) positionally; OutputMean follows it.
    Spec(
        "kerasloss>OutputMean",
        _per_sample_values,
        kwargs={"name": "center_loss"},
        positional=("name", "dtype"),
    ),
    # Cohen's kappa
    Spec(
        "kerasloss>CohenKappa",
        _softmax_outputs,
        kwargs={"num_classes": C, "weightage": "quadratic"},
        positional=("num_classes",),
        head="softmax",
    ),
    # Metrics on targets packed with per-example cost tables
    Spec(
        "kerasloss>PackedLabelsMetric",
        _packed_costs,
        kwargs={"metric": "accuracy", "num_classes": C},
        positional=("metric",),
        loss=lambda: kerasloss.CostSensitiveCrossentropy(from_logits=True),
    ),
]


# ---------------------------------------------------------------------------- layers


def _embeddings_and_labels(rng, lead):
    labels, embeddings = _labelled_embeddings(rng, lead)
    return [embeddings, labels]


def _features_and_labels_model(layer):
    """Dense -> layer([embeddings, labels]): the training form of the label-aware layers."""
    features = keras.Input((D,), name="features")
    labels = keras.Input((), dtype="int32", name="labels")
    outputs = layer([keras.layers.Dense(D)(features), labels])
    return keras.Model([features, labels], outputs)


def _center_model(layer):
    features = keras.Input((D,), name="features")
    labels = keras.Input((), dtype="int32", name="labels")
    embeddings, per_sample = layer([keras.layers.Dense(D)(features), labels])
    logits = keras.layers.Dense(3, name="logits")(embeddings)
    return keras.Model([features, labels], {"logits": logits, "center": per_sample})


def _triplet_layer_model(layer):
    inputs = [keras.Input((D,), name=name) for name in ("anchor", "positive", "negative")]
    encoder = keras.layers.Dense(D)
    return keras.Model(inputs, layer([encoder(x) for x in inputs]))


def _two_tower_layer_model(layer):
    inputs = [keras.Input((D,), name=name) for name in ("a", "b")]
    towers = [keras.layers.Dense(D)(x) for x in inputs]
    return keras.Model(inputs, layer(towers))


def _threshold_model(layer):
    features = keras.Input((K,), name="features")
    scores = keras.layers.Dense(K, activation="tanh", name="scores")(features)
    return keras.Model(features, {"scores": scores, "sets": layer(scores)})


def _margin_layer(name, **kwargs):
    return Spec(
        f"kerasloss>{name}",
        _embeddings_and_labels,
        kwargs={"num_classes": 3, **kwargs},
        positional=("num_classes",),
        model=_features_and_labels_model,
        loss=_sparse_ce,
        target=lambda inputs: inputs[1],
    )


LAYERS = [
    Spec(
        "kerasloss>CenterLoss",
        _embeddings_and_labels,
        kwargs={
            "num_classes": 3,
            "loss_weight": 0.5,
            "alpha": 0.5,
            "return_center_loss": True,
            "centers_initializer": "random_normal",
        },
        positional=("num_classes",),
        model=_center_model,
        loss=lambda: {"logits": _sparse_ce(), "center": None},
        target=lambda inputs: {"logits": inputs[1], "center": inputs[1]},
    ),
    _margin_layer("ArcFace", scale=8.0, margin=0.3, kernel_initializer="random_normal"),
    _margin_layer("CosFace", scale=8.0, margin=0.2),
    _margin_layer("SphereFace", margin=2, softmax_weight=5.0),
    Spec(
        "kerasloss>TripletMarginLossLayer",
        lambda rng, lead: list(_triplets(rng, lead)),
        kwargs={"margin": 0.3, "distance": "euclidean"},
        model=_triplet_layer_model,
    ),
    Spec(
        "kerasloss>CLIPLoss",
        lambda rng, lead: list(_two_towers(rng, lead)),
        kwargs={"temperature": 0.2},
        model=_two_tower_layer_model,
    ),
    Spec(
        "kerasloss>SigLIPLoss",
        lambda rng, lead: list(_two_towers(rng, lead)),
        kwargs={"scale": 5.0, "bias": -2.0},
        model=_two_tower_layer_model,
    ),
    Spec(
        "kerasloss>LinearThreshold",
        lambda rng, lead: rng.normal(size=(*lead, K)).astype(np.float32),
        kwargs={"coefficients": COEFFICIENTS, "intercept": 0.05},
        model=_threshold_model,
        loss=lambda: {"scores": kerasloss.BPMLLLoss(), "sets": None},
        target=lambda scores: {
            "scores": (scores > 0).astype(np.float32),
            "sets": np.zeros_like(scores),
        },
    ),
]

# ----------------------------------------------------------- pair and contrastive losses

# losses/pairs.py: one distance per spec, the others in test_pair_losses.py
LOSSES += [
    Spec(
        "kerasloss>ContrastiveLoss",
        _labelled_embeddings,
        kwargs={"pos_margin": 0.3, "neg_margin": 2.0, "distance": "euclidean"},
        function="kerasloss>contrastive_loss",
        reference=lambda y, p: pair_ref.contrastive(y, p, 0.3, 2.0, "euclidean"),
        timesteps=PAIRS_ONLY_B,
        couples_batch=True,
    ),
    Spec(
        "kerasloss>MultiSimilarityLoss",
        _labelled_embeddings,
        kwargs={"mining_epsilon": 0.1},
        function="kerasloss>multi_similarity_loss",
        reference=lambda y, p: pair_ref.multi_similarity(y, p, epsilon=0.1),
        timesteps=PAIRS_ONLY_B,
        couples_batch=True,
    ),
    Spec(
        "kerasloss>LiftedStructureLoss",
        _labelled_embeddings,
        kwargs={"pos_margin": 0.1, "neg_margin": 1.2, "distance": "cosine"},
        function="kerasloss>lifted_structure_loss",
        reference=lambda y, p: pair_ref.lifted_structure(y, p, 0.1, 1.2, "cosine"),
        timesteps=PAIRS_ONLY_B,
        couples_batch=True,
    ),
    # losses/self_supervised.py: NT-Xent, SupCon
    Spec(
        "kerasloss>NTXentLoss",
        _labelled_embeddings,
        kwargs={"temperature": 0.2},
        function="kerasloss>nt_xent_loss",
        reference=lambda y, p: ref_ssl.nt_xent(y, p, 0.2),
        timesteps=PAIRS_ONLY_B,
        couples_batch=True,
    ),
    Spec(
        "kerasloss>SupConLoss",
        _labelled_embeddings,
        kwargs={"temperature": 0.3, "name": "supcon"},
        function="kerasloss>supcon_loss",
        reference=lambda y, p: ref_ssl.supcon(y, p, 0.3),
        timesteps=PAIRS_ONLY_B,
        couples_batch=True,
    ),
]

FUNCTIONS += [
    Spec(
        "kerasloss>contrastive_loss",
        _labelled_embeddings,
        kwargs={"pos_margin": 0.2, "neg_margin": 1.0, "distance": "cosine"},
        reference=lambda y, p: pair_ref.contrastive(y, p, 0.2, 1.0, "cosine"),
        couples_batch=True,
    ),
    Spec(
        "kerasloss>multi_similarity_loss",
        _labelled_embeddings,
        kwargs={"alpha": 3.0, "beta": 40.0, "base": 0.4},
        reference=lambda y, p: pair_ref.multi_similarity(y, p, 3.0, 40.0, 0.4),
        couples_batch=True,
    ),
    Spec(
        "kerasloss>lifted_structure_loss",
        _labelled_embeddings,
        kwargs={"pos_margin": 0.5, "neg_margin": 6.0, "distance": "squared_euclidean"},
        reference=lambda y, p: pair_ref.lifted_structure(y, p, 0.5, 6.0, "squared_euclidean"),
        couples_batch=True,
    ),
    Spec(
        "kerasloss>nt_xent_loss",
        _labelled_embeddings,
        kwargs={"temperature": 0.5},
        reference=lambda y, p: ref_ssl.nt_xent(y, p, 0.5),
        couples_batch=True,
    ),
    Spec(
        "kerasloss>supcon_loss",
        _labelled_embeddings,
        reference=lambda y, p: ref_ssl.supcon(y, p, 0.1),
        couples_batch=True,
    ),
]


# ------------------------------------------------ focal losses (losses/focal.py)
LOSSES += [
    Spec(
        "kerasloss>BinaryFocalLoss",
        _multi_hot_and_scores,
        variant="label_smoothing",
        kwargs={"gamma": 2.0, "alpha": 0.25, "label_smoothing": 0.1, "from_logits": True},
        function="kerasloss>binary_focal_loss",
        reference=lambda y, p: rf.binary_focal_smoothed(y, p, 2.0, 0.25, 0.1, from_logits=True),
    ),
    Spec(
        "kerasloss>CategoricalFocalLoss",
        _onehot_and_logits,
        kwargs={"gamma": 2.0, "alpha": FOCAL_ALPHA, "label_smoothing": 0.1, "from_logits": True},
        function="kerasloss>categorical_focal_loss",
        reference=lambda y, p: rf.categorical_focal(y, p, 2.0, FOCAL_ALPHA, 0.1, from_logits=True),
    ),
    # ignore_class set, though the data has no -1: the reductions' reweighting runs and
    # must leave every sample its weight.
    Spec(
        "kerasloss>SparseCategoricalFocalLoss",
        _ids_and_logits,
        kwargs={"gamma": 1.5, "alpha": 0.5, "from_logits": True, "ignore_class": -1},
        function="kerasloss>sparse_categorical_focal_loss",
        reference=lambda y, p: rf.sparse_categorical_focal(y, p, 1.5, 0.5, 0.0, from_logits=True),
    ),
]

FUNCTIONS += [
    Spec(
        "kerasloss>categorical_focal_loss",
        _softmax_outputs,
        kwargs={"gamma": 0.5, "alpha": None, "label_smoothing": 0.2, "from_logits": False},
        reference=lambda y, p: rf.categorical_focal(y, p, 0.5, None, 0.2, from_logits=False),
        skip={"float16": PROBABILITY_CLIP, "bfloat16": PROBABILITY_CLIP},
    ),
    Spec(
        "kerasloss>sparse_categorical_focal_loss",
        _ids_and_logits,
        kwargs={"gamma": 2.0, "alpha": FOCAL_ALPHA, "label_smoothing": 0.2, "from_logits": True},
        reference=lambda y, p: rf.sparse_categorical_focal(
            y, p, 2.0, FOCAL_ALPHA, 0.2, from_logits=True
        ),
    ),
]


# ---------------------------------------------------------------------------- layers: xbm
# CrossBatchMemory: a memory of 48 for batches of 32, so the second step of the compiled
# train step wraps around; test_memory.py checks the values and the saved memory.
LAYERS += [
    Spec(
        "kerasloss>CrossBatchMemory",
        _embeddings_and_labels,
        args=(kerasloss.TripletLoss(margin=0.5, mining="batch_all"), 48, D),
        positional=("loss", "memory_size", "embedding_size"),
        model=_features_and_labels_model,
    ),
]

# ------------------------------------------ proxy losses and sub-center ArcFace


def _labels_embeddings_proxies(rng, lead):
    """Labels of 3 classes, embeddings, and proxies of 4 classes (one absent)."""
    labels, embeddings = _labelled_embeddings(rng, lead)
    return labels, embeddings, rng.normal(size=(C, D)).astype(np.float32)


FUNCTIONS += [
    Spec(
        "kerasloss>proxy_anchor_loss",
        _labels_embeddings_proxies,
        kwargs={"margin": 0.2, "alpha": 16.0},
        data_args=("y_true", "y_pred", "proxies"),
        reference=lambda y, x, p: ref_proxy.proxy_anchor(y, x, p, margin=0.2, alpha=16.0),
        couples_batch=True,
    ),
    Spec(
        "kerasloss>proxy_nca_loss",
        _labels_embeddings_proxies,
        kwargs={"softmax_scale": 3.0},
        data_args=("y_true", "y_pred", "proxies"),
        reference=lambda y, x, p: ref_proxy.proxy_nca(y, x, p, softmax_scale=3.0),
    ),
]

LAYERS += [
    Spec(
        "kerasloss>ProxyAnchor",
        _embeddings_and_labels,
        kwargs={"num_classes": 3, "margin": 0.2, "alpha": 16.0},
        positional=("num_classes",),
        model=_features_and_labels_model,
    ),
    Spec(
        "kerasloss>ProxyNCA",
        _embeddings_and_labels,
        kwargs={"num_classes": 3, "softmax_scale": 2.0, "proxies_initializer": "glorot_normal"},
        positional=("num_classes",),
        model=_features_and_labels_model,
    ),
    _margin_layer("SubCenterArcFace", sub_centers=2, scale=8.0, margin=0.3),
]

SPECS = LOSSES + FUNCTIONS + METRICS + LAYERS
