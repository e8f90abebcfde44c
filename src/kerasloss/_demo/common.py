"""What the demo families share: the context, the result record, data, models, measures.

The extras (scikit-learn, matplotlib, river) are imported inside the functions that need
them, never at module level.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

import kerasloss

# The extra a family needs, by import name, with the name pip knows it by.
EXTRAS = {"sklearn": "scikit-learn", "matplotlib": "matplotlib", "river": "river"}
INSTALL_HINT = 'pip install "kerasloss[demo]"'


class MissingExtraError(RuntimeError):
    """An optional dependency of the demo is not installed."""


def missing_extras(modules: Sequence[str]) -> list[str]:
    """The pip names of the modules in `modules` that cannot be imported."""
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(EXTRAS.get(module, module))
    return missing


@dataclasses.dataclass
class Context:
    """How one demo run was asked for."""

    quick: bool
    seed: int
    out: str
    verbose: bool

    def fit_verbose(self) -> int | str:
        """Keras' `verbose` for `fit`: progress bars unless `--quiet`."""
        return "auto" if self.verbose else 0


@dataclasses.dataclass
class Table:
    """A small table: column names and rows of cells (str, int or float)."""

    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclasses.dataclass
class FamilyResult:
    """What one family shows: tables, pictures, the headline and every number."""

    name: str
    title: str
    headline: str
    explanation: list[str]
    tables: list[Table]
    figures: list[tuple[str, str]]  # (PNG file name under --out, caption)
    numbers: dict[str, Any]
    seconds: float = 0.0


# ------------------------------------------------------------------------------- data


def digits(seed: int, *, test_size: float = 0.5) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 digits (1797 images, shipped with it), scaled to [0, 1].

    Returns x_train, y_train, x_test, y_test, split stratified by class.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    y = data.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    return x_train, y_train, x_test, y_test


YEAST_TRAIN_ROWS = 1500  # rows 0-1499 train, 1500-2416 test (Elisseeff & Weston, 2001)


def yeast() -> tuple[np.ndarray, ...]:
    """river's Yeast (2417 genes, 103 features, 14 labels; it ships in river's wheel).

    Returns x_train, y_train, x_test, y_test on the usual split.
    """
    from river import datasets

    rows = list(datasets.Yeast())
    features = [f"Att{i}" for i in range(1, 104)]
    labels = [f"Class{i}" for i in range(1, 15)]
    x = np.array([[xi[name] for name in features] for xi, _ in rows], dtype="float32")
    y = np.array([[float(yi[name]) for name in labels] for _, yi in rows], dtype="float32")
    n = YEAST_TRAIN_ROWS
    return x[:n], y[:n], x[n:], y[n:]


# ----------------------------------------------------------------------------- models


def mlp(inputs: keras.KerasTensor, widths: Sequence[int], seed: int) -> keras.KerasTensor:
    """Dense ReLU layers of the given widths, seeded so that two runs start alike."""
    hidden = inputs
    for i, width in enumerate(widths):
        hidden = keras.layers.Dense(
            width,
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
        )(hidden)
    return hidden


def dense(units: int, seed: int, **kwargs: Any) -> keras.layers.Dense:
    """A Dense layer with a seeded initializer."""
    return keras.layers.Dense(
        units, kernel_initializer=keras.initializers.GlorotUniform(seed=seed), **kwargs
    )


def compile_options() -> dict[str, Any]:
    """`compile` arguments that suit the demo's small networks on this backend.

    A step of these networks is mostly framework overhead. On TensorFlow, XLA compiles
    every new model's train and predict functions, which costs seconds of CPU per model
    and saves nothing at this size; plain graph mode running several steps per call is
    several times faster. JAX compiles in any case, and PyTorch runs eagerly, one step
    per call.
    """
    if keras.backend.backend() == "tensorflow":
        return {"jit_compile": False, "steps_per_execution": 16}
    return {}


def fit(
    model: keras.Model,
    x: np.ndarray | list[np.ndarray],
    y: np.ndarray,
    context: Context,
    *,
    batch_size: int,
    epochs: int,
) -> None:
    """`model.fit` for `epochs` passes over (x, y) in batches of `batch_size`.

    Keras pays a fixed price per epoch (a new data iterator, the callbacks, on TensorFlow
    a new input pipeline), and a pass over a few hundred digits is only a few steps, so
    with `--quick` that price would be most of the run. There the data is repeated
    `passes` times and `fit` runs `epochs / passes` epochs: the same number of steps, each
    example seen as often. Data that is one batch is repeated in order, so every step
    still sees exactly the whole set; otherwise the repeated data is shuffled as usual.
    """
    passes = math.gcd(epochs, 10) if context.quick else 1
    one_batch = batch_size >= len(y)
    if passes > 1:
        x = (
            [np.concatenate([a] * passes) for a in x]
            if isinstance(x, list)
            else np.concatenate([x] * passes)
        )
        y = np.concatenate([y] * passes)
    model.fit(
        x,
        y,
        batch_size=len(y) // passes if one_batch else batch_size,
        epochs=epochs // passes,
        shuffle=not one_batch,
        verbose=context.fit_verbose(),
    )


def prediction_model(inputs: Any, outputs: Any) -> keras.Model:
    """A model that only predicts, compiled with `compile_options()`."""
    model = keras.Model(inputs, outputs)
    model.compile(**compile_options())
    return model


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """`model.predict` as a NumPy array, without a progress bar."""
    return np.asarray(keras.ops.convert_to_numpy(model.predict(x, verbose=0, batch_size=512)))


# --------------------------------------------------------------------------- measures


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of NumPy logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 10
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """ECE with equal-width confidence bins (Guo et al. 2017).

    Returns the ECE and, per bin, the mean confidence, the accuracy and the count.
    """
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype("float64")
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins).astype("float64")
    safe = np.maximum(counts, 1.0)
    mean_conf = np.bincount(which, confidence, minlength=bins) / safe
    accuracy = np.bincount(which, correct, minlength=bins) / safe
    ece = float(np.sum(counts / len(labels) * np.abs(accuracy - mean_conf)))
    return ece, mean_conf, accuracy, counts


def recall_at_1(embeddings: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean") -> float:
    """Leave-one-out recall@1: the share of points whose nearest other point shares its label.

    At k = 1 this is also precision@1. `metric` is "euclidean" or "cosine".
    """
    e = np.asarray(embeddings, dtype="float64")
    if metric == "cosine":
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        distance = -e @ e.T
    else:
        squared = np.sum(e * e, axis=1)
        distance = squared[:, None] + squared[None, :] - 2.0 * e @ e.T
    np.fill_diagonal(distance, np.inf)
    nearest = np.argmin(distance, axis=1)
    return float(np.mean(labels[nearest] == labels))


def retrieval_row(
    embeddings: np.ndarray, labels: np.ndarray, *, metric: str = "euclidean"
) -> list[float]:
    """[precision@1, R-precision, MAP@R] of held-out embeddings retrieving each other.

    `kerasloss.metrics.retrieval_scores`, each query leaving itself out (Musgrave et al.,
    "A Metric Learning Reality Check", 2020). `metric` is "euclidean" or "cosine".
    """
    scores = kerasloss.metrics.retrieval_scores(
        np.asarray(embeddings, dtype="float32"), np.asarray(labels), distance=metric
    )
    return [
        float(scores["precision_at_1"]),
        float(scores["r_precision"]),
        float(scores["mean_average_precision_at_r"]),
    ]


def intra_inter_ratio(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean distance to the own class mean over the mean distance between class means."""
    classes = np.unique(labels)
    means = np.stack([features[labels == c].mean(axis=0) for c in classes])
    index = np.searchsorted(classes, labels)
    intra = np.linalg.norm(features - means[index], axis=1).mean()
    between = np.linalg.norm(means[:, None] - means[None, :], axis=-1)
    inter = between[np.triu_indices(len(classes), k=1)].mean()
    return float(intra / inter)


# --------------------------------------------------------------------------- pictures


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure drawn off screen (no pyplot state, no display needed)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save_figure(figure: Any, out: str, name: str) -> str:
    """Writes the figure as `out/name` (PNG) and returns `name`."""
    import os

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    with open(os.path.join(out, name), "wb") as file:
        file.write(buffer.getvalue())
    return name


def scatter_2d(axes: Any, points: np.ndarray, labels: np.ndarray, title: str) -> None:
    """Points coloured by digit, with the digit's name at each class mean."""
    from matplotlib import colormaps

    colours = colormaps["tab10"]
    for c in range(10):
        chosen = labels == c
        axes.scatter(*points[chosen].T, s=6, color=colours(c), alpha=0.6, linewidths=0)
        if chosen.any():
            axes.annotate(
                str(c),
                points[chosen].mean(axis=0),
                fontsize=11,
                weight="bold",
                ha="center",
                va="center",
                color="black",
            )
    axes.set_title(title, fontsize=10)
    axes.set_xticks([])
    axes.set_yticks([])


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """Confusion counts: row true class, column predicted class."""
    matrix = np.zeros((classes, classes), dtype="int64")
    np.add.at(matrix, (labels, predicted), 1)
    return matrix
