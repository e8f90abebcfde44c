"""NumPy restatements of the sparse losses, in float64: the dense formulas on one-hot ids.

A sparse loss is its dense twin on `one_hot(y_true)`, except where `y_true` is
`ignore_class`: there it is 0. Nothing here calls kerasloss.
"""

from __future__ import annotations

import numpy as np

import _reference as ref


def _ids(y_true, y_pred):
    """y_true as integer ids of y_pred's shape without the class axis."""
    ids = np.asarray(y_true)
    lead = np.shape(y_pred)[:-1]
    if ids.shape == (*lead, 1):
        ids = ids[..., 0]
    assert ids.shape == lead, (ids.shape, lead)
    return ids.astype(np.int64)


def one_hot_with_ignored(y_true, y_pred, ignore_class=None):
    """The one-hot of the ids (class 0 where ignored) and the mask of the kept samples."""
    ids = _ids(y_true, y_pred)
    keep = np.ones(ids.shape, bool) if ignore_class is None else ids != ignore_class
    num_classes = np.shape(y_pred)[-1]
    return np.eye(num_classes)[np.where(keep, ids, 0)], keep


def sparse_cost_sensitive(y_true, y_pred, cost, from_logits, ignore_class=None):
    """W[t, argmax p] * -log p_t per sample, 0 where t is `ignore_class`."""
    onehot, keep = one_hot_with_ignored(y_true, y_pred, ignore_class)
    return np.where(keep, ref.cost_sensitive(onehot, y_pred, cost, from_logits), 0.0)


def sparse_label_smoothing(y_true, y_pred, epsilon, from_logits, ignore_class=None):
    """CE((1 - epsilon) one_hot(t) + epsilon / C, p) per sample, 0 where t is ignored."""
    onehot, keep = one_hot_with_ignored(y_true, y_pred, ignore_class)
    return np.where(keep, ref.label_smoothing(onehot, y_pred, epsilon, from_logits), 0.0)


def kept_mean(values, keep, sample_weight=None):
    """Keras' mean with `ignore_class`: sum of (weighted) values over the kept count."""
    values = np.asarray(values, np.float64)
    if sample_weight is not None:
        values = values * np.asarray(sample_weight, np.float64)
    count = np.count_nonzero(keep)
    return values[keep].sum() / count if count else 0.0
