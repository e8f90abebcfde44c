"""Multi-label ranking: the BP-MLL loss.

The loss compares every relevant label of an example with every irrelevant one, yet
costs O(B * C): the double sum over label pairs factorises into two log-sum-exps.
Turning the scores of a trained model into label sets is `kerasloss.thresholds`.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.aliases import moved
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import float_tensor, working_dtype
from kerasloss._internal.masking import masked_logsumexp
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["BPMLLLoss", "bpmll_loss"]


def _multilabel_inputs(y_true: TensorLike, y_pred: TensorLike) -> tuple[Tensor, Tensor]:
    y_pred = float_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) < 2:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, C), one score per label; "
            f"got shape {tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred)
    return y_true, y_pred


@register
def bpmll_loss(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """BP-MLL: the exponential pairwise ranking loss of Zhang & Zhou (2006).

    Every relevant label of an example is compared with every irrelevant one; the loss
    is small when each relevant label scores well above each irrelevant label.

    Formula:

    ```python
    # per example: c = y_pred, Y = {k: y_true[k] > 0.5} (relevant), Ybar = the others
    loss = 1 / (|Y| * |Ybar|) * sum_{k in Y, l in Ybar} exp(-(c[k] - c[l]))
         = exp(logsumexp_{l in Ybar}(c[l]) + logsumexp_{k in Y}(-c[k])
               - log|Y| - log|Ybar|)
    loss = 0                                  # if Y or Ybar is empty
    ```

    The second line is the same sum, since exp(c_l - c_k) = exp(c_l) * exp(-c_k): it
    costs O(B * C) time and memory, never a (B, C, C) tensor of label pairs.

    The loss is undefined in the paper for an example whose Y or Ybar is empty (all
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
        The loss per example, shape (B,) (or (...)), in the dtype of `y_pred` (Keras'
        default float type for integer scores).

    Raises:
        ValueError: if `y_pred` has rank < 2 or `y_true` does not have its shape.

    Example:
        >>> y_true = [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
        >>> y_pred = [[0.9, -0.8, 0.1], [0.5, 0.2, -0.3]]
        >>> # row 0: (e^-(0.9 + 0.8) + e^-(0.1 + 0.8)) / 2; row 1 has no relevant label
        >>> print(keras.ops.convert_to_numpy(bpmll_loss(y_true, y_pred)))
        [0.2946 0.0]

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, eq. (4).
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
        masked_logsumexp(scores, irrelevant, has_neg)
        + masked_logsumexp(-scores, relevant, has_pos)
        - ops.log(ops.where(has_pos, n_relevant, one))
        - ops.log(ops.where(has_neg, n_irrelevant, one))
    )
    # Double `where`: the undefined rows never reach the exp, so their gradient is 0.
    zero = ops.zeros_like(log_loss)
    loss = ops.where(defined, ops.exp(ops.where(defined, log_loss, zero)), zero)
    return ops.cast(loss, out_dtype)


@register
class BPMLLLoss(PerSampleLoss):
    """BP-MLL, the pairwise ranking loss of Zhang & Zhou (2006), as a `keras.losses.Loss`.

    Takes multi-hot `y_true` (B, C) and real scores `y_pred` (B, C), for example a
    `Dense(C, activation="tanh")` output as in the paper, or unbounded scores. Each
    example's loss compares every relevant label with every irrelevant one, computed
    in O(B * C) through two log-sum-exps; the loss then reduces over the batch.

    Formula:

    ```python
    # per example: c = y_pred, Y = {k: y_true[k] > 0.5} (relevant), Ybar = the others
    loss = 1 / (|Y| * |Ybar|) * sum_{k in Y, l in Ybar} exp(-(c[k] - c[l]))
    loss = 0                                  # if Y or Ybar is empty
    ```

    An example with no relevant or no irrelevant label contributes 0 and a zero
    gradient, and still counts in the default batch mean. float16 and bfloat16 scores
    are computed in float32 and the result cast back (float16 overflows once the loss
    passes 65504, a score gap above about 11).

    Args:
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`.

    Raises:
        ValueError: if `reduction` is not a Keras reduction, or, when the loss is
            called, if `y_pred` has rank < 2 or `y_true` does not have its shape.

    Example:
        >>> y_true = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
        >>> y_pred = [[0.9, -0.8, 0.1], [-0.5, 0.5, -0.5]]
        >>> # row 0: (e^-1.7 + e^-0.9) / 2; row 1: (e^-1 + e^-1) / 2
        >>> print(keras.ops.convert_to_numpy(BPMLLLoss(reduction=None)(y_true, y_pred)))
        [0.2946 0.3679]
        >>> print(float(BPMLLLoss()(y_true, y_pred)))
        0.3313
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh")])
        >>> model.compile(optimizer="sgd", loss=BPMLLLoss())

    Reference:
        Zhang & Zhou, "Multilabel Neural Networks with Applications to Functional
        Genomics and Text Categorization", IEEE TKDE 18(10), 2006, eq. (4).
    """

    def __init__(
        self,
        *,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "bpmll_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(bpmll_loss, name=name, reduction=reduction, dtype=dtype)


# The threshold functions lived here, and were exported by `kerasloss.losses`, before
# kerasloss 0.2; both modules keep these names as aliases.
_MOVED_THRESHOLDS = {
    name: f"kerasloss.thresholds:{name}"
    for name in (
        "apply_threshold",
        "best_cut_per_example",
        "fit_linear_threshold",
        "linear_threshold",
    )
}
__getattr__ = moved(
    __name__,
    {**_MOVED_THRESHOLDS, "LinearThreshold": "kerasloss.layers:LinearThreshold"},
)
