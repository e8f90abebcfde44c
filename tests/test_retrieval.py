"""retrieval_scores and RetrievalEvaluation: values against the NumPy reference written from
Musgrave et al. 2020 and, on torch, pytorch-metric-learning's AccuracyCalculator."""

from __future__ import annotations

import contextlib
import io
import os
import re
import resource
import time

import keras
import numpy as np
import pytest

from _reference_retrieval import retrieval_scores as reference_scores
from kerasloss.callbacks import RetrievalEvaluation
from kerasloss.metrics import retrieval_scores

BACKEND = keras.backend.backend()
KEYS = ("precision_at_1", "r_precision", "mean_average_precision_at_r", "mean_reciprocal_rank")


def _clusters(n, d, classes, seed, spread=1.0):
    """Embeddings around one random centre per class, and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, d))
    x = centres[labels] + spread * rng.normal(size=(n, d))
    return x.astype("float32"), labels


def _assert_scores(got, want):
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
@pytest.mark.parametrize("separate", [False, True], ids=["self", "reference"])
@pytest.mark.parametrize("batch_size", [1024, 7])
def test_values_match_the_reference(distance, separate, batch_size):
    x, labels = _clusters(60, 5, 4, seed=1)
    ref = _clusters(50, 5, 5, seed=1)[0] if separate else None  # class 4: no query has it
    ref_labels = np.random.default_rng(2).integers(0, 5, size=50) if separate else None
    got = retrieval_scores(
        x, labels, ref, ref_labels, distance=distance, k=[1, 3, 10], batch_size=batch_size
    )
    want = reference_scores(x, labels, ref, ref_labels, distance, ks=(1, 3, 10))
    _assert_scores(got, want)
    assert got["recall_at_1"] == got["precision_at_1"]
    assert 0 < got["mean_average_precision_at_r"] < got["mean_reciprocal_rank"] < 1


def test_hand_computed_example():
    # Queries (label 1) rank the references [ref0 (label 0), ref2, ref1] and [ref2, ref1, ref0].
    references = np.array([[1, 0], [0, 1], [0.1, 1]], "float32")
    queries = np.array([[0.9, 0.1], [0.5, 1]], "float32")
    got = retrieval_scores(queries, [1, 1], references, [0, 1, 1], k=2)
    # R = 2: R-precision 1/2 and 1; AP@R (1/2)/2 and (1 + 1)/2; first ranks 2 and 1.
    want = {
        "precision_at_1": 0.5,
        "r_precision": 0.75,
        "mean_average_precision_at_r": 0.625,
        "mean_reciprocal_rank": 0.75,
        "recall_at_2": 1.0,
    }
    _assert_scores(got, want)


@pytest.mark.slow
def test_a_chunked_run_equals_an_unchunked_one():
    x, labels = _clusters(80, 8, 6, seed=3, spread=2.0)
    for distance in ("cosine", "euclidean"):
        whole = retrieval_scores(x, labels, distance=distance, k=[1, 5], batch_size=80)
        for batch_size in (1, 7, 79, 5000):
            chunked = retrieval_scores(
                x, labels, distance=distance, k=[1, 5], batch_size=batch_size
            )
            assert chunked == whole, (distance, batch_size)


# ------------------------------------------------------------------ ties and degenerate sets


def test_identical_embeddings_rank_by_reference_index():
    # All distances tie, so each query ranks the others in index order:
    # q0 -> labels 1 0 1 0, q1 -> 0 0 1 0, q2 -> 0 1 1 0, q3 -> 0 1 0 0, q4 -> 0 1 0 1.
    labels = [0, 1, 0, 1, 0]
    want = {
        "precision_at_1": 2 / 5,
        "r_precision": (1 / 2 + 0 + 1 / 2 + 0 + 1 / 2) / 5,
        "mean_average_precision_at_r": (1 / 4 + 0 + 1 / 2 + 0 + 1 / 2) / 5,
        "mean_reciprocal_rank": (1 / 2 + 1 / 3 + 1 + 1 / 2 + 1) / 5,
    }
    for distance in ("cosine", "euclidean"):
        for x in (np.ones((5, 3), "float32"), np.zeros((5, 3), "float32")):
            for batch_size in (1, 2, 5):
                got = retrieval_scores(x, labels, distance=distance, batch_size=batch_size)
                _assert_scores(got, want)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
@pytest.mark.parametrize("batch_size", [1024, 5])
def test_ties_among_many_duplicates_match_the_reference(distance, batch_size):
    # 80 embeddings that are copies of 5 points, labels independent of the points: every
    # ranking is decided by ties, also across the R-th place (where top_k is repaired).
    rng = np.random.default_rng(4)
    points = rng.normal(size=(5, 6)).astype("float32")
    x = points[rng.integers(0, 5, size=80)]
    labels = rng.integers(0, 3, size=80)
    got = retrieval_scores(x, labels, distance=distance, k=[1, 4], batch_size=batch_size)
    want = reference_scores(x, labels, distance=distance, ks=(1, 4))
    _assert_scores(got, want)
    # The ties matter: ranking the tied references last-index-first gives other scores.
    flipped = reference_scores(x[::-1], labels[::-1], distance=distance, ks=(1, 4))
    assert flipped != want
    ref = points[rng.integers(0, 5, size=40)]
    ref_labels = rng.integers(0, 3, size=40)
    got = retrieval_scores(x, labels, ref, ref_labels, distance=distance, batch_size=batch_size)
    _assert_scores(got, reference_scores(x, labels, ref, ref_labels, distance))


def test_queries_with_nothing_to_retrieve_are_left_out():
    x, labels = _clusters(40, 4, 3, seed=5)
    ref, ref_labels = _clusters(30, 4, 3, seed=6)
    # Label 7 is in no reference: those queries are not scored at all.
    lonely = np.concatenate([labels, [7, 7]])
    both = np.concatenate([x, x[:2]])
    want = retrieval_scores(x, labels, ref, ref_labels)
    _assert_scores(retrieval_scores(both, lonely, ref, ref_labels), want)
    # In self-retrieval a class of one example has nothing to retrieve.
    labels = labels.copy()
    labels[0] = 9
    got = retrieval_scores(x, labels, k=3)
    _assert_scores(got, reference_scores(x, labels, ks=(3,)))


def test_one_class_scores_one():
    x, _ = _clusters(20, 3, 1, seed=7)
    got = retrieval_scores(x, np.zeros(20, "int32"), k=[1, 19, 50], batch_size=6)
    assert got == dict.fromkeys([*KEYS, "recall_at_1", "recall_at_19", "recall_at_50"], 1.0)


def test_nothing_to_retrieve_anywhere_is_an_error():
    with pytest.raises(ValueError, match="No query has a relevant reference"):
        retrieval_scores(np.eye(3, dtype="float32"), [0, 1, 2])
    with pytest.raises(ValueError, match="No query has a relevant reference"):
        retrieval_scores(np.eye(3, dtype="float32"), [0, 1, 2], np.eye(3), [3, 4, 5])


def test_input_forms():
    x, labels = _clusters(30, 4, 3, seed=8)
    want = reference_scores(x, labels)
    _assert_scores(retrieval_scores(x, labels[:, None]), want)
    _assert_scores(retrieval_scores(x, labels.astype("float32")), want)
    _assert_scores(retrieval_scores(x, labels * 2**40 - 5), want)  # beyond int32
    _assert_scores(retrieval_scores(keras.ops.convert_to_tensor(x), list(labels)), want)
    grid = np.arange(60).reshape(20, 3) % 7  # integer embeddings become float32
    grid_labels = np.arange(20) % 4
    _assert_scores(
        retrieval_scores(grid, grid_labels, distance="euclidean"),
        reference_scores(grid, grid_labels, distance="euclidean"),
    )


# ------------------------------------------------------------------ argument checks


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": np.ones(4)}, ValueError, r"`query_embeddings` must have shape \(N, D\).*\(4,\)"),
        ({"labels": [0, 1]}, ValueError, r"`query_labels`.*shape \(4,\); got shape \(2,\)"),
        ({"labels": np.zeros((4, 2))}, ValueError, r"`query_labels`.*\(N, 1\); got shape"),
        ({"labels": [0.5, 0, 1, 1]}, ValueError, "`query_labels` must hold integer class ids"),
        ({"labels": ["a", "b", "a", "b"]}, TypeError, "`query_labels` must hold integer"),
        ({"distance": "manhattan"}, ValueError, "`distance` must be one of.*'manhattan'"),
        ({"k": 0}, ValueError, "`k` must be None, an integer >= 1.*got 0"),
        ({"k": [1, 2.5]}, ValueError, r"`k` must be.*\[1, 2.5\]"),
        ({"k": True}, ValueError, "`k` must be"),
        ({"batch_size": 0}, ValueError, "`batch_size` must be an integer >= 1; got 0"),
        ({"ref": np.ones((3, 2))}, ValueError, "must be given together"),
        ({"ref": np.ones((3, 5)), "ref_labels": [0, 0, 1]}, ValueError, r"D = 2; got shape"),
        ({"ref": np.ones((3, 2)), "ref_labels": [0, 1]}, ValueError, r"`reference_labels`.*\(3,\)"),
    ],
)
def test_arguments_are_checked(kwargs, error, match):
    args = {"x": np.ones((4, 2), "float32"), "labels": [0, 0, 1, 1], "ref": None}
    args.update(kwargs)
    x, labels, ref = args.pop("x"), args.pop("labels"), args.pop("ref")
    ref_labels = args.pop("ref_labels", None)
    with pytest.raises(error, match=match):
        retrieval_scores(x, labels, ref, ref_labels, **args)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_embedding_is_an_error_not_a_score(bad):
    x = np.ones((4, 2), "float32")
    x[2, 1] = bad
    with pytest.raises(ValueError, match="`query_embeddings` must be finite"):
        retrieval_scores(x, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="`reference_embeddings` must be finite"):
        retrieval_scores(np.ones((4, 2), "float32"), [0, 0, 1, 1], x, [0, 0, 1, 1])


# ------------------------------------------------------------------ pytorch-metric-learning


def _pml_scores(x, labels, ref, ref_labels, distance):
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning.distances import CosineSimilarity, LpDistance
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    # PML's own exact torch k-NN (faiss is not installed in the test environment).
    if distance == "cosine":
        knn = CustomKNN(CosineSimilarity())
    else:
        knn = CustomKNN(LpDistance(normalize_embeddings=False))
    calculator = AccuracyCalculator(include=KEYS, k=None, knn_func=knn)
    tensor = lambda a: torch.from_numpy(np.asarray(a))  # noqa: E731
    if ref is None:
        return calculator.get_accuracy(tensor(x), tensor(labels))
    return calculator.get_accuracy(tensor(x), tensor(labels), tensor(ref), tensor(ref_labels))


@pytest.mark.skipif(BACKEND != "torch", reason="pytorch-metric-learning needs torch")
@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
@pytest.mark.parametrize("separate", [False, True], ids=["self", "reference"])
def test_values_equal_pytorch_metric_learning(distance, separate):
    x, labels = _clusters(300, 16, 12, seed=9, spread=1.5)
    labels[:3] = [40, 41, 41]  # a lone query in both settings, a pair in self-retrieval
    ref, ref_labels = _clusters(250, 16, 12, seed=9, spread=1.5) if separate else (None, None)
    if separate:
        ref_labels[0] = 41
    want = _pml_scores(x, labels, ref, ref_labels, distance)
    got = retrieval_scores(x, labels, ref, ref_labels, distance=distance, batch_size=64)
    assert set(want) == set(KEYS)
    for key in KEYS:
        # PML takes the reciprocal ranks' mean in float32.
        assert got[key] == pytest.approx(want[key], abs=1e-9 if key != KEYS[3] else 1e-6), key


# ------------------------------------------------------------------ the callback


def _digits_like(seed=0):
    x, labels = _clusters(48, 6, 4, seed=seed, spread=0.8)
    return x, labels


def _model():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    embedding = keras.layers.Dense(4, name="embedding")(hidden)
    logits = keras.layers.Dense(4, name="logits")(embedding)
    return keras.Model(inputs, logits)


def test_callback_arguments_are_checked():
    x, labels = _digits_like()
    with pytest.raises(ValueError, match="`every` must be an integer >= 1; got 0"):
        RetrievalEvaluation(x, labels, every=0)
    with pytest.raises(ValueError, match="`reference` must be None or a pair"):
        RetrievalEvaluation(x, labels, reference=(x,))
    with pytest.raises(ValueError, match="`distance` must be one of"):
        RetrievalEvaluation(x, labels, distance="l1")
    with pytest.raises(ValueError, match="No query has a relevant reference"):
        RetrievalEvaluation(x, np.arange(48))
    with pytest.raises(TypeError, match="`embedding` must be None or a layer name"):
        RetrievalEvaluation(x, labels, embedding=3)
    with pytest.raises(ValueError, match=r"`labels` must have shape \(N,\)"):
        RetrievalEvaluation(x, np.zeros((48, 2)))


@pytest.mark.slow
def test_callback_logs_scores_in_a_compiled_fit_that_early_stopping_reads():
    x, labels = _digits_like()
    model = _model()
    model.compile(
        keras.optimizers.SGD(0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=BACKEND != "torch",
    )
    evaluation = RetrievalEvaluation(x, labels, embedding="embedding", k=[1, 4], batch_size=16)
    # With a learning rate of 0 the scores never improve: patience 1 stops after epoch 2.
    stop = keras.callbacks.EarlyStopping("val_mean_average_precision_at_r", mode="max", patience=1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = model.fit(
            x, labels, epochs=5, batch_size=16, verbose=2, callbacks=[evaluation, stop]
        )
    assert len(history.history["loss"]) == 2
    embedder = keras.Model(model.inputs, model.get_layer("embedding").output)
    want = reference_scores(embedder.predict(x, verbose=0), labels, ks=(1, 4))
    for key, value in want.items():
        assert history.history[f"val_{key}"] == pytest.approx([value, value], abs=1e-12), key
    assert "val_r_precision:" in out.getvalue()  # the progress bar shows them


@pytest.mark.slow
def test_callback_sees_the_trained_weights_every_few_epochs_with_a_reference_set():
    x, labels = _digits_like(seed=1)
    ref, ref_labels = _digits_like(seed=1)
    ref = ref + 0.1
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)], name="encoder")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(4)(encoder(inputs)))
    model.compile("adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    evaluation = RetrievalEvaluation(
        x,
        labels,
        reference=(ref, ref_labels),
        every=2,
        embedding="encoder",
        distance="euclidean",
        prefix="test_",
    )
    history = model.fit(x, labels, epochs=4, batch_size=16, verbose=0, callbacks=[evaluation])
    assert len(history.history["loss"]) == 4
    assert len(history.history["test_precision_at_1"]) == 2  # epochs 2 and 4 only
    want = reference_scores(
        encoder.predict(x, verbose=0),
        labels,
        encoder.predict(ref, verbose=0),
        ref_labels,
        "euclidean",
    )
    for key, value in want.items():
        assert history.history[f"test_{key}"][-1] == pytest.approx(value, abs=1e-12), key
        assert evaluation.scores[key] == pytest.approx(value, abs=1e-12), key


def test_callback_refuses_a_model_with_two_outputs_or_an_unknown_layer():
    x, labels = _digits_like()
    inputs = keras.Input((6,))
    model = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(3)(inputs)])
    evaluation = RetrievalEvaluation(x, labels)
    evaluation.set_model(model)
    with pytest.raises(TypeError, match="name the layer or sub-model"):
        evaluation.on_epoch_end(0, {})
    evaluation = RetrievalEvaluation(x, labels, embedding="nope")
    evaluation.set_model(model)
    with pytest.raises(ValueError, match="`embedding` must name a layer of the model; got 'nope'"):
        evaluation.on_epoch_end(0, {})


# ------------------------------------------------------------------ size


@pytest.mark.skipif(
    os.environ.get("KERASLOSS_STRESS") != "1", reason="set KERASLOSS_STRESS=1 (minutes)"
)
def test_fifty_thousand_embeddings_fit_in_memory():
    """50 000 x 128 embeddings of 100 classes, self-retrieval: prints time and peak RSS."""
    x, labels = _clusters(50_000, 128, 100, seed=10, spread=1.0)
    start, cpu_start = time.perf_counter(), time.process_time()
    scores = retrieval_scores(x, labels, k=[1, 10])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(
        f"\n{BACKEND}: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU, "
        f"peak RSS {peak_gb:.2f} GB, {scores}"
    )
    assert all(0 <= value <= 1 for value in scores.values())
    assert scores["recall_at_10"] >= scores["precision_at_1"] > 0.5
    # The times are printed, not asserted: a loaded machine stretches them.
    assert peak_gb < 6


# ------------------------------------------------------------------ docs/retrieval.md

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "retrieval.md")


@pytest.mark.slow
def test_the_docs_page_example_runs():
    with open(DOCS, encoding="utf-8") as page:
        text = page.read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, DOCS, "exec"), {"__name__": "docs_retrieval"})
    assert "'precision_at_1': 1.0" in out.getvalue()
