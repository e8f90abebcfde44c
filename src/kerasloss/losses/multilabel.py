"""Multi-label losses: the BP-MLL ranking loss and the asymmetric loss (ASL).

BP-MLL compares every relevant label of an example with every irrelevant one, yet
costs O(B * C): the double sum over label pairs factorises into two log-sum-exps.
ASL is a per-label binary loss that down-weights the many easy negatives of a
multi-label problem; from logits it works in log space. Turning the scores of a trained
model into label sets is `kerasloss.thresholds`.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.aliases import moved
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant, float_tensor, smallest_normal, working_dtype
from kerasloss._internal.masking import masked_logsumexp, row_nonfinite
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike
from kerasloss.losses.classification import _clip_probabilities, _prologue

__all__ = ["AsymmetricLoss", "BPMLLLoss", "asymmetric_loss", "bpmll_loss"]


def _multilabel_inputs(y_true: TensorLike, y_pred: TensorLike) -> tuple[Tensor, Tensor]:
    y_pred = float_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) < 2:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, C), one score per label; "
            f"got shape {tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred)
    _checks.check_unit_interval("y_true", y_true, hint=_checks.BINARY_TARGET_HINT)
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
    float16 overflows to inf once the loss passes 65504, a score gap above about 11. So
    does the gradient with respect to float16 scores, which is as large: inf of the right
    sign, never NaN.

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
    # The `where` above would also hide a NaN or infinite score in a row without pairs:
    # a score that is not a number makes its row NaN (with zero gradient), whatever the row.
    loss = loss + row_nonfinite(scores)
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
    gradient, and still counts in the default batch mean. The loss computes in its
    `dtype`, float32 unless given (also under a mixed policy, as Keras' losses); with a
    16-bit `dtype` the scores are computed in float32 and the result cast back (float16
    overflows once the loss passes 65504, a score gap above about 11). The gradient that
    reaches float16 scores is as large as the loss, inf past 65504: keep the scores
    bounded (tanh, as in the paper) when the model computes in float16.

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


# ------------------------------------------------------------------------- asymmetric loss


def _asymmetric_hyper(
    gamma_pos: object, gamma_neg: object, clip: object, from_logits: object
) -> tuple[float, float, float, bool]:
    """The validated hyper-parameters of ASL, for the function and the class."""
    clip = _checks.check_real("clip", clip)
    if not 0.0 <= clip < 1.0:
        raise ValueError(f"`clip` must be in [0, 1); got {clip}.")
    return (
        _checks.check_real("gamma_pos", gamma_pos, low=0.0),
        _checks.check_real("gamma_neg", gamma_neg, low=0.0),
        clip,
        _checks.check_bool("from_logits", from_logits),
    )


@register
def asymmetric_loss(
    y_true: TensorLike,
    y_pred: TensorLike,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    from_logits: bool = True,
) -> Tensor:
    """Asymmetric loss (ASL) for multi-label classification, summed over the labels.

    Each label is a binary problem. Negatives, which outnumber positives in most
    multi-label data, are focused harder (`gamma_neg`) and their probability is shifted
    down by `clip`, so a negative predicted below `clip` costs nothing at all. The
    per-sample value is the SUM over the labels, as in the authors' code, not the mean
    over the labels that `keras.losses.binary_crossentropy` takes: with C labels it is C
    times larger than a mean would be, and so are its gradients. The focusing weights are
    differentiated like the rest (no stop-gradient), as in the authors'
    `AsymmetricLossOptimized`.

    From logits the terms are computed in log space: log p = log_sigmoid(z) and
    log(1 - p) = log_sigmoid(-z), and with `clip > 0`, log(1 - p_m) = log(sigmoid(-z) +
    clip) while p > clip. A confident mistake costs its exact value: a negative label at
    logit 40 with `clip=0` costs 40, where the authors' clamp of probabilities at 1e-8
    stops at -log(1e-8) = 18.4.

    Formula:

    ```python
    # per label, p = sigmoid(y_pred) from logits; summed over the last axis
    p_m = max(p - clip, 0)                         # shifted probability of a negative
    L_pos = -(1 - p) ** gamma_pos * log(p)
    L_neg = -p_m ** gamma_neg * log(1 - p_m)
    loss = sum(y * L_pos + (1 - y) * L_neg)
    ```

    From probabilities, p is `y_pred` clipped to [eps, 1 - eps] (Keras' 1e-7; 2^-11
    and 2^-8 for float16 and bfloat16 probabilities). Labels are 0 or 1; a value in
    between mixes the two terms linearly (the authors' code, written for 0/1 labels,
    mixes them differently).

    Args:
        y_true: multi-hot labels, shape (B, C) (or (B, T, C)).
        y_pred: logits (or probabilities with `from_logits=False`), same shape.
        gamma_pos: focusing exponent of the positive labels, >= 0.
        gamma_neg: focusing exponent of the negative labels, >= 0.
        clip: probability margin m in [0, 1) of the negative labels; 0 turns the shift off.
        from_logits: whether `y_pred` holds logits (the default) or probabilities.

    Returns:
        The loss per sample, the sum over the last axis: shape (B,) (or (B, T)), in
        `y_pred`'s dtype (16-bit inputs are computed in float32).

    Raises:
        ValueError: if `gamma_pos` or `gamma_neg` is negative, `clip` is outside [0, 1),
            any of them is not finite, `y_pred` has rank < 2, or `y_true` does not have
            `y_pred`'s shape.
        TypeError: if a hyper-parameter is not a real number or `from_logits` not a bool.

    Example:
        >>> y_true, logits = [[1.0, 0.0, 0.0]], [[2.0, -1.0, 3.0]]
        >>> # softplus(-2) + 0.2189**4 * -log(0.7811) + 0.9026**4 * -log(0.0974)
        >>> print(keras.ops.convert_to_numpy(asymmetric_loss(y_true, logits)))
        [1.6729]
        >>> # a confident mistake costs its exact value, -log(1 - sigmoid(40)) = 40
        >>> print(keras.ops.convert_to_numpy(asymmetric_loss([[0.0]], [[40.0]], clip=0.0)))
        [40.]

    Reference: Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV 2021.
    """
    gamma_pos, gamma_neg, clip, from_logits = _asymmetric_hyper(
        gamma_pos, gamma_neg, clip, from_logits
    )
    y_true, y_pred, dtype = _prologue(y_true, y_pred)
    if len(y_pred.shape) < 2:
        raise ValueError(
            f"`y_pred` must have shape (batch_size, C), one score per label; "
            f"got shape {tuple(y_pred.shape)}."
        )
    _checks.check_same_shape(y_true, y_pred)
    _checks.check_unit_interval("y_true", y_true, hint=_checks.BINARY_TARGET_HINT)
    if from_logits:
        log_p, log_not_p = ops.log_sigmoid(y_pred), ops.log_sigmoid(-y_pred)
        p, not_p = ops.sigmoid(y_pred), ops.sigmoid(-y_pred)
    else:
        p = _clip_probabilities(y_pred, dtype)
        not_p = 1.0 - p  # exact in float32 for a 16-bit p
        log_p, log_not_p = ops.log(p), ops.log(not_p)
    # (1 - p)^gamma as exp(gamma * log(1 - p)): exact where 1 - p underflows, and its
    # derivative stays finite for gamma < 1.
    positive = -log_p
    if gamma_pos > 0:
        positive = ops.exp(gamma_pos * log_not_p) * positive
    if clip > 0:
        # 1 - p_m = min(1 - p + clip, 1), from 1 - p itself (sigmoid(-z) from logits), never
        # by subtracting p from 1: it is >= clip, so its log is finite at any logit. The
        # conditions send NaN down the computing branch, so a NaN input reaches the loss.
        shifted = not_p + constant(clip, not_p.dtype)
        zero = ops.zeros_like(shifted)
        unshifted = ops.greater_equal(shifted, constant(1.0, shifted.dtype))  # p <= clip
        negative = -ops.where(unshifted, zero, ops.log(shifted))
        p_m = ops.where(unshifted, zero, p - constant(clip, p.dtype))
        if gamma_neg > 0:
            # The floor keeps d/dx x**gamma finite for gamma < 1 as p_m reaches 0; bounds
            # of p_m's dtype, as `clip` with Python floats would round float64 on torch.
            floor = constant(smallest_normal(p_m.dtype), p_m.dtype)
            weight = ops.power(ops.clip(p_m, floor, constant(1.0, p_m.dtype)), gamma_neg)
            negative = weight * negative
    else:
        negative = -log_not_p
        if gamma_neg > 0:
            negative = ops.exp(gamma_neg * log_p) * negative
    loss = y_true * positive + (1.0 - y_true) * negative
    return ops.cast(ops.sum(loss, axis=-1), dtype)


@register
class AsymmetricLoss(PerSampleLoss):
    """Asymmetric loss (Ridnik et al. 2021) for multi-label classification.

    Each label is a binary problem; the many easy negatives of a multi-label problem are
    focused harder (`gamma_neg`) and shifted down by `clip`, so a negative predicted
    below `clip` costs nothing. Each sample's value is the SUM over its labels, as in the
    authors' code (Keras' `BinaryCrossentropy` takes the mean over the labels instead),
    and the focusing weights are differentiated like the rest. From logits it works in
    log space: a negative label at logit 40 with `clip=0` costs exactly 40.

    Formula:

    ```python
    # per label, p = sigmoid(y_pred) from logits; summed over the last axis
    p_m = max(p - clip, 0)                         # shifted probability of a negative
    L_pos = -(1 - p) ** gamma_pos * log(p)
    L_neg = -p_m ** gamma_neg * log(1 - p_m)
    loss = sum(y * L_pos + (1 - y) * L_neg)
    ```

    From probabilities, p is `y_pred` clipped to [eps, 1 - eps] (Keras' 1e-7; 2^-11
    and 2^-8 for float16 and bfloat16). Labels are 0 or 1; a value in between mixes the
    two terms linearly.

    Args:
        gamma_pos: focusing exponent of the positive labels, >= 0.
        gamma_neg: focusing exponent of the negative labels, >= 0.
        clip: probability margin m in [0, 1) of the negative labels; 0 turns the shift off.
        from_logits: whether `y_pred` holds logits (the default) or probabilities.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: if `gamma_pos` or `gamma_neg` is negative, `clip` is outside [0, 1),
            or any of them is not finite.
        TypeError: if a hyper-parameter is not a real number or `from_logits` not a bool.

    Example:
        >>> loss = AsymmetricLoss(gamma_pos=0.0, gamma_neg=4.0, clip=0.05)
        >>> y_true = [[1.0, 0.0], [0.0, 1.0]]
        >>> logits = [[1.0, 2.0], [0.5, -2.0]]
        >>> # row 0: softplus(-1) + 0.8308**4 * -log(0.1692) = 1.1597
        >>> # row 1: 0.5725**4 * -log(0.4275) + softplus(2) = 2.2182
        >>> print(float(loss(y_true, logits)))
        1.6889
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        >>> model.compile(optimizer="adam", loss=AsymmetricLoss())
        >>> h = model.fit(np.ones((8, 4), "float32"), np.eye(3, dtype="float32")[[0, 1] * 4],
        ...               epochs=1, verbose=0)
        >>> print(np.isfinite(h.history["loss"][-1]))
        True

    Reference: Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV 2021.
    """

    def __init__(
        self,
        *,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        from_logits: bool = True,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "asymmetric_loss",
        dtype: DTypeLike = None,
    ) -> None:
        gamma_pos, gamma_neg, clip, from_logits = _asymmetric_hyper(
            gamma_pos, gamma_neg, clip, from_logits
        )
        super().__init__(
            asymmetric_loss,
            name=name,
            reduction=reduction,
            dtype=dtype,
            gamma_pos=gamma_pos,
            gamma_neg=gamma_neg,
            clip=clip,
            from_logits=from_logits,
        )


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
