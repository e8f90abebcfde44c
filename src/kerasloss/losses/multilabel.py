"""Multi-label ranking: the BP-MLL loss, and turning label scores into label sets.

The loss compares every relevant label of an example with every irrelevant one, yet
costs O(B * C): the double sum over label pairs factorises into two log-sum-exps.
The thresholds turn the scores of a trained model into label sets, by a fixed cut or
by the linear threshold function of Zhang & Zhou (2006), fitted on training outputs.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerasloss import _checks
from kerasloss._numerics import float_tensor, working_dtype
from kerasloss.losses._base import PerSampleLoss

_register = keras.saving.register_keras_serializable(package="kerasloss")


def _masked_logsumexp(x, mask, nonempty):
    """log sum_{j: mask_j} exp(x_j) over the last axis, finite in value and gradient.

    Entries outside the mask never enter an `exp`: each masked-out entry is replaced by
    a finite value *before* the `exp`, and again after it (a `where` on both sides), so
    an overflowing `exp` of an unselected entry cannot turn its zero gradient into NaN.
    Rows with nothing in the mask (`nonempty` False) give 0, with zero gradient.
    """
    zero = ops.zeros_like(x)
    masked = ops.where(mask, x, ops.min(x, axis=-1, keepdims=True))
    shift = ops.stop_gradient(ops.max(masked, axis=-1, keepdims=True))
    centred = ops.where(mask, x - shift, zero)  # <= 0 where selected
    total = ops.sum(ops.where(mask, ops.exp(centred), zero), axis=-1)
    # `total` >= 1 on a non-empty row (its maximum adds exp(0)); an empty row takes log 1.
    value = ops.log(ops.where(nonempty, total, ops.ones_like(total))) + ops.squeeze(shift, -1)
    return ops.where(nonempty, value, ops.zeros_like(value))


def _multilabel_inputs(y_true, y_pred):
    y_pred = float_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) < 2:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, C), one score per label; "
            f"got shape {tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred)
    return y_true, y_pred


@_register
def bpmll_loss(y_true, y_pred):
    """BP-MLL: the exponential pairwise ranking loss of Zhang & Zhou (2006).

    Formula, per example with relevant labels Y and irrelevant labels Ȳ:

    ```python
    loss = 1 / (|Y| |Ȳ|) * sum_{k in Y, l in Ȳ} exp(-(c_k - c_l))
         = exp(logsumexp_{l in Ȳ}(c_l) + logsumexp_{k in Y}(-c_k) - log|Y| - log|Ȳ|)
    ```

    The second line is the same sum, since exp(c_l - c_k) = exp(c_l) * exp(-c_k): it
    costs O(B * C) time and memory, never a (B, C, C) tensor of label pairs.

    The loss is undefined in the paper for an example whose Y or Ȳ is empty (all
    labels irrelevant, or all relevant). Such an example contributes 0 and a zero
    gradient; with the default reduction it still counts in the batch mean.

    Scores are unbounded reals; the paper uses tanh outputs in [-1, 1]. The value can
    be as large as exp(max_l c_l - min_k c_k): finite in float32 for a gap up to 88
    (scores up to |c| = 40 give at most e^80 = 5.5e34). float16 and bfloat16 inputs are
    computed in float32 and the result cast back, so bfloat16 has float32's range, but
    float16 overflows to inf once the loss passes 65504, a score gap above about 11.

    Args:
        y_true: multi-hot labels, shape (B, C) (or (..., C)); an entry > 0.5 marks a
            relevant label.
        y_pred: real scores, one per label, same shape.

    Returns:
        The loss per example, shape (B,) (or (...)).

    Raises:
        ValueError: if `y_pred` has rank < 2 or `y_true` does not have its shape.

    Example:
        >>> bpmll_loss([[1.0, 0.0, 1.0]], [[0.9, -0.8, 0.1]])  # mean of e^-1.7, e^-0.9

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to
    Functional Genomics and Text Categorization", IEEE TKDE 18(10), 2006, eq. (4).
    """
    y_true, y_pred = _multilabel_inputs(y_true, y_pred)
    out_dtype = keras.backend.standardize_dtype(y_pred.dtype)
    # 16-bit scores are computed in float32: counts up to C and the log-sum-exp need its
    # precision. The result is cast back to the input's dtype.
    scores = ops.cast(y_pred, working_dtype(out_dtype))
    relevant = ops.greater(ops.cast(y_true, scores.dtype), 0.5)
    irrelevant = ops.logical_not(relevant)
    n_relevant = ops.sum(ops.cast(relevant, scores.dtype), axis=-1)
    n_irrelevant = ops.sum(ops.cast(irrelevant, scores.dtype), axis=-1)
    one = ops.ones_like(n_relevant)
    has_pos = ops.greater(n_relevant, 0.5)
    has_neg = ops.greater(n_irrelevant, 0.5)
    defined = ops.logical_and(has_pos, has_neg)
    log_loss = (
        _masked_logsumexp(scores, irrelevant, has_neg)
        + _masked_logsumexp(-scores, relevant, has_pos)
        - ops.log(ops.where(has_pos, n_relevant, one))
        - ops.log(ops.where(has_neg, n_irrelevant, one))
    )
    # Double `where`: the undefined rows never reach the exp, so their gradient is 0.
    zero = ops.zeros_like(log_loss)
    loss = ops.where(defined, ops.exp(ops.where(defined, log_loss, zero)), zero)
    return ops.cast(loss, out_dtype)


@_register
class BPMLLLoss(PerSampleLoss):
    """BP-MLL ranking loss for multi-label scores; see `bpmll_loss`.

    Takes multi-hot `y_true` (B, C) and real scores `y_pred` (B, C), for example a
    `Dense(C, activation="tanh")` output as in the paper, or unbounded scores. Examples
    with no relevant or no irrelevant label contribute 0.

    Args:
        reduction, name, dtype: as for `keras.losses.Loss`.

    Example:
        >>> model.compile(optimizer="adam", loss=BPMLLLoss())

    Reference: Zhang & Zhou, IEEE TKDE 18(10), 2006.
    """

    def __init__(
        self,
        *,
        reduction="sum_over_batch_size",
        name: str = "bpmll_loss",
        dtype=None,
    ):
        super().__init__(bpmll_loss, name=name, reduction=reduction, dtype=dtype)


# --------------------------------------------------------------- scores to label sets


def apply_threshold(scores, threshold=0.0):
    """The label set predicted by scores: label j is in it when `scores[..., j] > threshold`.

    Args:
        scores: real scores, shape (B, C).
        threshold: one number for all (0 suits tanh outputs and logits), or one per
            example, shape (B,) or (B, 1), such as `linear_threshold`'s output. For one
            threshold per label pass shape (1, C): a 1-D threshold is always per example.

    Raises:
        ValueError: if a 1-D threshold's length is not the number of examples.

    Returns:
        A multi-hot tensor of 0s and 1s, shape (B, C), in the scores' float dtype.

    Example:
        >>> apply_threshold([[0.3, -0.2, 0.9]])  # [[1., 0., 1.]]
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


def linear_threshold(scores, coefficients, intercept):
    """The per-example threshold `t(x) = scores(x) . coefficients + intercept`.

    Args:
        scores: real scores, shape (B, C).
        coefficients: shape (C,), and `intercept` a number: from `fit_linear_threshold`.

    Returns:
        The thresholds, shape (B,), in the scores' float dtype.
    """
    scores = float_tensor(scores)
    coefficients = ops.cast(ops.convert_to_tensor(coefficients), scores.dtype)
    return ops.sum(scores * coefficients, axis=-1) + ops.cast(intercept, scores.dtype)


def _as_score_matrix(name, value):
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


def best_cut_per_example(scores, y_true):
    """For each example, the cut between its scores that misplaces the fewest labels.

    The candidates are every midpoint between neighbouring sorted scores, plus the
    lowest score minus 0.1 and the highest plus 0.1 (Zhang & Zhou 2006, section 3.3).
    A candidate t misplaces the relevant labels with score <= t and the irrelevant
    ones with score > t, the rule `apply_threshold` predicts with. On ties the lowest
    such t wins. An example with only relevant labels gets the lowest score - 0.1; one
    with no relevant label gets the highest score + 0.1, or the highest score itself
    when it is tied (nothing scores above it either way).

    Args:
        scores: NumPy-convertible scores of N examples, shape (N, C).
        y_true: multi-hot labels, shape (N, C); an entry > 0.5 is relevant.

    Returns:
        A float64 NumPy array of shape (N,).

    Raises:
        ValueError: if the shapes differ or are not (N, C), or a score is not finite.
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


def fit_linear_threshold(scores, y_true):
    """Fits the linear threshold function of BP-MLL on a trained model's outputs.

    Each training example gets its best cut (`best_cut_per_example`); ordinary least
    squares then fits `t(x) = scores(x) . coefficients + intercept` to those cuts. Use
    it after training, on the scores of the training set (NumPy, not in a graph):

    ```python
    coefficients, intercept = fit_linear_threshold(model.predict(x_train), y_train)
    labels = apply_threshold(scores, linear_threshold(scores, coefficients, intercept))
    ```

    or as a layer, `LinearThreshold(coefficients=..., intercept=...)`.

    Args:
        scores: scores of N training examples, shape (N, C).
        y_true: their multi-hot labels, shape (N, C); an entry > 0.5 is relevant.

    Returns:
        `(coefficients, intercept)`: a float64 NumPy array of shape (C,) and a float.
        Where the system is rank-deficient (fewer than C + 1 distinct examples), the
        least-squares solution of smallest norm.

    Raises:
        ValueError: if the shapes differ or are not (N, C), or a score is not finite.

    Reference: Zhang & Zhou, IEEE TKDE 18(10), 2006, section 3.3.
    """
    cuts = best_cut_per_example(scores, y_true)
    scores = _as_score_matrix("scores", scores)
    design = np.concatenate([scores, np.ones((len(scores), 1))], axis=1)
    solution = np.linalg.lstsq(design, cuts, rcond=None)[0]
    return solution[:-1], float(solution[-1])


@_register
class LinearThreshold(keras.layers.Layer):
    """Turns label scores into label sets with BP-MLL's linear threshold function.

    Outputs `apply_threshold(scores, scores . coefficients + intercept)`: 1 for each
    label whose score exceeds the example's threshold, else 0. Append it to a trained
    model to predict label sets; it has no trainable weights, and its configuration
    holds the fitted numbers, so it saves and loads with the model.

    Args:
        coefficients: shape (C,), and `intercept` a number: from `fit_linear_threshold`.
        **kwargs: as for `keras.layers.Layer` (name, dtype).

    Raises:
        ValueError: if `coefficients` is not a 1-D array of finite numbers or
            `intercept` is not finite, or, when called, the scores do not have C labels.

    Example:
        >>> threshold = LinearThreshold.fit(model.predict(x_train), y_train)
        >>> predict_sets = keras.Sequential([model, threshold])
    """

    def __init__(self, *, coefficients, intercept: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        array = np.asarray(coefficients, dtype=np.float64)
        if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
            raise ValueError(
                f"`coefficients` must be finite numbers of shape (C,); got {array.shape}."
            )
        self.coefficients = array
        self.intercept = _checks.check_real("intercept", intercept)

    @classmethod
    def fit(cls, scores, y_true, **kwargs):
        """A layer with the threshold `fit_linear_threshold(scores, y_true)` finds."""
        coefficients, intercept = fit_linear_threshold(scores, y_true)
        return cls(coefficients=coefficients, intercept=intercept, **kwargs)

    def call(self, scores):
        if scores.shape[-1] is not None and scores.shape[-1] != self.coefficients.size:
            raise ValueError(
                f"`scores` must have {self.coefficients.size} labels on the last axis, the "
                f"size of `coefficients`; got shape {tuple(scores.shape)}."
            )
        threshold = linear_threshold(scores, self.coefficients, self.intercept)
        return apply_threshold(scores, threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "coefficients": self.coefficients.tolist(),
            "intercept": self.intercept,
        }
