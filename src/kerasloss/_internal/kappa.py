"""Cohen's kappa pieces shared by the weighted kappa loss and the CohenKappa metric."""

from __future__ import annotations

import numpy as np

from kerasloss._internal import checks as _checks

WEIGHTAGES = ("linear", "quadratic")


def check_kappa_classes(num_classes: object) -> int:
    """An integer >= 2: kappa compares ratings on at least two classes."""
    num_classes = _checks.check_num_classes(num_classes)
    if num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an integer >= 2 (kappa needs two classes); got {num_classes}."
        )
    return num_classes


def check_weightage(weightage: object, *, allow_none: bool) -> str | None:
    """ "linear", "quadratic" or, with `allow_none`, None (unweighted kappa)."""
    allowed = (*WEIGHTAGES, None) if allow_none else WEIGHTAGES
    if weightage is not None and not isinstance(weightage, str):
        raise TypeError(
            f"`weightage` must be one of {allowed}; got {weightage!r} ({type(weightage).__name__})."
        )
    if weightage not in allowed:
        raise ValueError(f"`weightage` must be one of {allowed}; got {weightage!r}.")
    return weightage


def kappa_weights(num_classes: int, weightage: str | None) -> np.ndarray:
    """The (C, C) disagreement weights W[i, j], float64.

    None: 1 off the diagonal, 0 on it; "linear": |i - j|; "quadratic": (i - j)^2, as
    scikit-learn's `cohen_kappa_score` and TensorFlow Addons (unnormalised: kappa is a
    ratio of two sums of W, so a scale of W cancels).
    """
    classes = np.arange(num_classes, dtype=np.float64)
    gap = classes[:, None] - classes[None, :]
    if weightage is None:
        return (gap != 0).astype(np.float64)
    return np.abs(gap) if weightage == "linear" else gap**2
