"""Multi-label evaluation metrics: Hamming loss, ranking loss, one-error, coverage, LRAP.

Each is a `keras.metrics.Metric` that averages a per-example value over every batch it
has seen, weighted by `sample_weight`: `sum(w * value) / sum(w)`. Accumulating several
batches therefore equals computing on their concatenation. The values follow
scikit-learn's `hamming_loss`, `label_ranking_loss`, `coverage_error` and
`label_ranking_average_precision_score`, including their conventions for tied scores
and for examples with no relevant or no irrelevant label.

Ranks come from one sort per row, O(B * C log C), without any (B, C, C) comparison:
after sorting a row's scores in ascending order, a group of tied scores starting at
sorted position `first` has exactly `first` scores strictly below it. Every count the
metrics need is read off that position and a cumulative sum of the sorted labels, so
the result does not depend on how the sort orders tied scores.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register


def _inputs(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) != 2:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, C), one score per label; "
            f"got shape {tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred)
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    relevant = ops.greater(ops.cast(y_true, "float32"), 0.5)
    return relevant, y_pred, num_classes


def _ranking_counts(relevant, scores, num_classes):
    """Per label, in ascending score order: relevance, and counts of labels ranked above it.

    With ties counted as ranked above (scikit-learn's convention), for the label at
    sorted position p:
        above_all[p] = #{labels l: s_l >= s_p}, itself included;
        above_relevant[p] = #{relevant labels l: s_l >= s_p}.

    Returns:
        (relevance in sorted order, above_all, above_relevant, number of relevant
        labels per row); all int32, the first three of shape (B, C), the last (B,).
    """
    order = ops.argsort(scores, axis=-1)
    sorted_scores = ops.take_along_axis(scores, order, axis=-1)
    y = ops.take_along_axis(ops.cast(relevant, "int32"), order, axis=-1)
    positions = ops.zeros_like(y) + ops.arange(num_classes, dtype="int32")
    # A tie group starts where the score differs from its left neighbour.
    starts_group = ops.concatenate(
        [
            ops.ones_like(y[:, :1], dtype="bool"),
            ops.not_equal(sorted_scores[:, 1:], sorted_scores[:, :-1]),
        ],
        axis=-1,
    )
    group = ops.cast(ops.cumsum(ops.cast(starts_group, "int32"), axis=-1), "int32") - 1
    # Start positions of the groups in order (padded with C): group g starts at starts[g].
    starts = ops.sort(ops.where(starts_group, positions, num_classes), axis=-1)
    first = ops.take_along_axis(starts, group, axis=-1)  # = #{l: s_l < s_p}
    relevant_before = ops.cast(ops.cumsum(y, axis=-1), "int32") - y
    n_relevant = ops.sum(y, axis=-1)
    above_all = num_classes - first
    above_relevant = n_relevant[:, None] - ops.take_along_axis(relevant_before, first, axis=-1)
    return y, above_all, above_relevant, n_relevant


def _hamming(y_true, y_pred, threshold):
    relevant, scores, _ = _inputs(y_true, y_pred)
    # Compare in at least float32: a threshold rounded to bfloat16 (0.3 -> 0.30078125) or
    # truncated to an integer dtype would no longer be scikit-learn's `scores > threshold`.
    dtype = working_dtype(scores.dtype)
    threshold = ops.convert_to_tensor(threshold, dtype=dtype)
    predicted = ops.greater(ops.cast(scores, dtype), threshold)
    return ops.mean(ops.cast(ops.not_equal(relevant, predicted), "float32"), axis=-1)


def _ranking_loss(y_true, y_pred):
    relevant, scores, num_classes = _inputs(y_true, y_pred)
    y, above_all, above_relevant, n_relevant = _ranking_counts(relevant, scores, num_classes)
    # For a relevant label, above_all - above_relevant counts the irrelevant labels
    # scored at least as high: the pairs it loses.
    wrong = ops.cast(ops.sum(y * (above_all - above_relevant), axis=-1), "float32")
    pairs = ops.cast(n_relevant * (num_classes - n_relevant), "float32")
    defined = ops.greater(pairs, 0.0)
    return ops.where(defined, wrong / ops.where(defined, pairs, 1.0), 0.0)


def _one_error(y_true, y_pred):
    relevant, scores, _ = _inputs(y_true, y_pred)
    top = first_argmax(scores)
    top_relevant = ops.take_along_axis(relevant, top[:, None], axis=-1)[:, 0]
    return 1.0 - ops.cast(top_relevant, "float32")


def _coverage(y_true, y_pred):
    relevant, scores, num_classes = _inputs(y_true, y_pred)
    y, above_all, _, _ = _ranking_counts(relevant, scores, num_classes)
    return ops.cast(ops.max(y * above_all, axis=-1), "float32")


def _lrap(y_true, y_pred):
    relevant, scores, num_classes = _inputs(y_true, y_pred)
    y, above_all, above_relevant, n_relevant = _ranking_counts(relevant, scores, num_classes)
    precision = ops.cast(above_relevant, "float32") / ops.cast(above_all, "float32")
    total = ops.sum(ops.cast(y, "float32") * precision, axis=-1)
    defined = ops.logical_and(ops.greater(n_relevant, 0), ops.less(n_relevant, num_classes))
    n = ops.cast(ops.maximum(n_relevant, 1), "float32")
    return ops.where(defined, total / n, 1.0)


class _ExampleMean(keras.metrics.Metric):
    """The weighted mean over examples of a per-example value, across batches."""

    def __init__(self, *, name, dtype):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _per_example(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch: `y_true` multi-hot (B, C), `y_pred` scores (B, C), weights (B,)."""
        values = ops.cast(self._per_example(y_true, y_pred), self.dtype)
        if sample_weight is None:
            weights = ops.ones_like(values)
        else:
            weights = ops.cast(ops.convert_to_tensor(sample_weight), self.dtype)
            if len(weights.shape) > 1:  # (B, 1), as Keras also accepts
                weights = ops.reshape(weights, (-1,))
            weights = ops.broadcast_to(weights, ops.shape(values))
        self.total.assign_add(ops.sum(values * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@register
class HammingLoss(_ExampleMean):
    """The fraction of labels predicted wrong, with a label predicted when its score > threshold.

    Formula, per example: `mean_j [y_j != (s_j > threshold)]`; averaged over examples
    this equals scikit-learn's `hamming_loss` on the thresholded predictions.

    Args:
        threshold: the cut on the scores, a real number. 0 suits tanh outputs (as in
            BP-MLL) and logits; use 0.5 for sigmoid probabilities.
        name, dtype: as for `keras.metrics.Metric`.

    Raises:
        TypeError, ValueError: if `threshold` is not a finite real number.

    Example:
        >>> model.compile(loss=BPMLLLoss(), metrics=[HammingLoss(threshold=0.0)])

    Reference: Schapire & Singer, "BoosTexter", Machine Learning 39, 2000.
    """

    def __init__(self, *, threshold: float = 0.0, name: str = "hamming_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = _checks.check_real("threshold", threshold)

    def _per_example(self, y_true, y_pred):
        return _hamming(y_true, y_pred, self.threshold)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@register
class LabelRankingLoss(_ExampleMean):
    """The fraction of (relevant, irrelevant) label pairs ranked in the wrong order.

    Formula, per example with relevant labels Y and irrelevant labels Ȳ:
    `#{(k, l) in Y x Ȳ: s_k <= s_l} / (|Y| |Ȳ|)`. A tie counts as wrong, and an
    example with Y or Ȳ empty scores 0, as in scikit-learn's `label_ranking_loss`.

    Args:
        name, dtype: as for `keras.metrics.Metric`.

    Reference: Zhang & Zhou, IEEE TKDE 18(10), 2006, section 2 ("ranking loss").
    """

    def __init__(self, *, name: str = "label_ranking_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _per_example(self, y_true, y_pred):
        return _ranking_loss(y_true, y_pred)


@register
class OneError(_ExampleMean):
    """The fraction of examples whose top-scored label is irrelevant.

    Formula, per example: `[argmax_j s_j not in Y]`. On tied top scores the first
    label wins (as `numpy.argmax`); an example with no relevant label scores 1.

    Args:
        name, dtype: as for `keras.metrics.Metric`.

    Reference: Zhang & Zhou, IEEE TKDE 18(10), 2006, section 2 ("one-error").
    """

    def __init__(self, *, name: str = "one_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _per_example(self, y_true, y_pred):
        return _one_error(y_true, y_pred)


@register
class CoverageError(_ExampleMean):
    """How far down the ranking one must go to cover every relevant label.

    Formula, per example: `max_{k in Y} #{l: s_l >= s_k}`, ties counted as ranked
    above; an example with no relevant label scores 0. This is scikit-learn's
    `coverage_error`, which is the paper's coverage plus 1 (the best value is |Y|).

    Args:
        name, dtype: as for `keras.metrics.Metric`.

    Reference: Zhang & Zhou, IEEE TKDE 18(10), 2006, section 2 ("coverage").
    """

    def __init__(self, *, name: str = "coverage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _per_example(self, y_true, y_pred):
        return _coverage(y_true, y_pred)


@register
class LabelRankingAveragePrecision(_ExampleMean):
    """Label ranking average precision (LRAP); higher is better, 1 is perfect.

    Formula, per example: `mean_{k in Y} #{l in Y: s_l >= s_k} / #{l: s_l >= s_k}`,
    ties counted as ranked above; an example with Y or Ȳ empty scores 1, as in
    scikit-learn's `label_ranking_average_precision_score`.

    Args:
        name, dtype: as for `keras.metrics.Metric`.

    Reference: Zhang & Zhou, IEEE TKDE 18(10), 2006, section 2 ("average precision").
    """

    def __init__(self, *, name: str = "label_ranking_average_precision", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _per_example(self, y_true, y_pred):
        return _lrap(y_true, y_pred)
