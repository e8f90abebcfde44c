"""Scores to label sets: a fixed cut, or the linear threshold function of BP-MLL.

A multi-label model outputs one real score per label; these functions decide which
labels an example has. `apply_threshold` cuts at a fixed value or one value per
example; `fit_linear_threshold` fits Zhang & Zhou's (2006) per-example threshold on a
trained model's training-set scores, and `linear_threshold` evaluates it.
`kerasloss.layers.LinearThreshold` is the same rule as a layer that saves with a model.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kerasloss._internal.dtypes import float_tensor, hyper_tensor, working_dtype
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["apply_threshold", "best_cut_per_example", "fit_linear_threshold", "linear_threshold"]


def apply_threshold(scores: TensorLike, threshold: TensorLike = 0.0) -> Tensor:
    """The label sets scores predict: label j is in when `scores[..., j] > threshold`.

    Formula:

    ```python
    labels[i, j] = 1.0 if scores[i, j] > threshold[i] else 0.0   # one threshold per example
    labels[i, j] = 1.0 if scores[i, j] > threshold else 0.0      # one for all
    ```

    The comparison is made in at least float32, so a threshold such as 0.3 is not
    rounded to a 16-bit score dtype.

    Args:
        scores: real scores, shape (B, C).
        threshold: one number for all (0 suits tanh outputs and logits), or one per
            example, shape (B,) or (B, 1), such as `linear_threshold`'s output. For one
            threshold per label pass shape (1, C): a 1-D threshold is always per example.

    Returns:
        A multi-hot tensor of 0s and 1s, shape (B, C), in the scores' float dtype (Keras'
        default float type for integer scores).

    Raises:
        ValueError: if a 1-D threshold's length is not the number of examples.

    Example:
        >>> scores = [[0.3, -0.2, 0.9], [0.0, 0.5, -1.0]]
        >>> print(keras.ops.convert_to_numpy(apply_threshold(scores)))
        [[1. 0. 1.]
         [0. 1. 0.]]
        >>> print(keras.ops.convert_to_numpy(apply_threshold(scores, [0.5, -0.5])))
        [[0. 0. 1.]
         [1. 1. 0.]]

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 3.3 (the
        predicted label set {j: c_j(x) > t(x)}).
    """
    scores = float_tensor(scores)
    # Compared in at least float32, so a threshold such as 0.3 is not rounded to bfloat16.
    compare = working_dtype(scores.dtype)
    threshold = ops.convert_to_tensor(threshold, dtype=compare)
    if len(threshold.shape) == 1 and len(scores.shape) > 1:  # one per example
        size, batch = threshold.shape[0], scores.shape[0]
        if size is not None and batch is not None and size != batch:
            raise ValueError(
                f"A 1-D `threshold` holds one threshold per example: {batch} for these "
                f"scores, got {size}. For one threshold per label pass shape (1, C)."
            )
        threshold = threshold[..., None]
    return ops.cast(ops.greater(ops.cast(scores, compare), threshold), scores.dtype)


def linear_threshold(scores: TensorLike, coefficients: TensorLike, intercept: float) -> Tensor:
    """BP-MLL's per-example threshold, a linear function of the example's label scores.

    Formula:

    ```python
    t[i] = sum_j(scores[i, j] * coefficients[j]) + intercept
    ```

    `fit_linear_threshold` finds `coefficients` and `intercept`; `apply_threshold(scores,
    t)` then gives the label sets, and `kerasloss.layers.LinearThreshold` does both in a
    layer.

    Args:
        scores: real scores, shape (B, C).
        coefficients: one weight per label, shape (C,).
        intercept: a real number.

    Returns:
        The thresholds, shape (B,), in the scores' float dtype (Keras' default float type
        for integer scores).

    Raises:
        ValueError: if `coefficients` does not have shape (C,), one weight per label of
            `scores`.

    Example:
        >>> scores = [[0.3, -0.2, 0.9], [0.0, 0.5, -1.0]]
        >>> t = linear_threshold(scores, [0.5, 0.0, 0.5], -0.1)  # 0.15 + 0.45 - 0.1, ...
        >>> print(keras.ops.convert_to_numpy(t))
        [ 0.5 -0.6]
        >>> print(keras.ops.convert_to_numpy(apply_threshold(scores, t)))
        [[0. 0. 1.]
         [1. 1. 0.]]

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 3.3.
    """
    scores = float_tensor(scores)
    coefficients = hyper_tensor(coefficients, scores.dtype)
    num_labels = scores.shape[-1] if len(scores.shape) else None
    if len(coefficients.shape) != 1 or (
        num_labels is not None and coefficients.shape[0] not in (None, num_labels)
    ):
        # Broadcasting would otherwise turn a (1,) or (B, 1) array into a wrong threshold.
        raise ValueError(
            f"`coefficients` must have shape (C,) = ({num_labels},), one weight per label of "
            f"`scores` of shape {tuple(scores.shape)}; got shape {tuple(coefficients.shape)}."
        )
    return ops.sum(scores * coefficients, axis=-1) + hyper_tensor(intercept, scores.dtype)


def _as_score_matrix(name: str, value: TensorLike) -> np.ndarray:
    if isinstance(value, (str, bytes, dict)):
        raise TypeError(f"`{name}` must be an array of numbers; got {type(value).__name__}.")
    if ops.is_tensor(value):
        value = ops.convert_to_numpy(value)
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"`{name}` must have shape (N, C) with N, C >= 1; got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must hold finite numbers; it contains NaN or inf.")
    return array


def best_cut_per_example(scores: TensorLike, y_true: TensorLike) -> np.ndarray:
    """For each example, the cut between its scores that misplaces the fewest labels.

    The candidates are every midpoint between neighbouring sorted scores, plus the
    lowest score minus 0.1 and the highest plus 0.1 (Zhang & Zhou 2006, section 3.3).
    A candidate t misplaces the relevant labels with score <= t and the irrelevant
    ones with score > t, the rule `apply_threshold` predicts with. On ties the lowest
    such t wins. An example with only relevant labels gets the lowest score - 0.1; one
    with no relevant label gets the highest score + 0.1, or the highest score itself
    when it is tied (nothing scores above it either way). Computed in NumPy (float64),
    not in a graph: it prepares the targets of `fit_linear_threshold`.

    Formula:

    ```python
    # per example: s = scores[i] sorted ascending, Y = {j: y_true[i, j] > 0.5}
    candidates = [s[0] - 0.1] + [(s[j] + s[j + 1]) / 2 for j in range(C - 1)] + [s[-1] + 0.1]
    errors(t) = #{k in Y: scores[i, k] <= t} + #{l not in Y: scores[i, l] > t}
    cut[i] = the lowest candidate t with the fewest errors(t)
    ```

    Args:
        scores: NumPy-convertible scores of N examples, shape (N, C).
        y_true: multi-hot labels, shape (N, C); an entry > 0.5 is relevant.

    Returns:
        A float64 NumPy array of shape (N,).

    Raises:
        TypeError: if `scores` or `y_true` is a string, bytes or a dict.
        ValueError: if the shapes differ or are not (N, C) with N, C >= 1, or a score
            or label is not finite.

    Example:
        >>> scores = [[-0.6, -0.2], [-0.4, -0.4], [0.6, -0.8]]
        >>> y_true = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
        >>> # a midpoint, the lowest score - 0.1 (all relevant), a midpoint
        >>> print(best_cut_per_example(scores, y_true))
        [-0.4 -0.5 -0.1]

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 3.3.
    """
    scores = _as_score_matrix("scores", scores)
    labels = _as_score_matrix("y_true", y_true)
    if labels.shape != scores.shape:
        raise ValueError(
            f"`y_true` must have shape {scores.shape} to match `scores`; got {labels.shape}."
        )
    n, c = scores.shape
    order = np.argsort(scores, axis=1, kind="stable")
    ascending = np.take_along_axis(scores, order, axis=1)
    relevant = np.take_along_axis(labels > 0.5, order, axis=1)
    candidates = np.concatenate(
        [
            ascending[:, :1] - 0.1,
            ascending[:, :-1] + (ascending[:, 1:] - ascending[:, :-1]) / 2,
            ascending[:, -1:] + 0.1,
        ],
        axis=1,
    )
    # How many scores are <= each candidate, exactly (a midpoint may round onto a
    # score): in one stable sort of scores then candidates, a score sorts before an
    # equal candidate, so it is the number of scores sorted before the candidate.
    merged = np.concatenate([ascending, candidates], axis=1)
    merged_order = np.argsort(merged, axis=1, kind="stable")
    is_score = merged_order < c
    scores_so_far = np.cumsum(is_score, axis=1)
    rows, places = np.nonzero(~is_score)
    at_or_below = np.empty((n, c + 1), dtype=np.int64)
    at_or_below[rows, merged_order[rows, places] - c] = scores_so_far[rows, places]
    # Sets of scores <= t never split a tie, so the sort order within ties is irrelevant.
    relevant_so_far = np.concatenate(
        [np.zeros((n, 1), np.int64), np.cumsum(relevant, axis=1)], axis=1
    )
    relevant_below = np.take_along_axis(relevant_so_far, at_or_below, axis=1)
    irrelevant_above = (c - relevant.sum(axis=1, keepdims=True)) - (at_or_below - relevant_below)
    errors = relevant_below + irrelevant_above
    return candidates[np.arange(n), np.argmin(errors, axis=1)]


def fit_linear_threshold(scores: TensorLike, y_true: TensorLike) -> tuple[np.ndarray, float]:
    """Fits BP-MLL's linear threshold function on a trained model's scores.

    Each training example gets its best cut (`best_cut_per_example`); ordinary least
    squares then fits a linear function of the scores to those cuts. Use it after
    training, on the scores of the training set (NumPy, not in a graph), then predict
    label sets with `apply_threshold(scores, linear_threshold(scores, coefficients,
    intercept))` or the layer `kerasloss.layers.LinearThreshold`.

    Formula:

    ```python
    cuts = best_cut_per_example(scores, y_true)                       # shape (N,)
    coefficients, intercept = argmin_{w, b} sum_i (scores[i] . w + b - cuts[i]) ** 2
    ```

    Args:
        scores: scores of N training examples, shape (N, C).
        y_true: their multi-hot labels, shape (N, C); an entry > 0.5 is relevant.

    Returns:
        `(coefficients, intercept)`: a float64 NumPy array of shape (C,) and a float.
        Where the system is rank-deficient (fewer than C + 1 distinct examples), the
        least-squares solution of smallest norm.

    Raises:
        TypeError: if `scores` or `y_true` is a string, bytes or a dict.
        ValueError: if the shapes differ or are not (N, C) with N, C >= 1, or a score
            or label is not finite.

    Example:
        >>> scores = [[-0.6, -0.2], [-0.4, -0.4], [0.6, -0.8]]
        >>> y_true = [[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]]
        >>> # the cuts -0.4, -0.5, -0.1 lie exactly on t = 1.0 * s0 + 1.5 * s1 + 0.5
        >>> coefficients, intercept = fit_linear_threshold(scores, y_true)
        >>> print(np.round(coefficients, 4), round(intercept, 4))
        [1.  1.5] 0.5
        >>> t = linear_threshold(scores, coefficients, intercept)
        >>> print(keras.ops.convert_to_numpy(apply_threshold(scores, t)))
        [[0. 1.]
         [1. 1.]
         [1. 0.]]

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 3.3.
    """
    cuts = best_cut_per_example(scores, y_true)
    scores = _as_score_matrix("scores", scores)
    design = np.concatenate([scores, np.ones((len(scores), 1))], axis=1)
    solution = np.linalg.lstsq(design, cuts, rcond=None)[0]
    return solution[:-1], float(solution[-1])
