"""Cost-sensitive cross-entropy on digits: some confusions cost far more than others."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import keras
import numpy as np

import kerasloss
from kerasloss._demo import common

TITLE = "Cost-sensitive cross-entropy"
EXPENSIVE = 10.0
EXPENSIVE_PAIRS = 4  # how many (true, predicted) confusions are made expensive
FIXED_PAIRS = [(7, 1), (4, 9), (3, 8)]  # the table of the fixed-input check


def _shrunk(x: np.ndarray) -> np.ndarray:
    """8x8 digits averaged down to 4x4: hard enough that a good network still errs."""
    return np.asarray(x.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16))


def cost_table(pairs: list[tuple[int, int]]) -> np.ndarray:
    """What each mistake costs: 1 for most, EXPENSIVE for `pairs`, 0 when right."""
    table = np.ones((10, 10)) - np.eye(10)
    for true, predicted in pairs:
        table[true, predicted] = EXPENSIVE
    return table


def _train(
    loss: keras.losses.Loss, x: np.ndarray, y: np.ndarray, context: common.Context, epochs: int
) -> keras.Model:
    keras.utils.set_random_seed(context.seed)
    inputs = keras.Input((16,))
    model = keras.Model(
        inputs, common.dense(10, context.seed + 9)(common.mlp(inputs, [16], context.seed))
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss, **common.compile_options())
    common.fit(model, x, keras.utils.to_categorical(y, 10), context, batch_size=64, epochs=epochs)
    return model


def _reloads_the_same(model: keras.Model, x: np.ndarray) -> bool:
    """Saves the model as .keras, loads it back with only `import kerasloss`, compares."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cost_sensitive.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
        return bool(np.allclose(common.predict(reloaded, x), common.predict(model, x), atol=1e-5))


def _fixed_value(table: np.ndarray) -> float:
    """The loss of fixed logits: a number that is the same on every backend."""
    logits = np.linspace(-2.0, 2.0, 30, dtype="float32").reshape(3, 10)
    labels = keras.utils.to_categorical([7, 4, 3], 10)
    loss = kerasloss.CostSensitiveCrossentropy(cost_matrix=table, from_logits=True)
    return float(keras.ops.convert_to_numpy(loss(labels, logits)))


def _most_confused(model: keras.Model, x: np.ndarray, y: np.ndarray) -> list[tuple[int, int]]:
    """The EXPENSIVE_PAIRS most frequent (true, predicted) mistakes of `model` on (x, y)."""
    matrix = common.confusion(y, common.predict(model, x).argmax(axis=1))
    np.fill_diagonal(matrix, -1)
    pairs: list[tuple[int, int]] = []
    for i in np.argsort(-matrix, axis=None, kind="stable"):
        true, predicted = int(i) // 10, int(i) % 10
        # One direction per pair of digits: the network can then lean towards the cheap
        # side of a boundary (read an unsure 7/1 as 7), which it cannot do both ways.
        if (predicted, true) not in pairs:
            pairs.append((true, predicted))
        if len(pairs) == EXPENSIVE_PAIRS:
            break
    return pairs


def run(context: common.Context) -> common.FamilyResult:
    """Plain cross-entropy against the cost-sensitive one, on the same network and data."""
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = common.digits(context.seed)
    x_train, x_test = _shrunk(x_train), _shrunk(x_test)
    epochs = 60 if context.quick else 150
    plain = _train(
        keras.losses.CategoricalCrossentropy(from_logits=True), x_train, y_train, context, epochs
    )
    # The costly confusions are the ones plain cross-entropy makes most on the training
    # digits: the mistakes that matter and that a loss can still move.
    pairs = _most_confused(plain, x_train, y_train)
    table = cost_table(pairs)
    # Training table: a right answer weighs 1 like a cheap mistake, so the loss is plain
    # cross-entropy except on the expensive mistakes, which weigh EXPENSIVE.
    training_table = np.maximum(table, np.eye(10))
    costly_loss = kerasloss.CostSensitiveCrossentropy(cost_matrix=training_table, from_logits=True)
    costly = _train(costly_loss, x_train, y_train, context, epochs)

    numbers: dict[str, Any] = {
        "epochs": epochs,
        "expensive_pairs": pairs,
        "cost_table": table.tolist(),
    }
    rows = []
    matrices = {}
    for key, name, model in (("plain", "cross-entropy", plain), ("cost", "cost-sensitive", costly)):
        predicted = common.predict(model, x_test).argmax(axis=1)
        matrix = common.confusion(y_test, predicted)
        matrices[key] = matrix
        total = float(np.sum(matrix * table))
        expensive = int(sum(matrix[t, p] for t, p in pairs))
        accuracy = float(np.mean(predicted == y_test))
        numbers[f"{key}_total_cost"] = total
        numbers[f"{key}_accuracy"] = accuracy
        numbers[f"{key}_expensive_mistakes"] = expensive
        rows.append([name, total, expensive, accuracy])
    numbers["reload_same_predictions"] = _reloads_the_same(costly, x_test)
    numbers["fixed_logits_loss"] = _fixed_value(np.maximum(cost_table(FIXED_PAIRS), np.eye(10)))

    figure = common.new_figure(9.0, 4.2)
    for i, (key, title) in enumerate((("plain", "cross-entropy"), ("cost", "cost-sensitive"))):
        axes = figure.add_subplot(1, 2, i + 1)
        _draw_confusion(
            axes, matrices[key], table, f"{title}: total cost {numbers[key + '_total_cost']:.0f}"
        )
    picture = common.save_figure(figure, context.out, "cost_confusion.png")

    named = ", ".join(f"a true {t} read as {p}" for t, p in pairs)
    explanation = [
        "A digit reader makes mistakes, and some cost more than others. Here the digits are "
        "shrunk to 4&times;4 pixels, so that even a good network errs, and the four "
        "confusions plain cross-entropy makes most often on the training digits (one "
        "direction per pair of digits) are made "
        f"expensive: {named} each cost {EXPENSIVE:.0f}; any other mistake costs 1 and a "
        "right answer 0. Plain cross-entropy treats every mistake alike. "
        "<code>CostSensitiveCrossentropy(cost_matrix=W)</code> multiplies each example's "
        "cross-entropy by W[true class, predicted class], so the network is pushed hardest "
        "away from the mistakes that cost most. It trades a few cheap mistakes for fewer "
        "expensive ones: the total cost falls while the accuracy stays close.",
        "For training, the diagonal of the table is 1 instead of 0, so that right answers "
        "keep their ordinary cross-entropy. The cost-sensitive model is saved as "
        "<code>.keras</code> and loaded back with only <code>import kerasloss</code>: "
        + ("same predictions." if numbers["reload_same_predictions"] else "DIFFERENT predictions."),
        "Training differs by backend (random streams, kernels, the order of floating-point "
        "sums), so the trained numbers here differ a little between TensorFlow, JAX and "
        "PyTorch; the losses themselves give the same numbers for the same inputs. For "
        "example, the cost-sensitive loss of a fixed batch of logits, with 7&rarr;1, "
        "4&rarr;9 and 3&rarr;8 costing 10, is "
        f"{numbers['fixed_logits_loss']:.6f} on every backend.",
    ]
    cost_rows = [[str(t)] + [f"{table[t, p]:.0f}" for p in range(10)] for t in range(10)]
    return common.FamilyResult(
        name="cost",
        title=TITLE,
        headline=(
            f"total cost {numbers['plain_total_cost']:.0f} -> {numbers['cost_total_cost']:.0f}, "
            f"accuracy {numbers['plain_accuracy']:.3f} -> {numbers['cost_accuracy']:.3f}"
        ),
        explanation=explanation,
        tables=[
            common.Table(
                ["model", "total cost ↓", "expensive mistakes ↓", "accuracy ↑"],
                rows,
                f"{len(y_test)} held-out digits, {epochs} epochs each",
            ),
            common.Table(
                ["true \\ predicted", *[str(p) for p in range(10)]],
                cost_rows,
                "The cost table: row the true digit, column the predicted digit",
            ),
        ],
        figures=[
            (picture, "Confusion matrices on held-out digits; the expensive cells are outlined.")
        ],
        numbers=numbers,
        seconds=time.perf_counter() - start,
    )


def _draw_confusion(axes: Any, matrix: np.ndarray, table: np.ndarray, title: str) -> None:
    from matplotlib.patches import Rectangle

    shown = matrix - np.diag(np.diag(matrix))  # the mistakes; the diagonal would swamp them
    axes.imshow(shown, cmap="Reds", vmin=0, vmax=max(3, int(shown.max())))
    for t in range(10):
        for p in range(10):
            if matrix[t, p]:
                axes.text(
                    p,
                    t,
                    str(matrix[t, p]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="grey" if t == p else "black",
                )
            if table[t, p] > 1:  # an expensive cell
                axes.add_patch(
                    Rectangle((p - 0.5, t - 0.5), 1, 1, fill=False, edgecolor="blue", linewidth=1.5)
                )
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=10)
