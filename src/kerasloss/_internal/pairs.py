"""Anchors, their reference set and the label masks every pair, triplet and proxy loss uses.

A batch loss compares each anchor (a row of the batch) with the rows of a reference
set: the batch itself by default, or given embeddings and labels (a memory of past
batches, a gallery). Its formula then needs only the (B, M) similarity or distance
matrix and two masks, so one implementation serves the batch, a reference set and a
cross-batch memory alike:

- `positive[i, j]`: same label, and j is not anchor i itself (only possible when the
  reference set is the batch);
- `negative[i, j]`: a different label.

Entries that are in neither (an anchor with itself, a memory slot not filled yet, an
anchor's own copy in a memory) are left out of every sum, max and log-sum-exp.
"""

from __future__ import annotations

from typing import NamedTuple

from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import float_tensor, to_working
from kerasloss._internal.types import Tensor, TensorLike


class Pairs(NamedTuple):
    """A batch of anchors and the reference set they are compared with."""

    embeddings: Tensor  # (B, D), in the working dtype
    labels: Tensor  # (B,)
    ref: Tensor  # (M, D), in the working dtype; the batch itself by default
    ref_labels: Tensor  # (M,)
    positive: Tensor  # (B, M) bool
    negative: Tensor  # (B, M) bool
    dtype: str  # the dtype of the given embeddings, which the loss returns
    same: bool  # whether the reference set is the batch itself


def embeddings_and_labels(
    labels: TensorLike, embeddings: TensorLike, *, labels_name: str, embeddings_name: str
) -> tuple[Tensor, Tensor]:
    """Labels as a (B,) tensor and embeddings as a float (B, D) tensor, checked."""
    embeddings = float_tensor(embeddings)
    if len(embeddings.shape) != 2:
        raise ValueError(
            f"`{embeddings_name}` must hold embeddings of shape (batch_size, D); got shape "
            f"{tuple(embeddings.shape)}."
        )
    labels = _checks.label_vector(labels_name, labels, per="embedding")
    size = labels.shape[0]
    if size is not None and embeddings.shape[0] is not None and size != embeddings.shape[0]:
        raise ValueError(
            f"`{labels_name}` has {size} labels for {embeddings.shape[0]} embeddings in "
            f"`{embeddings_name}`."
        )
    return labels, embeddings


def check_not_empty(name: str, embeddings: Tensor) -> None:
    """ValueError for an empty batch, the same on every backend: a batch loss has no
    anchor to compare (and JAX's max over an empty axis raises an error of its own)."""
    if embeddings.shape[0] == 0:
        raise ValueError(
            f"`{name}` holds an empty batch, shape {tuple(embeddings.shape)}: a batch loss "
            "needs at least one embedding (batch_size >= 1)."
        )


def label_masks(labels: Tensor, ref_labels: Tensor, *, same: bool) -> tuple[Tensor, Tensor]:
    """Positive and negative masks (B, M), bool; with `same`, no anchor is its own positive.

    Labels are compared exactly, so integer ids that arrive as floats still match.
    """
    ref_labels = ops.cast(ref_labels, labels.dtype)
    equal = ops.equal(labels[:, None], ref_labels[None, :])
    if same:
        index = ops.arange(ops.shape(labels)[0])
        equal_not_self = ops.logical_and(equal, ops.not_equal(index[:, None], index[None, :]))
        return equal_not_self, ops.logical_not(equal)
    return equal, ops.logical_not(equal)


def reference_pairs(
    y_true: TensorLike,
    y_pred: TensorLike,
    ref_embeddings: TensorLike | None = None,
    ref_labels: TensorLike | None = None,
) -> Pairs:
    """The anchors of a batch and their reference set: `ref_*` if given, else the batch.

    Raises:
        ValueError: if one of `ref_embeddings` and `ref_labels` is given without the
            other, a shape is wrong, the batch is empty, or the embedding sizes differ.
    """
    labels, embeddings = embeddings_and_labels(
        y_true, y_pred, labels_name="y_true", embeddings_name="y_pred"
    )
    check_not_empty("y_pred", embeddings)
    embeddings, dtype = to_working(embeddings)
    if (ref_embeddings is None) != (ref_labels is None):
        raise ValueError(
            "`ref_embeddings` and `ref_labels` go together: give both or neither; got "
            f"ref_embeddings {'None' if ref_embeddings is None else 'given'} and "
            f"ref_labels {'None' if ref_labels is None else 'given'}."
        )
    if ref_embeddings is None:
        positive, negative = label_masks(labels, labels, same=True)
        return Pairs(embeddings, labels, embeddings, labels, positive, negative, dtype, True)
    ref_labels_t, ref = embeddings_and_labels(
        ref_labels, ref_embeddings, labels_name="ref_labels", embeddings_name="ref_embeddings"
    )
    if ref.shape[-1] != embeddings.shape[-1]:
        raise ValueError(
            f"`ref_embeddings` must have the embedding size of `y_pred` ({embeddings.shape[-1]}); "
            f"got shape {tuple(ref.shape)}."
        )
    ref = ops.cast(ref, embeddings.dtype)
    positive, negative = label_masks(labels, ref_labels_t, same=False)
    return Pairs(embeddings, labels, ref, ref_labels_t, positive, negative, dtype, False)
