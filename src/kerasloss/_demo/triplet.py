"""Triplet mining on digits: recall@1 of three mining strategies against an untrained encoder."""

from __future__ import annotations

import time
from typing import Any

import keras

import kerasloss
from kerasloss._demo import common

TITLE = "Triplet mining"
MINING = ("batch_hard", "semi_hard", "batch_all")


def _encoder(seed: int) -> keras.Model:
    """64 pixels to a 2-D embedding: the picture is the embedding itself."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    hidden = common.mlp(inputs, [64, 32], seed)
    return keras.Model(inputs, common.dense(2, seed + 7)(hidden))


def run(context: common.Context) -> common.FamilyResult:
    """The same encoder, untrained and trained with `TripletLoss` under each mining."""
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = common.digits(context.seed)
    epochs = 30 if context.quick else 100
    untrained = _encoder(context.seed)
    untrained.compile(**common.compile_options())
    embeddings = {"untrained": common.predict(untrained, x_test)}
    for mining in MINING:
        encoder = _encoder(context.seed)
        encoder.compile(
            optimizer=keras.optimizers.Adam(3e-3),
            loss=kerasloss.TripletLoss(margin=1.0, mining=mining),
            **common.compile_options(),
        )
        # Batches of 128 from 10 classes: every anchor has positives and negatives.
        common.fit(encoder, x_train, y_train, context, batch_size=128, epochs=epochs)
        embeddings[mining] = common.predict(encoder, x_test)
    numbers: dict[str, Any] = {"epochs": epochs}
    rows = []
    numbers["retrieval"] = []
    for key, value in embeddings.items():
        recall = common.recall_at_1(value, y_test)
        name = key if key == "untrained" else f'TripletLoss(mining="{key}")'
        numbers[f"{key}_recall_at_1"] = recall
        rows.append([name, recall])
        numbers["retrieval"].append([name, *common.retrieval_row(value, y_test)])

    figure = common.new_figure(12.0, 3.4)
    for i, (key, value) in enumerate(embeddings.items()):
        common.scatter_2d(
            figure.add_subplot(1, 4, i + 1),
            value,
            y_test,
            f"{key}: recall@1 {numbers[key + '_recall_at_1']:.3f}",
        )
    picture = common.save_figure(figure, context.out, "triplet_embeddings.png")
    explanation = [
        "A triplet loss trains an encoder so that an anchor is closer to a positive (same "
        "label) than to a negative (another label) by a margin: "
        "max(0, m + d(a, p) &minus; d(a, n)). "
        "Which triplets to use matters more than the formula. <code>TripletLoss</code> mines "
        "them inside each batch, in O(B²) memory: <code>batch_hard</code> takes each anchor's "
        "farthest positive and nearest negative; <code>semi_hard</code> the nearest negative "
        "that is still farther than the positive; <code>batch_all</code> averages every "
        "triplet that still violates the margin.",
        "The encoder maps the 64 pixels to 2 numbers, so the picture is the embedding "
        "itself. Recall@1 is the share of held-out digits whose nearest other held-out "
        "digit has the same label (at k = 1 it is also precision@1). The untrained encoder "
        "is the same network before training: a random projection.",
    ]
    best = max(MINING, key=lambda m: numbers[f"{m}_recall_at_1"])
    return common.FamilyResult(
        name="triplet",
        title=TITLE,
        headline=(
            f"recall@1 {numbers['untrained_recall_at_1']:.3f} untrained -> "
            + ", ".join(f"{numbers[m + '_recall_at_1']:.3f} {m}" for m in MINING)
            + f" (best {best})"
        ),
        explanation=explanation,
        tables=[
            common.Table(
                ["encoder", "recall@1 ↑"],
                rows,
                f"{len(y_test)} held-out digits, 2-D embeddings, {epochs} epochs",
            )
        ],
        figures=[(picture, "Held-out digits in the 2-D embedding, before and after training.")],
        numbers=numbers,
        seconds=time.perf_counter() - start,
    )
