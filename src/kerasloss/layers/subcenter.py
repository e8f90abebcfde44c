"""Sub-center ArcFace: ArcFace with several class vectors (sub-centres) per class.

A margin head like `ArcFace` (same kernel layout idea, same call convention, same
margin), whose class cosine is the largest cosine with any of the class's sub-centres.
Noisy samples then gather around a sub-centre of their own instead of pulling the
class's main one; after training, `dominant_sub_centers` finds each class's dominant
sub-centre and flags the samples far from it, the paper's way to clean a dataset.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from kerasloss._internal import labels as _labels
from kerasloss._internal.distances import l2_normalize
from kerasloss._internal.dtypes import float_tensor, working_dtype
from kerasloss._internal.masking import first_argmax
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike
from kerasloss.layers.margin import (
    _arcface_target,
    _check_angular_margin,
    _check_scale,
    _ScaledMarginSoftmax,
)

__all__ = ["SubCenterArcFace"]


def _check_sub_centers(sub_centers: object) -> int:
    if isinstance(sub_centers, (bool, np.bool_)) or not isinstance(sub_centers, (int, np.integer)):
        raise TypeError(
            f"`sub_centers` must be an integer >= 1; got {sub_centers!r} "
            f"({type(sub_centers).__name__})."
        )
    if sub_centers < 1:
        raise ValueError(f"`sub_centers` must be an integer >= 1; got {sub_centers}.")
    return int(sub_centers)


@register
class SubCenterArcFace(_ScaledMarginSoftmax):
    """Sub-center ArcFace logits: ArcFace's margin on the nearest of K sub-centres per class.

    The layer holds K weight vectors (sub-centres) per class, `kernel` of shape
    (D, num_classes * sub_centers), column `c * sub_centers + k` being sub-centre k of
    class c. A class's cosine is the largest cosine of the embedding with the class's
    sub-centres; called with `[embeddings, labels]`, the layer widens the angle to the
    target class by an additive margin, as `ArcFace` does; train those logits with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`. Called with the
    embeddings alone it returns the logits without the margin, for inference.

    Formula:

    ```python
    cos_all = l2_normalize(x) @ l2_normalize(kernel, axis=0)    # (B, num_classes * K)
    cos = max(reshape(cos_all, (B, num_classes, K)), axis=-1)     # cos(theta), (B, num_classes)
    target = where(theta <= pi - margin,
                   cos(theta + margin),
                   cos(theta) - margin * sin(margin))
    logits = scale * where(one_hot(labels), target, cos)          # [x, labels]
    logits = scale * cos                                          # x alone
    ```

    With the same kernel, the logits equal those of pytorch-metric-learning's
    `SubCenterArcFaceLoss` (whose margin is in degrees), and their mean cross-entropy
    is the value that loss returns. The gradient reaches only the nearest sub-centre
    of each class. With `sub_centers=1` the layer is `ArcFace`.

    After training, `dominant_sub_centers(embeddings, labels)` returns each class's
    dominant sub-centre (the one most of its samples are nearest to) and flags as
    outliers the samples whose angle to it exceeds `max_angle` (75 degrees in the
    paper): drop them, keep the dominant sub-centres, and train again.

    Args:
        num_classes: number of classes, an integer >= 1.
        sub_centers: K, the number of sub-centres per class, an integer >= 1.
        margin: the angular margin m in radians, 0 <= m < pi/2 (0.5 rad is 28.6 degrees;
            pytorch-metric-learning takes degrees).
        scale: the factor s > 0 on every cosine, the inverse softmax temperature.
        kernel_initializer: initializer of `kernel`, (D, num_classes * K); default
            "glorot_uniform".
        **kwargs: the `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[embeddings, labels]` while training: embeddings (B, D) and integer class
            ids (B,) or (B, 1) in [0, num_classes) (ids cast to float are accepted); or
            `embeddings` alone, for inference. An invalid label (outside
            [0, num_classes), fractional or NaN) raises a ValueError when its value
            is known (eager steps; every step on torch); inside a compiled JAX or
            TensorFlow step every logit of the batch becomes NaN, so the loss is NaN
            whatever target the loss is given for that row.

    Returns:
        Logits, shape (B, num_classes). They are float32 when the layer computes in
        float16 or bfloat16, in the compute dtype otherwise.

    Raises:
        TypeError: if `num_classes` or `sub_centers` is not an integer, or `scale` or
            `margin` not a real number.
        ValueError: if `num_classes` or `sub_centers` < 1, `scale` <= 0, `margin` is
            outside [0, pi/2), either is not finite, the embeddings are not (B, D) with
            D known, the labels are not (B,) or (B, 1) or not class ids in
            [0, num_classes), or `inputs` is a list of other than two tensors.

    Example:
        >>> head = SubCenterArcFace(2, sub_centers=2, scale=10.0, margin=0.5)
        >>> head.build((None, 2))
        >>> # class 0: sub-centres (1, 0) and (0, 1); class 1: (-1, 0) and (0, -1)
        >>> head.set_weights([np.array([[1, 0, -1, 0], [0, 1, 0, -1]], dtype="float32")])
        >>> x = np.array([[1.0, 0.0], [3.0, 4.0]], dtype="float32")
        >>> print(keras.ops.convert_to_numpy(head(x)))  # 10 * the best sub-centre's cosine
        [[10.0 0.0]
         [ 8.0 -6.0]]
        >>> print(keras.ops.convert_to_numpy(head([x, np.array([0, 0])])))
        [[8.7758 0.0000]
         [4.1441 -6.0000]]
        >>> dominant, outliers = head.dominant_sub_centers(x, np.array([0, 0]))
        >>> print(keras.ops.convert_to_numpy(dominant), keras.ops.convert_to_numpy(outliers))
        [ 0 -1] [False False]

        Row 1's nearest sub-centre of class 0 is (0, 1) (cosine 0.8), so its target is
        10 (0.8 cos(0.5) - 0.6 sin(0.5)) = 4.1441. Each class-0 row is nearest a
        different sub-centre: the tie goes to sub-centre 0, and row 1 (53 degrees from
        it) is within 75 degrees. Class 1 has no sample: -1.

    Reference:
        Deng, Guo, Liu, Zafeiriou, "Sub-center ArcFace: Boosting Face Recognition by
        Large-Scale Noisy Web Faces", ECCV 2020,
        https://www.ecva.net/papers/eccv_2020/papers_ECCV/papers/123560715.pdf.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        sub_centers: int = 3,
        margin: float = 0.5,
        scale: float = 64.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes, **kwargs)
        self.sub_centers = _check_sub_centers(sub_centers)
        self.scale = _check_scale(scale)
        self.margin = _check_angular_margin(margin)

    def _kernel_columns(self) -> int:
        return self.num_classes * self.sub_centers

    def _class_cosines(self, cosine: Tensor) -> Tensor:
        grouped = ops.reshape(cosine, (-1, self.num_classes, self.sub_centers))
        return ops.max(grouped, axis=-1)

    def _target_logit(self, cosine_of_target: Tensor) -> Tensor:
        return _arcface_target(cosine_of_target, self.margin)

    def dominant_sub_centers(
        self,
        embeddings: TensorLike,
        labels: TensorLike,
        *,
        max_angle: float = math.radians(75.0),
    ) -> tuple[Tensor, Tensor]:
        """Each class's dominant sub-centre, and the samples far from it (the outliers).

        A sample votes for the sub-centre of its own class it is nearest to; a class's
        dominant sub-centre is the one with the most votes (the lowest index on a tie,
        -1 for a class with no sample). A sample is an outlier if its angle to its
        class's dominant sub-centre exceeds `max_angle`. Give the whole training set
        (or a large part of it): the votes are counted over what is given.

        Args:
            embeddings: shape (N, D).
            labels: integer class ids, shape (N,) or (N, 1), in [0, num_classes).
            max_angle: the angle in radians, in (0, pi], beyond which a sample is an
                outlier (default 75 degrees, the paper's).

        Returns:
            `(dominant, outliers)`: int32 of shape (num_classes,), and bool of shape
            (N,). Kernel column `c * sub_centers + dominant[c]` is the dominant
            sub-centre of class c.

        Raises:
            ValueError: if `max_angle` is not in (0, pi], the layer is not built, or a
                label is not a class id in [0, num_classes) (inside a compiled step
                such a sample is flagged as an outlier instead).
        """
        if isinstance(max_angle, (bool, np.bool_)) or not isinstance(
            max_angle, (int, float, np.number)
        ):
            raise TypeError(f"`max_angle` must be a real number; got {max_angle!r}.")
        if not 0.0 < float(max_angle) <= math.pi:
            raise ValueError(f"`max_angle` must be in (0, pi] radians; got {max_angle}.")
        if not self.built:
            raise ValueError("`dominant_sub_centers` needs a built layer (call it first).")
        embeddings = float_tensor(embeddings)
        dtype = working_dtype(embeddings.dtype)
        embeddings = ops.cast(embeddings, dtype)
        ids, bad = _labels.class_labels(labels, self.num_classes, batch_size=embeddings.shape[0])
        cosine = ops.einsum(
            "bd,dc->bc",
            l2_normalize(embeddings, axis=-1),
            l2_normalize(ops.cast(self.kernel, dtype), axis=0),
        )
        grouped = ops.reshape(cosine, (-1, self.num_classes, self.sub_centers))
        own_class = ops.one_hot(ids, self.num_classes, dtype=dtype)  # zero row if invalid
        own = ops.einsum("bc,bck->bk", own_class, grouped)  # (N, K): the class's sub-centres
        nearest = ops.one_hot(first_argmax(own), self.sub_centers, dtype=dtype)
        votes = ops.einsum("bc,bk->ck", own_class, nearest)  # (num_classes, K)
        present = ops.sum(votes, axis=-1) > 0
        dominant = ops.where(present, first_argmax(votes), -ops.ones_like(first_argmax(votes)))
        dominant_of_sample = ops.einsum(
            "bc,ck->bk", own_class, ops.one_hot(first_argmax(votes), self.sub_centers, dtype=dtype)
        )
        cosine_to_dominant = ops.sum(own * dominant_of_sample, axis=-1)
        threshold = ops.convert_to_tensor(math.cos(float(max_angle)), dtype=dtype)
        outliers = ops.logical_or(ops.less(cosine_to_dominant, threshold), bad)
        return ops.cast(dominant, "int32"), outliers

    def get_config(self) -> dict[str, Any]:
        """The ArcFace config plus `sub_centers`."""
        return {**super().get_config(), "sub_centers": self.sub_centers}
