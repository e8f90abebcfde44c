"""Multi-label evaluation metrics: Hamming loss, ranking loss, one-error, coverage, LRAP.

Each metric comes, the Keras way, as a function that returns one value per example and
as a class on `keras.metrics.MeanMetricWrapper` that averages that value over every batch
it has seen, weighted by `sample_weight`: `sum(w * value) / sum(w)`. Accumulating
several batches therefore equals computing on their concatenation. The classes declare
whether lower or higher is better, so `EarlyStopping(monitor="val_<name>", mode="auto")`
picks the right comparison. The values follow scikit-learn's `hamming_loss`,
`label_ranking_loss`, `coverage_error` and `label_ranking_average_precision_score`,
including their conventions for tied scores and for examples with no relevant or no
irrelevant label.

Ranks come from one sort per row, O(B * C log C), without any (B, C, C) comparison:
after sorting a row's scores in ascending order, a group of tied scores starting at
sorted position `first` has exactly `first` scores strictly below it. Every count the
metrics need is read off that position and a cumulative sum of the sorted labels, so
the result does not depend on how the sort orders tied scores.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike

__all__ = [
    "CoverageError",
    "HammingLoss",
    "LabelRankingAveragePrecision",
    "LabelRankingLoss",
    "OneError",
    "coverage_error",
    "hamming_loss",
    "label_ranking_average_precision",
    "label_ranking_loss",
    "one_error",
]


def _inputs(y_true: TensorLike, y_pred: TensorLike) -> tuple[Tensor, Tensor, int]:
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) != 2:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, C), one score per label; "
            f"got shape {tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred)
    _checks.check_unit_interval("y_true", y_true, hint=_checks.BINARY_TARGET_HINT)
    num_classes = _checks.static_num_classes("y_pred", y_pred)
    relevant = ops.greater(ops.cast(y_true, "float32"), 0.5)
    return relevant, y_pred, num_classes


def _ranking_counts(
    relevant: Tensor, scores: Tensor, num_classes: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
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


# ----------------------------------------------------------- per-example functions


_THRESHOLD_DEPRECATION = (
    "{what} without `threshold` cuts the scores at 0: right for logits and tanh outputs, "
    "wrong for sigmoid probabilities, where every label counts as predicted. Pass "
    "`threshold=0.5` for probabilities or `threshold=0.0` for logits. The default 0 is "
    "deprecated; `threshold` will be required in a future release."
)


def _threshold(threshold: object, what: str) -> float:
    """The validated cut; `None` (not given) warns and keeps the old default, 0."""
    if threshold is None:
        warnings.warn(_THRESHOLD_DEPRECATION.format(what=what), DeprecationWarning, stacklevel=3)
        return 0.0
    return _checks.check_real("threshold", threshold)


@register
def hamming_loss(
    y_true: TensorLike, y_pred: TensorLike, *, threshold: float | None = None
) -> Tensor:
    """Per example, the fraction of labels predicted wrong when scores are cut at `threshold`.

    Formula:

    ```python
    hamming_loss = mean_j [y_j != (s_j > threshold)]
    ```

    Averaged over examples this is scikit-learn's `hamming_loss(y_true, y_pred > threshold)`.
    The comparison is made in at least float32, so a threshold such as 0.3 is not rounded
    to a 16-bit score dtype.

    Args:
        y_true: multi-hot labels, shape (B, C); an entry > 0.5 marks a relevant label.
        y_pred: real scores, one per label, shape (B, C).
        threshold: the cut on the scores, a finite real number: 0.5 for sigmoid
            probabilities, 0 for logits and tanh outputs (as in BP-MLL). Not giving it is
            deprecated: it warns (`DeprecationWarning`) and cuts at 0, the old default.

    Returns:
        The fraction per example, float32, shape (B,).

    Raises:
        TypeError, ValueError: if `threshold` is not a finite real number.
        ValueError: if `y_pred` is not (B, C) with a known C, or `y_true` has another shape.

    Example:
        >>> y_true = [[1, 0, 1, 0], [0, 1, 0, 0]]
        >>> y_pred = [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        >>> values = kerasloss.metrics.hamming_loss(y_true, y_pred, threshold=0.5)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.5  0.25]

    Reference: Schapire & Singer, "BoosTexter: A Boosting-based System for Text
    Categorization", Machine Learning 39, 2000.
    """
    cut = _threshold(threshold, "hamming_loss")
    relevant, scores, _ = _inputs(y_true, y_pred)
    # Compare in at least float32: a threshold rounded to bfloat16 (0.3 -> 0.30078125) or
    # truncated to an integer dtype would no longer be scikit-learn's `scores > threshold`.
    dtype = working_dtype(scores.dtype)
    predicted = ops.greater(ops.cast(scores, dtype), ops.convert_to_tensor(cut, dtype=dtype))
    return ops.mean(ops.cast(ops.not_equal(relevant, predicted), "float32"), axis=-1)


@register
def label_ranking_loss(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """Per example, the fraction of (relevant, irrelevant) label pairs ranked in the wrong order.

    Formula:

    ```python
    label_ranking_loss = #{(k, l) in Y x Ȳ: s_k <= s_l} / (|Y| * |Ȳ|)
    ```

    with Y the relevant labels and Ȳ the irrelevant ones. A tie counts as wrong, and an
    example with Y or Ȳ empty scores 0, as in scikit-learn's `label_ranking_loss`. One
    sort per row, O(C log C), no (C, C) table.

    Args:
        y_true: multi-hot labels, shape (B, C); an entry > 0.5 marks a relevant label.
        y_pred: real scores, one per label, shape (B, C).

    Returns:
        The fraction per example, in [0, 1], float32, shape (B,).

    Raises:
        ValueError: if `y_pred` is not (B, C) with a known C, or `y_true` has another shape.

    Example:
        >>> y_true = [[1, 0, 1, 0], [0, 1, 0, 0]]
        >>> y_pred = [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        >>> values = kerasloss.metrics.label_ranking_loss(y_true, y_pred)
        >>> print(keras.ops.convert_to_numpy(values))  # 1 of 4 pairs, 1 of 3 pairs
        [0.25   0.3333]

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """
    relevant, scores, num_classes = _inputs(y_true, y_pred)
    y, above_all, above_relevant, n_relevant = _ranking_counts(relevant, scores, num_classes)
    # For a relevant label, above_all - above_relevant counts the irrelevant labels
    # scored at least as high: the pairs it loses.
    wrong = ops.cast(ops.sum(y * (above_all - above_relevant), axis=-1), "float32")
    pairs = ops.cast(n_relevant * (num_classes - n_relevant), "float32")
    defined = ops.greater(pairs, 0.0)
    return ops.where(defined, wrong / ops.where(defined, pairs, 1.0), 0.0)


@register
def one_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """Per example, 1 if the top-scored label is irrelevant, else 0.

    Formula:

    ```python
    one_error = [argmax_j s_j not in Y]
    ```

    with Y the relevant labels. On tied top scores the first label wins (as
    `numpy.argmax`), on every backend; an example with no relevant label scores 1.

    Args:
        y_true: multi-hot labels, shape (B, C); an entry > 0.5 marks a relevant label.
        y_pred: real scores, one per label, shape (B, C).

    Returns:
        0 or 1 per example, float32, shape (B,).

    Raises:
        ValueError: if `y_pred` is not (B, C) with a known C, or `y_true` has another shape.

    Example:
        >>> y_true = [[1, 0, 1, 0], [0, 1, 0, 0]]
        >>> y_pred = [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        >>> print(keras.ops.convert_to_numpy(kerasloss.metrics.one_error(y_true, y_pred)))
        [0. 1.]

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """
    relevant, scores, _ = _inputs(y_true, y_pred)
    top = first_argmax(scores)
    top_relevant = ops.take_along_axis(relevant, top[:, None], axis=-1)[:, 0]
    return 1.0 - ops.cast(top_relevant, "float32")


@register
def coverage_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """Per example, how far down the ranking one must go to cover every relevant label.

    Formula:

    ```python
    coverage_error = max_{k in Y} #{l: s_l >= s_k}      # 0 when Y is empty
    ```

    with Y the relevant labels. Ties count as ranked above. This is scikit-learn's
    `coverage_error`, which is the paper's coverage plus 1: the best value is |Y|, the
    worst C.

    Args:
        y_true: multi-hot labels, shape (B, C); an entry > 0.5 marks a relevant label.
        y_pred: real scores, one per label, shape (B, C).

    Returns:
        The number of labels per example, in [0, C], float32, shape (B,).

    Raises:
        ValueError: if `y_pred` is not (B, C) with a known C, or `y_true` has another shape.

    Example:
        >>> y_true = [[1, 0, 1, 0], [0, 1, 0, 0]]
        >>> y_pred = [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        >>> values = kerasloss.metrics.coverage_error(y_true, y_pred)
        >>> print(keras.ops.convert_to_numpy(values))
        [3. 2.]

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """
    relevant, scores, num_classes = _inputs(y_true, y_pred)
    y, above_all, _, _ = _ranking_counts(relevant, scores, num_classes)
    return ops.cast(ops.max(y * above_all, axis=-1), "float32")


@register
def label_ranking_average_precision(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """Per example, the label ranking average precision (LRAP); 1 is perfect.

    Formula:

    ```python
    lrap = mean_{k in Y} #{l in Y: s_l >= s_k} / #{l: s_l >= s_k}    # 1 if Y or Ȳ is empty
    ```

    with Y the relevant labels and Ȳ the irrelevant ones. Ties count as ranked above, as
    in scikit-learn's `label_ranking_average_precision_score`, the mean of these values.

    Args:
        y_true: multi-hot labels, shape (B, C); an entry > 0.5 marks a relevant label.
        y_pred: real scores, one per label, shape (B, C).

    Returns:
        The precision per example, in (0, 1], float32, shape (B,).

    Raises:
        ValueError: if `y_pred` is not (B, C) with a known C, or `y_true` has another shape.

    Example:
        >>> y_true = [[1, 0, 1, 0], [0, 1, 0, 0]]
        >>> y_pred = [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        >>> values = kerasloss.metrics.label_ranking_average_precision(y_true, y_pred)
        >>> print(keras.ops.convert_to_numpy(values))  # (1/1 + 2/3) / 2, then 1/2
        [0.8333 0.5   ]

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """
    relevant, scores, num_classes = _inputs(y_true, y_pred)
    y, above_all, above_relevant, n_relevant = _ranking_counts(relevant, scores, num_classes)
    precision = ops.cast(above_relevant, "float32") / ops.cast(above_all, "float32")
    total = ops.sum(ops.cast(y, "float32") * precision, axis=-1)
    defined = ops.logical_and(ops.greater(n_relevant, 0), ops.less(n_relevant, num_classes))
    n = ops.cast(ops.maximum(n_relevant, 1), "float32")
    return ops.where(defined, total / n, 1.0)


# ------------------------------------------------------------- metric classes
#
# Each class is `MeanMetricWrapper` around its function: `update_state` computes the
# values per example and accumulates `sum(w * value)` and `sum(w)`, `result` divides
# them (0 when nothing was seen). `_direction` is what Keras' own metrics set; the
# callbacks with `mode="auto"` read it (EarlyStopping from Keras 3.10, ModelCheckpoint
# and ReduceLROnPlateau from 3.11). `get_config` holds the constructor's arguments, not
# `fn`, so the inherited `from_config` is `cls(**config)`.


class _ExampleMean(keras.metrics.MeanMetricWrapper):
    """The weighted mean of a per-example function; its config is its own arguments.

    `MeanMetricWrapper.get_config` would also store the function and its keyword
    arguments; these classes fix the function, so name and dtype are all they take.
    """

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@register
class HammingLoss(_ExampleMean):
    """Hamming loss: the fraction of labels predicted wrong, averaged over examples.

    A label is predicted when its score > `threshold`. Lower is better, and the metric
    says so: `EarlyStopping(monitor="val_hamming_loss")` needs no `mode`.

    Formula:

    ```python
    value_i = mean_j [y_ij != (s_ij > threshold)]
    result = sum_i w_i * value_i / sum_i w_i
    ```

    over every example i seen since the last `reset_state()`. This is scikit-learn's
    `hamming_loss(y_true, y_pred > threshold, sample_weight=w)` on all of them at once.

    `update_state(y_true, y_pred, sample_weight=None)` takes multi-hot labels (B, C), an
    entry > 0.5 marking a relevant label, scores (B, C) and weights (B,) or (B, 1).

    Args:
        threshold: the cut on the scores, a finite real number: 0.5 for sigmoid
            probabilities, 0 for logits and tanh outputs (as in BP-MLL). Not giving it is
            deprecated: it warns (`DeprecationWarning`) and cuts at 0, the old default.
        name: the name `fit` logs the value under (with "val_" for validation data).
        dtype: the dtype of the running sums and of the result.

    Returns:
        `result()`: the weighted mean, a scalar in [0, 1]; 0 before any example.

    Raises:
        TypeError, ValueError: if `threshold` is not a finite real number.
        ValueError: from `update_state`, if `y_pred` is not (B, C) with a known C, or
            `y_true` has another shape.

    Example:
        >>> y_true = [[1, 0, 1, 0], [0, 1, 0, 0]]
        >>> y_pred = [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        >>> metric = kerasloss.metrics.HammingLoss(threshold=0.5)
        >>> metric.update_state(y_true, y_pred)  # 2 of 4 labels wrong, then 1 of 4
        >>> print(float(metric.result()))
        0.375
        >>> metric.reset_state()
        >>> metric.update_state(y_true, y_pred, sample_weight=[1.0, 3.0])
        >>> print(float(metric.result()))  # (0.5 + 3 * 0.25) / 4
        0.3125

    Reference: Schapire & Singer, "BoosTexter: A Boosting-based System for Text
    Categorization", Machine Learning 39, 2000.
    """

    def __init__(
        self,
        *,
        threshold: float | None = None,
        name: str = "hamming_loss",
        dtype: str | None = None,
    ):
        cut = _threshold(threshold, "HammingLoss()")
        super().__init__(hamming_loss, name=name, dtype=dtype, threshold=cut)
        self.threshold = cut
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


@register
class LabelRankingLoss(_ExampleMean):
    """Ranking loss: the fraction of (relevant, irrelevant) label pairs in the wrong order.

    Averaged over examples. Lower is better, and the metric says so:
    `EarlyStopping(monitor="val_label_ranking_loss")` needs no `mode`.

    Formula:

    ```python
    value_i = #{(k, l) in Y x Ȳ: s_k <= s_l} / (|Y| * |Ȳ|)     # 0 if Y or Ȳ is empty
    result = sum_i w_i * value_i / sum_i w_i
    ```

    over every example i seen since the last `reset_state()`, with Y its relevant labels
    and Ȳ its irrelevant ones. A tie counts as wrong. This is scikit-learn's
    `label_ranking_loss`, computed with one sort per row, O(C log C), no (C, C) table.

    `update_state(y_true, y_pred, sample_weight=None)` takes multi-hot labels (B, C), an
    entry > 0.5 marking a relevant label, scores (B, C) and weights (B,) or (B, 1).

    Args:
        name: the name `fit` logs the value under (with "val_" for validation data).
        dtype: the dtype of the running sums and of the result.

    Returns:
        `result()`: the weighted mean, a scalar in [0, 1]; 0 before any example.

    Raises:
        ValueError: from `update_state`, if `y_pred` is not (B, C) with a known C, or
            `y_true` has another shape.

    Example:
        >>> metric = kerasloss.metrics.LabelRankingLoss()
        >>> metric.update_state(
        ...     [[1, 0, 1, 0], [0, 1, 0, 0]], [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        ... )
        >>> print(float(metric.result()))  # (1/4 + 1/3) / 2
        0.2917

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """

    def __init__(self, *, name: str = "label_ranking_loss", dtype: str | None = None):
        super().__init__(label_ranking_loss, name=name, dtype=dtype)
        self._direction = "down"


@register
class OneError(_ExampleMean):
    """One-error: the fraction of examples whose top-scored label is irrelevant.

    Lower is better, and the metric says so: `EarlyStopping(monitor="val_one_error")`
    needs no `mode`.

    Formula:

    ```python
    value_i = [argmax_j s_ij not in Y]
    result = sum_i w_i * value_i / sum_i w_i
    ```

    over every example i seen since the last `reset_state()`, with Y its relevant labels.
    On tied top scores the first label wins (as `numpy.argmax`), on every backend; an
    example with no relevant label scores 1.

    `update_state(y_true, y_pred, sample_weight=None)` takes multi-hot labels (B, C), an
    entry > 0.5 marking a relevant label, scores (B, C) and weights (B,) or (B, 1).

    Args:
        name: the name `fit` logs the value under (with "val_" for validation data).
        dtype: the dtype of the running sums and of the result.

    Returns:
        `result()`: the weighted mean, a scalar in [0, 1]; 0 before any example.

    Raises:
        ValueError: from `update_state`, if `y_pred` is not (B, C) with a known C, or
            `y_true` has another shape.

    Example:
        >>> metric = kerasloss.metrics.OneError()
        >>> metric.update_state(
        ...     [[1, 0, 1, 0], [0, 1, 0, 0]], [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        ... )
        >>> print(float(metric.result()))  # the second row's top label is irrelevant
        0.5

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """

    def __init__(self, *, name: str = "one_error", dtype: str | None = None):
        super().__init__(one_error, name=name, dtype=dtype)
        self._direction = "down"


@register
class CoverageError(_ExampleMean):
    """Coverage: how far down the ranking one must go to cover every relevant label.

    Averaged over examples. Lower is better, and the metric says so:
    `EarlyStopping(monitor="val_coverage_error")` needs no `mode`.

    Formula:

    ```python
    value_i = max_{k in Y} #{l: s_il >= s_ik}       # 0 when Y is empty
    result = sum_i w_i * value_i / sum_i w_i
    ```

    over every example i seen since the last `reset_state()`, with Y its relevant labels.
    Ties count as ranked above. This is scikit-learn's `coverage_error`, which is the
    paper's coverage plus 1: the best value is |Y|, the worst C.

    `update_state(y_true, y_pred, sample_weight=None)` takes multi-hot labels (B, C), an
    entry > 0.5 marking a relevant label, scores (B, C) and weights (B,) or (B, 1).

    Args:
        name: the name `fit` logs the value under (with "val_" for validation data).
        dtype: the dtype of the running sums and of the result.

    Returns:
        `result()`: the weighted mean, a scalar in [0, C]; 0 before any example.

    Raises:
        ValueError: from `update_state`, if `y_pred` is not (B, C) with a known C, or
            `y_true` has another shape.

    Example:
        >>> metric = kerasloss.metrics.CoverageError()
        >>> metric.update_state(
        ...     [[1, 0, 1, 0], [0, 1, 0, 0]], [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        ... )
        >>> print(float(metric.result()))  # (3 + 2) / 2
        2.5

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """

    def __init__(self, *, name: str = "coverage_error", dtype: str | None = None):
        super().__init__(coverage_error, name=name, dtype=dtype)
        self._direction = "down"


@register
class LabelRankingAveragePrecision(_ExampleMean):
    """Label ranking average precision (LRAP), averaged over examples; 1 is perfect.

    Higher is better, and the metric says so:
    `EarlyStopping(monitor="val_label_ranking_average_precision")` needs no `mode`, nor
    do `ModelCheckpoint` and `ReduceLROnPlateau` from Keras 3.11 on (in Keras 3.10 these
    two guess the direction from the name, "acc" meaning higher, and need `mode="max"`).

    Formula:

    ```python
    value_i = mean_{k in Y} #{l in Y: s_il >= s_ik} / #{l: s_il >= s_ik}  # 1 if Y or Ȳ empty
    result = sum_i w_i * value_i / sum_i w_i
    ```

    over every example i seen since the last `reset_state()`, with Y its relevant labels
    and Ȳ its irrelevant ones. Ties count as ranked above. This is scikit-learn's
    `label_ranking_average_precision_score`.

    `update_state(y_true, y_pred, sample_weight=None)` takes multi-hot labels (B, C), an
    entry > 0.5 marking a relevant label, scores (B, C) and weights (B,) or (B, 1).

    Args:
        name: the name `fit` logs the value under (with "val_" for validation data).
        dtype: the dtype of the running sums and of the result.

    Returns:
        `result()`: the weighted mean, a scalar in [0, 1]; 0 before any example.

    Raises:
        ValueError: from `update_state`, if `y_pred` is not (B, C) with a known C, or
            `y_true` has another shape.

    Example:
        >>> metric = kerasloss.metrics.LabelRankingAveragePrecision()
        >>> metric.update_state(
        ...     [[1, 0, 1, 0], [0, 1, 0, 0]], [[0.9, 0.7, 0.2, 0.1], [0.5, 0.6, 0.1, 0.9]]
        ... )
        >>> print(float(metric.result()))  # ((1/1 + 2/3) / 2 + 1/2) / 2
        0.6667

    Reference: Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
    Genomics and Text Categorization", IEEE TKDE 18(10), 2006, section 2.
    """

    def __init__(self, *, name: str = "label_ranking_average_precision", dtype: str | None = None):
        super().__init__(label_ranking_average_precision, name=name, dtype=dtype)
        self._direction = "up"
