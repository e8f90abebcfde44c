"""NumPy float64 references of the pinball loss, the weighted kappa loss and Cohen's kappa.

Written from TensorFlow Addons' definitions (`tfa.losses.pinball_loss`,
`tfa.losses.WeightedKappaLoss`), which cannot be installed next to Keras 3, and from the
papers' formulas; never from kerasloss.
"""

from __future__ import annotations

import numpy as np


def pinball(y_true, y_pred, tau):
    """Addons' pinball loss: per sample, the mean over every non-batch axis.

    `tau` (a scalar or one level per last-axis entry) broadcasts against the trailing
    axes and the difference y_true - y_pred broadcasts as NumPy does, as in Addons.
    """
    y_true = np.asarray(y_true, np.float64)
    y_pred = np.asarray(y_pred, np.float64)
    tau = np.asarray(tau, np.float64)
    diff = y_true - y_pred
    loss = np.maximum(tau * diff, (tau - 1.0) * diff)
    return loss.reshape(loss.shape[0], -1).mean(axis=1)


def kappa_weight_table(num_classes, weightage):
    """W[i, j]: |i - j| (linear), (i - j)^2 (quadratic), or [i != j] (None)."""
    i = np.arange(num_classes, dtype=np.float64)[:, None]
    j = np.arange(num_classes, dtype=np.float64)[None, :]
    if weightage is None:
        return (i != j).astype(np.float64)
    return np.abs(i - j) if weightage == "linear" else (i - j) ** 2


def weighted_kappa_tfa(y_true, y_pred, weightage="quadratic", epsilon=1e-6):
    """Addons' `WeightedKappaLoss` value of a batch (a scalar), restated step by step.

    Each row's class is y_true @ [0, 1, ..., C-1]; the numerator weighs every predicted
    probability by its distance to that class; the denominator is the label histogram
    times W times the summed predictions, over the batch size; a zero denominator gives
    a ratio of 0 (`divide_no_nan`); then log(ratio + epsilon).
    """
    y_true = np.asarray(y_true, np.float64)
    y_pred = np.asarray(y_pred, np.float64)
    batch, num_classes = y_true.shape
    classes = np.arange(num_classes, dtype=np.float64)
    row_class = y_true @ classes
    distance = row_class[:, None] - classes[None, :]
    weight = np.abs(distance) if weightage == "linear" else distance**2
    numerator = np.sum(weight * y_pred)
    table = kappa_weight_table(num_classes, weightage)
    denominator = y_true.sum(axis=0) @ table @ y_pred.sum(axis=0) / batch
    ratio = 0.0 if denominator == 0 else numerator / denominator
    return np.log(ratio + epsilon)


def weighted_kappa_paper(y_true, y_pred, weightage="quadratic", epsilon=1e-6):
    """The same loss from de la Torre et al.'s soft kappa: log(1 - kappa + epsilon).

    Observed soft confusion O[i, j] = sum_b y[b, i] p[b, j]; chance E[i, j] =
    (sum_b y[b, i]) (sum_b p[b, j]) / B; kappa = 1 - sum(W O) / sum(W E). For one-hot
    labels this is Addons' value.
    """
    y_true = np.asarray(y_true, np.float64)
    y_pred = np.asarray(y_pred, np.float64)
    table = kappa_weight_table(y_true.shape[1], weightage)
    observed = y_true.T @ y_pred
    expected = np.outer(y_true.sum(axis=0), y_pred.sum(axis=0)) / y_true.shape[0]
    kappa = 1.0 - np.sum(table * observed) / np.sum(table * expected)
    return np.log(1.0 - kappa + epsilon)


def cohen_kappa(labels, predicted, num_classes, weightage=None, sample_weight=None):
    """Cohen's (1960, 1968) kappa of two ratings, from their confusion matrix; NaN if undefined."""
    labels = np.asarray(labels).astype(int)
    predicted = np.asarray(predicted).astype(int)
    weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, float)
    confusion = np.zeros((num_classes, num_classes))
    np.add.at(confusion, (labels, predicted), weights)
    total = confusion.sum()
    if total == 0:
        return np.nan
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0)) / total
    table = kappa_weight_table(num_classes, weightage)
    chance = np.sum(table * expected)
    return np.nan if chance == 0 else 1.0 - np.sum(table * confusion) / chance
