"""N-pairs losses: softmax cross-entropy over a batch's similarity matrix.

The model compares a batch of anchors with a batch of positives (`y_pred[i, j]`, the
similarity of anchor i and positive j, for example `a @ b.T`), and each anchor's row
is a softmax classification over the positives, whose targets are the positives that
share its labels. These are TensorFlow Addons' `npairs_loss` and
`npairs_multilabel_loss`. They follow kerasloss' precision policy
(`kerasloss._internal.dtypes`): float16 and bfloat16 similarities are computed in
float32 and the loss is returned in their dtype, float64 stays float64.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.base import PerSampleLoss
from kerasloss._internal.dtypes import constant, to_working
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Reduction, Tensor, TensorLike

__all__ = ["NpairsLoss", "NpairsMultilabelLoss", "npairs_loss", "npairs_multilabel_loss"]


def _similarities(y_pred: TensorLike) -> tuple[Tensor, str]:
    """y_pred as a square (B, B) matrix in the dtype to compute in, and the dtype to return."""
    similarities, dtype = to_working(y_pred)
    shape = tuple(similarities.shape)
    if len(shape) != 2 or (None not in shape and shape[0] != shape[1]):
        raise ValueError(
            "`y_pred` must be the (batch_size, batch_size) similarity matrix of the anchors "
            f"(rows) and the positives (columns); got shape {shape}."
        )
    return similarities, dtype


def _check_batch(name: str, size: int | None, similarities: Tensor) -> None:
    """`size` rows of `name` for the rows of `y_pred`, where both are known."""
    rows = similarities.shape[0]
    if size is not None and rows is not None and size != rows:
        raise ValueError(f"`{name}` has {size} rows for the {rows} rows of `y_pred`.")


def _crossentropy_rows(targets: Tensor, similarities: Tensor) -> Tensor:
    """-sum_j targets[i, j] * log_softmax(similarities[i])[j], one value per row."""
    log_p = ops.log_softmax(similarities, axis=-1)
    zero = ops.zeros_like(log_p)
    # A zero target adds nothing, even against a similarity of -inf (0 * -inf is NaN).
    on = ops.not_equal(targets, 0.0)
    return -ops.sum(ops.where(on, targets * ops.where(on, log_p, zero), zero), axis=-1)


@register
def npairs_loss(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """N-pairs loss on a similarity matrix, with one class label per pair (Sohn 2016).

    Row i of `y_pred` holds the similarities of anchor i to the B positives; softmax
    cross-entropy of that row against the positives that share anchor i's label, weighted
    equally. The batch loss is the mean of the returned values: TensorFlow Addons'
    `npairs_loss`. The paper's L2 penalty on the embeddings is not part of it (nor of
    TensorFlow Addons'): add it to the embedding layer as an activity regularizer.

    Formula:

    ```python
    T = (y_true[:, None] == y_true[None, :])          # (B, B), T[i, i] = 1
    T = T / T.sum(axis=1, keepdims=True)              # rows sum to 1
    loss[i] = -sum_j T[i, j] * log_softmax(y_pred[i])[j]
    # TensorFlow Addons' value: mean_i loss[i]
    ```

    The value for sample i depends on the labels of the whole batch. Each is in log
    space, exact at similarities of +-1e4; a NaN label or similarity gives NaN.

    Args:
        y_true: integer class labels, shape (B,) or (B, 1); compared exactly.
        y_pred: similarities of anchors (rows) and positives (columns), shape (B, B),
            for example `anchors @ positives.T`.

    Returns:
        The cross-entropy of each anchor's row, shape (B,), whose mean is the batch loss,
        in `y_pred`'s dtype (16-bit inputs are computed in float32 and cast back).

    Raises:
        ValueError: if `y_pred` is not square (B, B) or `y_true` is not (B,) or (B, 1)
            with the same B.

    Example:
        >>> labels = [0, 0, 1]
        >>> similarities = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]
        >>> values = npairs_loss(labels, similarities)
        >>> # row 0: targets [0.5, 0.5, 0], -(0.5 * log p0 + 0.5 * log p1)
        >>> print(keras.ops.convert_to_numpy(values))
        [0.9076 0.9076 0.0949]
        >>> print(float(keras.ops.mean(values)))
        0.6367

    Reference: Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss
    Objective", NeurIPS 2016; TensorFlow Addons' `tfa.losses.npairs_loss`.
    """
    similarities, dtype = _similarities(y_pred)
    labels = _checks.label_vector("y_true", y_true, per="anchor")
    _check_batch("y_true", labels.shape[0], similarities)
    same = ops.cast(ops.equal(labels[:, None], labels[None, :]), similarities.dtype)
    # Each row holds its diagonal, so it sums to 1 or more; a NaN label, whose row is 0,
    # gives 0 / 0 = NaN.
    targets = same / ops.sum(same, axis=-1, keepdims=True)
    return ops.cast(_crossentropy_rows(targets, similarities), dtype)


def _multi_hot(y_true: TensorLike, similarities: Tensor) -> Tensor:
    """Dense (B, L) labels in the similarities' dtype; sparse tensors are densified."""
    labels = ops.convert_to_tensor(y_true, sparse=False)
    if len(labels.shape) != 2:
        raise ValueError(
            "`y_true` must hold multi-hot labels of shape (batch_size, num_labels); got shape "
            f"{tuple(labels.shape)}."
        )
    _check_batch("y_true", labels.shape[0], similarities)
    labels = ops.cast(labels, similarities.dtype)
    # Checked in the dtype the loss computes in: NumPy has no bfloat16 of its own.
    known = _checks._concrete_values(labels)
    if known is not None and np.any((known < 0) | (known > 1)):
        raise ValueError(
            "`y_true` must hold label indicators >= 0 and <= 1 (multi-hot rows); got entries "
            f"from {np.nanmin(known):g} to {np.nanmax(known):g}.{_checks.BINARY_TARGET_HINT}"
        )
    return labels


@register
def npairs_multilabel_loss(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """N-pairs loss on a similarity matrix, with multi-hot labels per pair (Sohn 2016).

    As `npairs_loss`, but a pair has a set of labels, and the target weight of positive
    j for anchor i is the number of labels they share, normalised over the row. The
    batch loss is the mean of the returned values: TensorFlow Addons'
    `npairs_multilabel_loss`.

    Formula:

    ```python
    T = y_true @ y_true.T                             # (B, B): labels shared
    T = T / T.sum(axis=1, keepdims=True)              # rows sum to 1
    loss[i] = -sum_j T[i, j] * log_softmax(y_pred[i])[j]
    loss[i] = 0                                       # if anchor i has no label
    # TensorFlow Addons' value: mean_i loss[i]
    ```

    An anchor with no label has no target: it gives 0 and a zero gradient, and still
    counts in the batch mean (TensorFlow Addons divides 0 by 0 and returns NaN for the
    whole batch). A NaN label or similarity gives NaN. Exact at similarities of +-1e4.

    Args:
        y_true: multi-hot labels, shape (B, L): `y_true[i, l] = 1` if pair i has label
            l, else 0; a sparse tensor of the backend (`tf.SparseTensor`, JAX's `BCOO`)
            is made dense.
        y_pred: similarities of anchors (rows) and positives (columns), shape (B, B),
            for example `anchors @ positives.T`.

    Returns:
        The cross-entropy of each anchor's row, shape (B,), whose mean is the batch loss,
        in `y_pred`'s dtype (16-bit inputs are computed in float32 and cast back).

    Raises:
        ValueError: if `y_pred` is not square (B, B), `y_true` is not (B, L) with the
            same B, or known labels are negative.

    Example:
        >>> labels = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
        >>> similarities = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]
        >>> values = npairs_multilabel_loss(labels, similarities)
        >>> # row 1 shares 1, 2 and 1 labels: targets [0.25, 0.5, 0.25]
        >>> print(keras.ops.convert_to_numpy(values))
        [0.9076 1.1576 1.5949]
        >>> print(float(keras.ops.mean(values)))
        1.2200

    Reference: Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss
    Objective", NeurIPS 2016; TensorFlow Addons' `tfa.losses.npairs_multilabel_loss`.
    """
    similarities, dtype = _similarities(y_pred)
    labels = _multi_hot(y_true, similarities)
    shared = ops.einsum("il,jl->ij", labels, labels)
    counts = ops.sum(shared, axis=-1, keepdims=True)
    # `!= 0`, not `> 0`: a NaN count must reach the loss.
    has_labels = ops.not_equal(counts, 0.0)
    one = constant(1.0, similarities.dtype)
    targets = shared / ops.where(has_labels, counts, one)
    return ops.cast(_crossentropy_rows(targets, similarities), dtype)


@register
class NpairsLoss(PerSampleLoss):
    """N-pairs loss on a similarity matrix with one class label per pair (Sohn 2016).

    `y_true` holds the labels (B,) or (B, 1), `y_pred` the (B, B) similarities of the
    batch's anchors (rows) and positives (columns), for example `anchors @ positives.T`
    computed in the model. With the default reduction the value is TensorFlow Addons'
    `NpairsLoss`; `reduction=None` gives each anchor's cross-entropy.

    Formula:

    ```python
    T = (y_true[:, None] == y_true[None, :])          # (B, B), T[i, i] = 1
    T = T / T.sum(axis=1, keepdims=True)              # rows sum to 1
    loss[i] = -sum_j T[i, j] * log_softmax(y_pred[i])[j]
    loss = mean_i loss[i]
    ```

    `sample_weight` weights each anchor's row. Each batch should hold pairs of
    different classes (N pairs, N classes): positives of the same class share the target
    weight of a row.

    Args:
        reduction, name, dtype: as for `keras.losses.Loss`. Labels are converted to the
            loss's dtype by Keras: keep label ids below 2048 with a float16 dtype, below
            256 with bfloat16, where larger integers are no longer exact.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: when called, if `y_pred` is not square (B, B) or `y_true` is not
            (B,) or (B, 1) with the same B.

    Example:
        >>> loss = NpairsLoss()
        >>> labels = [0, 1, 2]
        >>> similarities = [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 0.0]]
        >>> print(float(loss(labels, similarities)))  # (2 * 0.0949 + 1.5514) / 3
        0.5804

    Reference: Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss
    Objective", NeurIPS 2016; TensorFlow Addons' `tfa.losses.NpairsLoss`.
    """

    def __init__(
        self,
        *,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "npairs_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(npairs_loss, name=name, reduction=reduction, dtype=dtype)


@register
class NpairsMultilabelLoss(PerSampleLoss):
    """N-pairs loss on a similarity matrix with multi-hot labels per pair (Sohn 2016).

    `y_true` holds multi-hot labels (B, L), `y_pred` the (B, B) similarities of the
    batch's anchors (rows) and positives (columns). With the default reduction the value
    is TensorFlow Addons' `NpairsMultilabelLoss` (where every anchor has a label; an
    anchor with none gives 0 here, NaN there).

    Formula:

    ```python
    T = y_true @ y_true.T                             # (B, B): labels shared
    T = T / T.sum(axis=1, keepdims=True)              # rows sum to 1
    loss[i] = -sum_j T[i, j] * log_softmax(y_pred[i])[j]   # 0 if anchor i has no label
    loss = mean_i loss[i]
    ```

    Args:
        reduction, name, dtype: as for `keras.losses.Loss`.

    Returns:
        Calling the loss returns the reduced loss: a scalar, or shape (B,) with
        `reduction=None`, in the loss's `dtype` (16-bit dtypes are computed in float32).

    Raises:
        ValueError: when called, if `y_pred` is not square (B, B), `y_true` is not (B, L)
            with the same B, or known labels are negative.

    Example:
        >>> loss = NpairsMultilabelLoss()
        >>> labels = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
        >>> similarities = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]
        >>> print(float(loss(labels, similarities)))  # (0.9076 + 1.1576 + 1.5949) / 3
        1.2200

    Reference: Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss
    Objective", NeurIPS 2016; TensorFlow Addons' `tfa.losses.NpairsMultilabelLoss`.
    """

    def __init__(
        self,
        *,
        reduction: Reduction = "sum_over_batch_size",
        name: str = "npairs_multilabel_loss",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(npairs_multilabel_loss, name=name, reduction=reduction, dtype=dtype)
