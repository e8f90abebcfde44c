"""Label smoothing and focal loss on digits: calibration, and a class left rare."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

import kerasloss
from kerasloss._demo import common

TITLE = "Label smoothing and focal loss"
RARE = 8  # the digit cut down in the imbalanced training set
KEPT = 0.05  # the share of its training examples it keeps
SMOOTHING = 0.1
SMOOTHING_NAME = f"label smoothing {SMOOTHING}"
# Few training examples and a wide layer trained long: the network learns them by heart
# and cross-entropy then becomes overconfident on new data.
FEW = 15  # training examples per digit for the calibration models


def _train(
    loss: Any, x: np.ndarray, y: np.ndarray, context: common.Context, epochs: int
) -> keras.Model:
    keras.utils.set_random_seed(context.seed)
    inputs = keras.Input((64,))
    hidden = common.mlp(inputs, [256], context.seed)
    model = keras.Model(inputs, common.dense(10, context.seed + 9)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss, **common.compile_options())
    # The few-example models train on their whole set at once: one step per epoch.
    batch_size = len(x) if len(x) <= 256 else 64
    common.fit(model, x, y, context, batch_size=batch_size, epochs=epochs)
    return model


def run(context: common.Context) -> common.FamilyResult:
    """ECE of plain, label-smoothed and focal cross-entropy; recall with a rare class."""
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = common.digits(context.seed)
    epochs = 300 if context.quick else 600
    imbalanced_epochs = 40 if context.quick else 120
    rng = np.random.default_rng(context.seed)
    few = np.concatenate(
        [rng.choice(np.flatnonzero(y_train == c), FEW, replace=False) for c in range(10)]
    )
    losses = {
        "cross-entropy": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        SMOOTHING_NAME: kerasloss.SparseLabelSmoothingCrossentropy(
            epsilon=SMOOTHING, from_logits=True
        ),
        "focal, gamma 2": kerasloss.SparseCategoricalFocalLoss(gamma=2.0, from_logits=True),
    }
    numbers: dict[str, Any] = {"epochs": epochs, "calibration_train_examples": len(few)}
    rows = []
    curves = {}
    keys = {"cross-entropy": "ce", SMOOTHING_NAME: "smoothing", "focal, gamma 2": "focal"}
    for name, loss in losses.items():
        model = _train(loss, x_train[few], y_train[few], context, epochs)
        probabilities = common.softmax(common.predict(model, x_test))
        ece, confidence, accuracy, counts = common.expected_calibration_error(probabilities, y_test)
        curves[name] = (confidence, accuracy, counts)
        key = keys[name]
        numbers[f"{key}_ece"] = ece
        numbers[f"{key}_accuracy"] = float(np.mean(probabilities.argmax(1) == y_test))
        numbers[f"{key}_mean_confidence"] = float(probabilities.max(1).mean())
        rows.append([name, ece, numbers[f"{key}_accuracy"], numbers[f"{key}_mean_confidence"]])

    # The imbalanced set (clean labels): the rare digit keeps KEPT of its examples.
    rare = np.flatnonzero(y_train == RARE)
    kept = rng.choice(rare, size=max(2, round(KEPT * len(rare))), replace=False)
    chosen = np.sort(np.concatenate([np.flatnonzero(y_train != RARE), kept]))
    numbers["rare_digit"] = RARE
    numbers["rare_train_examples"] = len(kept)
    numbers["train_examples"] = len(chosen)
    numbers["imbalanced_epochs"] = imbalanced_epochs
    recalls = {}
    # alpha-balanced focal loss, as Lin et al. use it: alpha_c proportional to 1 / (examples
    # of class c), scaled so that the common classes get 1.
    counts = np.bincount(y_train[chosen], minlength=10)
    alpha = (counts.max() / counts).round(2).tolist()
    numbers["imbalanced_focal_alpha"] = alpha
    for key, loss in (
        ("ce", keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        ("focal", kerasloss.SparseCategoricalFocalLoss(gamma=2.0, alpha=alpha, from_logits=True)),
    ):
        model = _train(loss, x_train[chosen], y_train[chosen], context, imbalanced_epochs)
        predicted = common.predict(model, x_test).argmax(1)
        recall = np.array([np.mean(predicted[y_test == c] == c) for c in range(10)])
        recalls[key] = recall
        numbers[f"imbalanced_{key}_recall"] = recall.tolist()
        numbers[f"imbalanced_{key}_rare_recall"] = float(recall[RARE])
        numbers[f"imbalanced_{key}_accuracy"] = float(np.mean(predicted == y_test))

    figure = common.new_figure(9.0, 4.0)
    axes = figure.add_subplot(1, 2, 1)
    _reliability(axes, curves)
    axes = figure.add_subplot(1, 2, 2)
    width = 0.4
    digits = np.arange(10)
    axes.bar(digits - width / 2, recalls["ce"], width, label="cross-entropy", color="#999999")
    axes.bar(
        digits + width / 2, recalls["focal"], width, label="focal, gamma 2, alpha", color="#d62728"
    )
    axes.set_xticks(digits)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("digit")
    axes.set_ylabel("recall on held-out digits")
    axes.set_title(f"digit {RARE} kept at {KEPT:.0%} of its training examples", fontsize=10)
    axes.legend(loc="lower left", fontsize=8)
    picture = common.save_figure(figure, context.out, "calibration.png")

    recall_rows = [
        [name, numbers[f"imbalanced_{key}_rare_recall"], numbers[f"imbalanced_{key}_accuracy"]]
        for key, name in (("ce", "cross-entropy"), ("focal", "focal, gamma 2, alpha-balanced"))
    ]
    explanation = [
        "A classifier's confidence should mean something: of the digits it labels with 90% "
        "confidence, about 90% should be right. The expected calibration error (ECE) "
        "measures the gap: sort the held-out predictions into ten confidence bins and "
        "average |accuracy &minus; confidence| over them, weighted by their size; on the "
        "reliability diagram a calibrated model lies on the diagonal, an overconfident one "
        "below it. Cross-entropy keeps pushing the right class's probability towards 1, "
        "and deep networks trained with it are often overconfident (Guo et al. 2017). "
        f"<code>SparseLabelSmoothingCrossentropy(epsilon={SMOOTHING})</code> aims at "
        f"{1 - SMOOTHING + SMOOTHING / 10:.2f} for the right class instead of 1, and "
        "<code>SparseCategoricalFocalLoss(gamma=2)</code> stops pulling on examples that "
        "are already right (its weight (1 &minus; p)<sup>&gamma;</sup> vanishes): both "
        "lower the confidence.",
        _verdict(numbers, len(few), epochs),
        f"The focal loss was made for imbalance. Here digit {RARE} keeps only {len(kept)} of "
        f"its {len(rare)} training examples. Lin et al. use it with a class weight "
        "&alpha; (here the inverse class frequency, so the rare digit weighs "
        f"{alpha[RARE]:.0f} and the others about 1) and the factor (1 &minus; p)"
        "<sup>&gamma;</sup>, which turns down the easy, common examples; together they "
        "give the rare class a larger share of the gradient. The bars show the recall of "
        "each digit on the held-out set.",
    ]
    return common.FamilyResult(
        name="calibration",
        title=TITLE,
        headline=(
            f"ECE {numbers['ce_ece']:.3f} (CE), {numbers['smoothing_ece']:.3f} (smoothing), "
            f"{numbers['focal_ece']:.3f} (focal); rare-digit recall "
            f"{numbers['imbalanced_ce_rare_recall']:.2f} -> "
            f"{numbers['imbalanced_focal_rare_recall']:.2f}"
        ),
        explanation=explanation,
        tables=[
            common.Table(
                ["loss", "ECE ↓", "accuracy ↑", "mean confidence"],
                rows,
                f"{len(y_test)} held-out digits; trained on {len(few)} digits, {epochs} epochs",
            ),
            common.Table(
                ["loss", f"recall of digit {RARE} ↑", "accuracy ↑"],
                recall_rows,
                f"Trained with digit {RARE} kept at {len(kept)} of {len(rare)} examples",
            ),
        ],
        figures=[
            (
                picture,
                "Left: reliability diagram (accuracy against confidence per bin; the "
                "diagonal is perfect calibration). Right: per-digit recall with one rare digit.",
            )
        ],
        numbers=numbers,
        seconds=time.perf_counter() - start,
    )


def _reliability(axes: Any, curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    colours = {
        "cross-entropy": "#555555",
        SMOOTHING_NAME: "#1f77b4",
        "focal, gamma 2": "#d62728",
    }
    axes.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle="--")
    for name, (confidence, accuracy, counts) in curves.items():
        used = counts > 0
        axes.plot(
            confidence[used],
            accuracy[used],
            marker="o",
            markersize=4,
            label=name,
            color=colours[name],
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.set_title("reliability on held-out digits", fontsize=10)
    axes.legend(loc="upper left", fontsize=8)


def _verdict(numbers: dict[str, Any], examples: int, epochs: int) -> str:
    """What this run's calibration numbers say, in words that match them."""
    ce = numbers["ce_ece"]
    better = [
        name
        for key, name in (("smoothing", "label smoothing"), ("focal", "the focal loss"))
        if numbers[f"{key}_ece"] < ce
    ]
    text = (
        f"Here a small network learns {examples} digits for {epochs} epochs. Cross-entropy "
        f"gives a mean confidence of {numbers['ce_mean_confidence']:.3f} for an accuracy of "
        f"{numbers['ce_accuracy']:.3f} (ECE {ce:.3f}). "
    )
    if len(better) == 2:
        return text + "Both other losses bring the confidence closer to the accuracy."
    if better:
        return text + f"Only {better[0]} brings the confidence closer to the accuracy."
    return text + (
        "This network is already close to calibrated, so both losses overshoot into "
        "underconfidence (their curves lie above the diagonal): they are a remedy for "
        "overconfident models, not a free improvement. On a deep network that is "
        "overconfident they move the curve towards the diagonal."
    )
