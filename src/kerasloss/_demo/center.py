"""Center loss on digits: 2-D features with and without it, as in Wen et al.'s figure."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

import kerasloss
from kerasloss._demo import common

TITLE = "Center loss"
LOSS_WEIGHT = 0.5


def _train(
    with_center: bool, data: tuple[np.ndarray, ...], context: common.Context, epochs: int
) -> keras.Model:
    """A classifier whose last hidden layer has 2 units; returns the feature model."""
    x_train, y_train = data[0], data[1]
    keras.utils.set_random_seed(context.seed)
    x_in = keras.Input((64,))
    y_in = keras.Input((), dtype="int32")
    hidden = common.mlp(x_in, [64, 32], context.seed)
    features = common.dense(2, context.seed + 7, name="features")(hidden)
    if with_center:
        center = kerasloss.layers.CenterLoss(10, loss_weight=LOSS_WEIGHT, alpha=0.5)
        features_out = center([features, y_in])  # adds the weighted term with add_loss
    else:
        features_out = features
    head = common.dense(10, context.seed + 9)
    model = keras.Model([x_in, y_in], head(features_out))
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **common.compile_options(),
    )
    common.fit(model, [x_train, y_train], y_train, context, batch_size=128, epochs=epochs)
    # The center layer passes the features through: prediction needs no labels.
    return common.prediction_model(x_in, [features, head(features)])


def run(context: common.Context) -> common.FamilyResult:
    """Softmax alone against softmax plus center loss, on the same network."""
    start = time.perf_counter()
    data = common.digits(context.seed)
    x_test, y_test = data[2], data[3]
    epochs = 40 if context.quick else 120
    numbers: dict[str, Any] = {"epochs": epochs, "loss_weight": LOSS_WEIGHT}
    rows = []
    figure = common.new_figure(9.0, 4.4)
    for i, (key, name) in enumerate(
        (("softmax", "softmax only"), ("center", f"softmax + center loss (λ={LOSS_WEIGHT})"))
    ):
        model = _train(key == "center", data, context, epochs)
        features, logits = (
            np.asarray(keras.ops.convert_to_numpy(a))
            for a in model.predict(x_test, verbose=0, batch_size=512)
        )
        ratio = common.intra_inter_ratio(features, y_test)
        accuracy = float(np.mean(logits.argmax(1) == y_test))
        numbers[f"{key}_intra_inter_ratio"] = ratio
        numbers[f"{key}_accuracy"] = accuracy
        rows.append([name, ratio, accuracy])
        numbers.setdefault("retrieval", []).append(
            [f"{name} (features)", *common.retrieval_row(features, y_test)]
        )
        common.scatter_2d(
            figure.add_subplot(1, 2, i + 1), features, y_test, f"{name}: intra/inter {ratio:.3f}"
        )
    picture = common.save_figure(figure, context.out, "center_features.png")
    explanation = [
        "Wen et al. (2016) gave a classifier a 2-D feature layer and drew the features: "
        "softmax alone separates the classes into long radial spokes, enough to classify "
        "but loose, with large distances inside a class. Center loss adds "
        "&frac12;&#8214;x &minus; c<sub>y</sub>&#8214;&sup2;, the squared distance from "
        "each feature to a centre kept for its "
        "class, so each class contracts around its centre.",
        "<code>kerasloss.layers.CenterLoss(10, loss_weight=0.5, alpha=0.5)</code> keeps the "
        "centres (updated with the paper's rule, <code>alpha</code>) and adds the weighted "
        "term with <code>add_loss</code>; the labels are a model input, and a second model "
        "without them predicts. The measure is the mean distance of a feature to its "
        "class mean divided by the mean distance between class means, on held-out "
        "digits: lower is tighter.",
    ]
    return common.FamilyResult(
        name="center",
        title=TITLE,
        headline=(
            f"intra/inter ratio {numbers['softmax_intra_inter_ratio']:.3f} -> "
            f"{numbers['center_intra_inter_ratio']:.3f}"
        ),
        explanation=explanation,
        tables=[
            common.Table(
                ["model", "intra/inter distance ↓", "accuracy ↑"],
                rows,
                f"{len(y_test)} held-out digits, 2-D features, {epochs} epochs",
            )
        ],
        figures=[(picture, "Held-out 2-D features, coloured by digit.")],
        numbers=numbers,
        seconds=time.perf_counter() - start,
    )
