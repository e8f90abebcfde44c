"""BP-MLL on Yeast: five multi-label metrics, next to cross-entropy and logistic regression."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

import kerasloss
from kerasloss import metrics
from kerasloss._demo import common

TITLE = "BP-MLL on Yeast"
OUTPUT_SCALE = 3.0  # BP-MLL outputs OUTPUT_SCALE * tanh(z), as in examples/yeast_bpmll.py
COLUMNS = [
    ("hamming", "Hamming loss ↓"),
    ("one_error", "one-error ↓"),
    ("coverage", "coverage ↓"),
    ("ranking", "ranking loss ↓"),
    ("lrap", "average precision ↑"),
]


def _network(bpmll: bool, seed: int, hidden: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    regularizer = keras.regularizers.L2(1e-3 if bpmll else 1e-4)
    inputs = keras.Input((103,))
    x = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer)(inputs)
    x = keras.layers.Dropout(0.5 if bpmll else 0.3, seed=seed)(x)
    x = keras.layers.Dense(
        14, activation="tanh" if bpmll else None, kernel_regularizer=regularizer
    )(x)
    if bpmll:
        x = keras.layers.Rescaling(OUTPUT_SCALE)(x)
    return keras.Model(inputs, x)


def _scores(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The five metrics of scores whose cut between relevant and not is 0."""

    def mean(value: Any) -> float:
        return float(np.mean(keras.ops.convert_to_numpy(value)))

    return {
        "hamming": mean(metrics.hamming_loss(y, scores, threshold=0.0)),
        "one_error": mean(metrics.one_error(y, scores)),
        "coverage": mean(metrics.coverage_error(y, scores)),
        "ranking": mean(metrics.label_ranking_loss(y, scores)),
        "lrap": mean(metrics.label_ranking_average_precision(y, scores)),
    }


def run(context: common.Context) -> common.FamilyResult:
    """BP-MLL and binary cross-entropy on the same network; one-vs-rest logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    start = time.perf_counter()
    x_train, y_train, x_test, y_test = common.yeast()
    hidden = 128 if context.quick else 512
    epochs = {"bpmll": 10 if context.quick else 15, "bce": 15 if context.quick else 25}
    results = {}
    for key in ("bpmll", "bce"):
        model = _network(key == "bpmll", context.seed, hidden)
        loss = (
            kerasloss.BPMLLLoss()
            if key == "bpmll"
            else keras.losses.BinaryCrossentropy(from_logits=True)
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, **common.compile_options())
        common.fit(model, x_train, y_train, context, batch_size=32, epochs=epochs[key])
        results[key] = _scores(y_test, common.predict(model, x_test))
    logistic = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=1.0))
    logistic.fit(x_train, y_train)
    results["logistic"] = _scores(y_test, logistic.decision_function(x_test))

    names = {
        "bpmll": "BP-MLL (BPMLLLoss)",
        "bce": "binary cross-entropy",
        "logistic": "one-vs-rest logistic regression",
    }
    rows = [[names[key], *(results[key][c] for c, _ in COLUMNS)] for key in names]
    numbers: dict[str, Any] = {
        "hidden_units": hidden,
        "epochs": epochs,
        **{f"{key}_{c}": results[key][c] for key in results for c, _ in COLUMNS},
    }

    figure = common.new_figure(9.0, 3.2)
    for i, (column, label) in enumerate(COLUMNS):
        axes = figure.add_subplot(1, 5, i + 1)
        values = [results[key][column] for key in names]
        axes.bar(range(3), values, color=["#d62728", "#777777", "#1f77b4"])
        axes.set_xticks(range(3), ["BP-MLL", "BCE", "LR"], fontsize=8)
        axes.set_title(label, fontsize=9)
        axes.tick_params(axis="y", labelsize=7)
    picture = common.save_figure(figure, context.out, "bpmll_yeast.png")

    explanation = [
        "Yeast is a classic multi-label set: 2417 genes, 103 expression features, and 14 "
        "functional classes, about 4 per gene. Trained on rows 0&ndash;1499 and tested on rows "
        "1500&ndash;2416 (the usual split), a network must rank each gene's relevant classes "
        "above the others. Binary cross-entropy treats the 14 labels as 14 separate "
        "problems. BP-MLL (Zhang &amp; Zhou, 2006) instead penalises every pair of one "
        "relevant and one irrelevant label whose scores are in the wrong order, "
        "exp(&minus;(c_relevant &minus; c_irrelevant)), which is what the ranking metrics measure.",
        "The five metrics: Hamming loss (the share of label decisions that are wrong, at the "
        "cut 0), one-error (the top-ranked label is not relevant), coverage (how far down "
        "the ranking one must go to cover every relevant label), ranking loss (the share "
        "of relevant/irrelevant pairs in the wrong order), and label-ranking average "
        "precision. All are computed with <code>kerasloss.metrics</code>, which equal "
        "scikit-learn's. A one-vs-rest logistic regression is the linear baseline. "
        "The Hamming loss cuts every score at 0; BP-MLL's scores are made for ranking, "
        "and its paper learns the cut from the scores (<code>kerasloss.thresholds</code>). "
        "<code>examples/yeast_bpmll.py</code> has that, the tuned recipe and an ensemble.",
    ]
    return common.FamilyResult(
        name="bpmll",
        title=TITLE,
        headline=(
            f"ranking loss {results['bpmll']['ranking']:.3f} (BP-MLL), "
            f"{results['bce']['ranking']:.3f} (BCE), {results['logistic']['ranking']:.3f} (LR)"
        ),
        explanation=explanation,
        tables=[
            common.Table(
                ["model", *(label for _, label in COLUMNS)],
                rows,
                f"{len(y_test)} held-out genes; {hidden} hidden units, "
                f"{epochs['bpmll']} epochs (BP-MLL), {epochs['bce']} (cross-entropy)",
            )
        ],
        figures=[(picture, "The five multi-label metrics on the held-out genes.")],
        numbers=numbers,
        seconds=time.perf_counter() - start,
    )
