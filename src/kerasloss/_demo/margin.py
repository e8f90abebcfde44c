"""ArcFace, CosFace and SphereFace on digits: accuracy, recall@1, embeddings on the circle."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

import kerasloss
from kerasloss._demo import common

TITLE = "ArcFace, CosFace and SphereFace"


def _heads() -> dict[str, Any]:
    # Ten classes share a circle in 2-D: 36 degrees each, so the margins are small.
    return {
        "softmax": None,
        "ArcFace": lambda: kerasloss.layers.ArcFace(10, scale=16.0, margin=0.1),
        "CosFace": lambda: kerasloss.layers.CosFace(10, scale=16.0, margin=0.1),
        "SphereFace": lambda: kerasloss.layers.SphereFace(10, margin=2),
    }


def _train(
    head: Any, data: tuple[np.ndarray, ...], context: common.Context, epochs: int
) -> keras.Model:
    """Encoder to 2-D, then the head; returns the model giving (embeddings, logits)."""
    x_train, y_train = data[0], data[1]
    keras.utils.set_random_seed(context.seed)
    x_in = keras.Input((64,))
    y_in = keras.Input((), dtype="int32")
    embedding = common.dense(2, context.seed + 7)(common.mlp(x_in, [64, 32], context.seed))
    if head is None:
        layer = common.dense(10, context.seed + 9)
        train = keras.Model([x_in, y_in], layer(embedding))
        logits = layer(embedding)
    else:
        layer = head()
        train = keras.Model([x_in, y_in], layer([embedding, y_in]))  # with the margin
        logits = layer(embedding)  # without: for prediction
    train.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **common.compile_options(),
    )
    common.fit(train, [x_train, y_train], y_train, context, batch_size=64, epochs=epochs)
    return common.prediction_model(x_in, [embedding, logits])


def run(context: common.Context) -> common.FamilyResult:
    """A plain softmax head against the three margin heads, on the same encoder."""
    start = time.perf_counter()
    data = common.digits(context.seed)
    x_test, y_test = data[2], data[3]
    epochs = 40 if context.quick else 120
    numbers: dict[str, Any] = {"epochs": epochs}
    rows = []
    figure = common.new_figure(12.0, 3.5)
    for i, (name, head) in enumerate(_heads().items()):
        model = _train(head, data, context, epochs)
        embeddings, logits = (
            np.asarray(keras.ops.convert_to_numpy(a))
            for a in model.predict(x_test, verbose=0, batch_size=512)
        )
        accuracy = float(np.mean(logits.argmax(1) == y_test))
        recall = common.recall_at_1(embeddings, y_test, metric="cosine")
        key = name.lower()
        numbers[f"{key}_accuracy"] = accuracy
        numbers[f"{key}_recall_at_1"] = recall
        rows.append([name, accuracy, recall])
        numbers.setdefault("retrieval", []).append(
            [f"{name} head (cosine)", *common.retrieval_row(embeddings, y_test, metric="cosine")]
        )
        unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        jitter = 1.0 + 0.04 * np.random.default_rng(0).standard_normal((len(unit), 1))
        axes = figure.add_subplot(1, 4, i + 1)
        common.scatter_2d(
            axes, unit * jitter, y_test, f"{name}: acc {accuracy:.3f}, R@1 {recall:.3f}"
        )
        axes.set_aspect("equal")
    picture = common.save_figure(figure, context.out, "margin_circle.png")
    explanation = [
        "Face recognition compares embeddings by angle. The margin heads make the angle the "
        "thing a classifier learns: each class has a weight vector, the logits are the "
        "cosines between the normalised embedding and those vectors, and while training "
        "the true class is handicapped by a margin. ArcFace adds m to the angle "
        "(cos(θ + m)), CosFace subtracts m from the cosine, SphereFace multiplies the "
        "angle (cos(mθ)). To win anyway, the network must put each class in a narrow cone, "
        "with clear gaps between cones.",
        "<code>kerasloss.layers.ArcFace(10, scale=16, margin=0.1)</code> and its siblings "
        "are called on <code>[embeddings, labels]</code> to train (with sparse categorical "
        "cross-entropy from logits) and on the embeddings alone to predict. The encoder "
        "ends in 2 numbers so the embeddings can be drawn on the unit circle (with a "
        "little radial jitter); recall@1 uses the cosine between held-out embeddings. The "
        "plain softmax head is the baseline.",
    ]
    return common.FamilyResult(
        name="margin",
        title=TITLE,
        headline=", ".join(
            f"{name} acc {numbers[name.lower() + '_accuracy']:.3f}" for name in _heads()
        ),
        explanation=explanation,
        tables=[
            common.Table(
                ["head", "accuracy ↑", "recall@1 (cosine) ↑"],
                rows,
                f"{len(y_test)} held-out digits, 2-D embeddings, {epochs} epochs",
            )
        ],
        figures=[(picture, "Held-out embeddings, normalised onto the unit circle.")],
        numbers=numbers,
        seconds=time.perf_counter() - start,
    )
