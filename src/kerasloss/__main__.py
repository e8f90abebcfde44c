"""`python -m kerasloss`: a short, runnable tour on whichever backend KERAS_BACKEND selects.

It trains the same small classifier twice on synthetic data, once with plain
cross-entropy and once with `CostSensitiveCrossentropy`, where missing the rare class
costs ten times more, and prints what each model costs on held-out data. Then it
saves the cost-sensitive model as `.keras` and loads it back with only `import kerasloss`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence

import keras
import numpy as np

import kerasloss

NUM_CLASSES = 3
RARE = 2
# Row: true class, column: predicted class. Calling a rare example common costs 10.
COSTS = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [10.0, 10.0, 0.0]]) + np.eye(3) * 0.1


def _data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian blobs; the third class is one example in ten."""
    labels = rng.choice(NUM_CLASSES, size=n, p=[0.45, 0.45, 0.10])
    means = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.2]])
    x = means[labels] + rng.normal(scale=0.9, size=(n, 2))
    return x.astype("float32"), labels


def _model(seed: int) -> keras.Sequential:
    """The same small classifier, with the same initial weights for a given seed."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)]
    )


def _report(name: str, model: keras.Model, x: np.ndarray, labels: np.ndarray) -> float:
    """Prints accuracy, rare-class recall and mean cost on (x, labels); returns the cost."""
    predicted = np.argmax(model.predict(x, verbose=0), axis=1)
    cost = COSTS[labels, predicted].mean()
    rare = labels == RARE
    recall = (predicted[rare] == RARE).mean()
    print(
        f"  {name:<32} accuracy {np.mean(predicted == labels):.3f}   "
        f"rare-class recall {recall:.3f}   mean cost {cost:.3f}"
    )
    return float(cost)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the tour; returns 0 if the reloaded model predicts as the saved one."""
    parser = argparse.ArgumentParser(
        prog="python -m kerasloss",
        # Docstrings are None under `python -OO`.
        description="A short, runnable tour of kerasloss on the backend KERAS_BACKEND selects.",
    )
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    print(
        f"kerasloss {kerasloss.__version__} on Keras {keras.__version__}, "
        f"backend {keras.backend.backend()}"
    )
    rng = np.random.default_rng(0)
    x_train, y_train = _data(3000, rng)
    x_test, y_test = _data(3000, rng)
    onehot = keras.utils.to_categorical(y_train, NUM_CLASSES)

    plain = _model(seed=1)
    plain.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    plain.fit(x_train, onehot, batch_size=64, epochs=args.epochs, verbose=0)

    costly = _model(seed=1)
    loss = kerasloss.CostSensitiveCrossentropy(cost_matrix=COSTS, from_logits=True)
    costly.compile("adam", loss)
    costly.fit(x_train, onehot, batch_size=64, epochs=args.epochs, verbose=0)

    print(f"Held-out data, {len(y_test)} examples, {np.sum(y_test == RARE)} of the rare class:")
    _report("categorical cross-entropy", plain, x_test, y_test)
    _report("CostSensitiveCrossentropy", costly, x_test, y_test)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cost_sensitive.keras")
        costly.save(path)
        reloaded = keras.saving.load_model(path)
        same = np.allclose(reloaded.predict(x_test, verbose=0), costly.predict(x_test, verbose=0))
        print(
            f"Saved and reloaded {type(reloaded.loss).__name__} from .keras: "
            f"{'same predictions' if same else 'DIFFERENT predictions'}"
        )
    print(f"Done in {time.perf_counter() - start:.1f} s.")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
