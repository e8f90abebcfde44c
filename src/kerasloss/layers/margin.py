"""Margin softmax layers: ArcFace, CosFace and SphereFace.

Each layer holds one weight vector per class, `kernel` of shape (D, num_classes), and
turns embeddings into class logits from the cosine between an embedding and each
class vector. Called with `[embeddings, labels]` it penalises the target class by a
margin, so that training with sparse categorical cross-entropy from logits pulls the
embeddings of a class into a tight cone around its class vector. Called with the
embeddings alone it returns the same logits without the margin, for inference.

The three layers differ only in the margin and in how the cosines are scaled:

| layer      | target logit                 | scale            |
|------------|------------------------------|------------------|
| ArcFace    | cos(theta + m)               | `scale`          |
| CosFace    | cos(theta) - m               | `scale`          |
| SphereFace | (-1)^k cos(m theta) - 2k     | ||embedding||    |

With the same kernel, their logits equal those of pytorch-metric-learning's
`ArcFaceLoss` (whose margin is in degrees), `CosFaceLoss` and `SphereFaceLoss`, and
the mean cross-entropy of those logits is the value those losses return.

No arccos is ever differentiated: its derivative is infinite at cos = +-1 (an
embedding on or opposite its class vector), and the chain rule then gives NaN. ArcFace
uses cos(theta + m) = cos(theta) cos(m) - sin(theta) sin(m) with a guarded square root
for sin(theta); SphereFace uses the Chebyshev polynomial T_m(cos(theta)) = cos(m theta)
and finds k by comparing the cosine with cos(j pi / m).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import keras
import numpy as np
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal import labels as _labels
from kerasloss._internal.distances import l2_normalize, safe_sqrt
from kerasloss._internal.dtypes import constant, working_dtype
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike

__all__ = ["ArcFace", "CosFace", "SphereFace"]


# --------------------------------------------------------------------------- helpers


# A static shape: (batch_size, D), entries None where unknown.
_Shape = Sequence[int | None]


def _check_scale(scale: object) -> float:
    """A finite scale > 0; TypeError or ValueError naming `scale` otherwise."""
    scale = _checks.check_real("scale", scale)
    if scale <= 0:
        raise ValueError(f"`scale` must be > 0; got {scale}.")
    return scale


def _check_angular_margin(margin: object) -> float:
    """An angle in [0, pi/2) radians; TypeError or ValueError naming `margin` otherwise."""
    margin = _checks.check_real("margin", margin)
    if not 0.0 <= margin < math.pi / 2:
        raise ValueError(
            f"`margin` must be in [0, pi/2) radians (0 <= margin < "
            f"{math.pi / 2:.4f}); got {margin}."
        )
    return margin


def _arcface_target(cosine_of_target: Tensor, margin: float) -> Tensor:
    """cos(theta + m) while theta <= pi - m, else cos(theta) - m sin(m); from cos(theta)."""
    dtype = cosine_of_target.dtype
    shifted = cosine_of_target * constant(math.cos(margin), dtype) - _guarded_sine(
        cosine_of_target
    ) * constant(math.sin(margin), dtype)
    fallback = cosine_of_target - constant(margin * math.sin(margin), dtype)
    # theta <= pi - m  <=>  cos(theta) >= cos(pi - m) = -cos(m)
    return ops.where(cosine_of_target >= constant(-math.cos(margin), dtype), shifted, fallback)


def _guarded_sine(cosine: Tensor) -> Tensor:
    """sin(theta) = sqrt(1 - cos^2) with a finite gradient where |cos| >= 1.

    There sin(theta) is 0 and sqrt's derivative infinite; `safe_sqrt` gives value 0 and
    gradient 0. Rounding can put a cosine one ulp beyond 1; its sine is then 0 too.
    """
    return safe_sqrt(1 - ops.square(cosine))


def _chebyshev(cosine: Tensor, degree: int) -> Tensor:
    """T_degree(cos(theta)) = cos(degree * theta), a polynomial: finite gradient everywhere."""
    previous, current = ops.ones_like(cosine), cosine
    for _ in range(degree - 1):  # a loop over the (small, static) margin, not over data
        previous, current = current, 2 * cosine * current - previous
    return current


# ------------------------------------------------------------------------- base layer


class _MarginSoftmax(keras.layers.Layer):
    """The shared part: the kernel, the cosines, the label handling and the config.

    Subclasses define `_target_logit(cosine_of_target)` (the margin, before scaling) and
    `_scale(embeddings)` (a scalar or a (B, 1) tensor).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        kernel_initializer: str | dict[str, Any] | keras.initializers.Initializer = (
            "glorot_uniform"
        ),
        **kwargs: Any,
    ) -> None:
        # The layer casts its inputs itself: autocasting would turn float-cast labels into
        # float16/bfloat16, where class ids above 2048/256 are no longer exact.
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        self.num_classes = _checks.check_num_classes(num_classes)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: _Shape | Sequence[_Shape]) -> None:
        """Creates `kernel`, (D, num_classes), from the shape of the embeddings."""
        if input_shape and isinstance(input_shape[0], (list, tuple)):  # [embeddings, labels]
            input_shape = input_shape[0]
        embedding_shape = cast(_Shape, input_shape)  # the embeddings' shape in either case
        if not embedding_shape or embedding_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs embeddings of shape (batch_size, D) with D "
                f"known; got shape {tuple(embedding_shape) if embedding_shape else ()}."
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(int(embedding_shape[-1]), self._kernel_columns()),
            initializer=self.kernel_initializer,
            trainable=True,
            # Never read in 16 bits: under a mixed policy Keras autocasts the variables of
            # a layer called outside a model's autocast scope (JAX's stateless predict),
            # and the cosines need float32's digits.
            autocast=False,
        )

    def call(self, inputs: TensorLike | Sequence[TensorLike]) -> Tensor:
        """Logits (B, num_classes): with the margin given `[embeddings, labels]`, else without."""
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    f"{type(self).__name__} takes `embeddings` or `[embeddings, labels]`; "
                    f"got a list of {len(inputs)} inputs."
                )
            embeddings, labels = inputs
        else:
            embeddings, labels = inputs, None
        # 16-bit cosines lose most of their digits in the dot product; compute (and return
        # the logits) in float32 then, in the layer's compute dtype otherwise.
        dtype = working_dtype(self.compute_dtype)
        embeddings = ops.cast(embeddings, dtype)
        if len(embeddings.shape) != 2:
            raise ValueError(
                f"`embeddings` must have shape (batch_size, D); got shape "
                f"{tuple(embeddings.shape)}."
            )
        # einsum, not matmul: Keras' torch matmul returns float32 for two float64 inputs.
        cosine = self._class_cosines(
            ops.einsum(
                "bd,dc->bc",
                l2_normalize(embeddings, axis=-1),
                l2_normalize(ops.cast(self.kernel, dtype), axis=0),
            )
        )
        if labels is None:
            return cosine * self._scale(embeddings)
        ids, bad = _labels.class_labels(labels, self.num_classes, batch_size=embeddings.shape[0])
        # An invalid label (seen only inside a compiled step) has a zero one-hot row and
        # makes every logit NaN: Keras' sparse cross-entropy of an out-of-range target is
        # 0 under XLA whatever that row's logits, so only NaN in the other rows shows it.
        target = ops.cast(ops.one_hot(ids, self.num_classes, dtype="int32"), "bool")
        cosine_of_target = ops.sum(
            ops.where(target, cosine, ops.zeros_like(cosine)), axis=-1, keepdims=True
        )
        cosine = ops.where(target, self._target_logit(cosine_of_target), cosine)
        return _labels.poison_all(cosine * self._scale(embeddings), bad)

    def _kernel_columns(self) -> int:
        """The number of class vectors in `kernel`: one per class."""
        return self.num_classes

    def _class_cosines(self, cosine: Tensor) -> Tensor:
        """(B, num_classes) class cosines from the cosines with every kernel column."""
        return cosine

    def _target_logit(self, cosine_of_target: Tensor) -> Tensor:
        """The target class's logit before scaling, from its cosine (B, 1)."""
        raise NotImplementedError

    def _scale(self, embeddings: Tensor) -> Tensor:
        """The factor on every cosine: a scalar or a (B, 1) tensor."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The `keras.layers.Layer` config plus `num_classes` and `kernel_initializer`."""
        config: dict[str, Any] = super().get_config()
        config.update(
            num_classes=self.num_classes,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


class _ScaledMarginSoftmax(_MarginSoftmax):
    """ArcFace and CosFace: every logit is `scale` times a cosine; the margin is theirs."""

    def _scale(self, embeddings: Tensor) -> Tensor:
        return constant(self.scale, embeddings.dtype)

    def get_config(self) -> dict[str, Any]:
        """The base config plus `scale` and `margin`."""
        return {**super().get_config(), "scale": self.scale, "margin": self.margin}


# ------------------------------------------------------------------------------ CosFace


@register
class CosFace(_ScaledMarginSoftmax):
    """Large margin cosine logits (CosFace): the target cosine minus a margin, scaled.

    The layer holds one weight vector per class, `kernel` (D, num_classes), and turns
    embeddings into logits from the cosine between an embedding and each class vector.
    Called with `[embeddings, labels]` it lowers the target class's cosine by a margin;
    train those logits with `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.
    Called with the embeddings alone it returns the logits without the margin, for
    inference.

    Formula:

    ```python
    cos = l2_normalize(x) @ l2_normalize(kernel, axis=0)     # (B, num_classes)
    logits = scale * (cos - margin * one_hot(labels))          # [x, labels]
    logits = scale * cos                                       # x alone
    ```

    With the same kernel, the logits equal those of pytorch-metric-learning's
    `CosFaceLoss`, and their mean cross-entropy is the value that loss returns.

    Args:
        num_classes: number of classes, an integer >= 1.
        scale: the factor s > 0 on every cosine, the inverse softmax temperature.
        margin: the margin m >= 0 subtracted from the target class's cosine.
        kernel_initializer: initializer of `kernel`, (D, num_classes); default
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
        float16 or bfloat16 (the cosines need float32's digits), in the compute dtype
        otherwise.

    Raises:
        TypeError: if `num_classes` is not an integer, or `scale` or `margin` not a
            real number.
        ValueError: if `num_classes` < 1, `scale` <= 0, `margin` < 0, either is not
            finite, the embeddings are not (B, D) with D known, the labels are not (B,)
            or (B, 1) or not class ids in [0, num_classes), or `inputs` is a list of
            other than two tensors.

    Example:
        >>> head = CosFace(2, scale=10.0, margin=0.35)
        >>> head.build((None, 2))
        >>> head.set_weights([np.eye(2, dtype="float32")])  # class vectors (1, 0), (0, 1)
        >>> x = np.array([[1.0, 0.0], [3.0, 4.0]], dtype="float32")  # cosines 1, 0 and 0.6, 0.8
        >>> print(keras.ops.convert_to_numpy(head(x)))  # 10 * cos
        [[10.0 0.0]
         [ 6.0 8.0]]
        >>> print(keras.ops.convert_to_numpy(head([x, np.array([0, 1])])))  # 10 * (cos - 0.35)
        [[6.5 0.0]
         [6.0 4.5]]

        In a model, one head serves training and inference:

        >>> x, y = keras.Input((64,)), keras.Input((), dtype="int32")
        >>> head = CosFace(10, scale=30.0)
        >>> train = keras.Model([x, y], head([x, y]))
        >>> infer = keras.Model(x, head(x))  # argmax of these logits is the class
        >>> print(train.output.shape, infer.output.shape)
        (None, 10) (None, 10)

    Reference: Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
    Recognition", CVPR 2018, https://arxiv.org/abs/1801.09414.
    """

    def __init__(
        self, num_classes: int, *, scale: float = 64.0, margin: float = 0.35, **kwargs: Any
    ) -> None:
        super().__init__(num_classes, **kwargs)
        self.scale = _check_scale(scale)
        margin = _checks.check_real("margin", margin)
        if margin < 0:
            raise ValueError(f"`margin` must be >= 0 (a cosine subtracted); got {margin}.")
        self.margin = margin

    def _target_logit(self, cosine_of_target: Tensor) -> Tensor:
        return cosine_of_target - constant(self.margin, cosine_of_target.dtype)


# ------------------------------------------------------------------------------ ArcFace


@register
class ArcFace(_ScaledMarginSoftmax):
    """Additive angular margin logits (ArcFace): the target angle plus a margin, scaled.

    The layer holds one weight vector per class, `kernel` (D, num_classes), and turns
    embeddings into logits from the cosine between an embedding and each class vector.
    Called with `[embeddings, labels]` it widens the angle to the target class by a
    margin; train those logits with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`. Called with the
    embeddings alone it returns the logits without the margin, for inference.

    Formula:

    ```python
    cos = l2_normalize(x) @ l2_normalize(kernel, axis=0)     # cos(theta), (B, num_classes)
    target = where(theta <= pi - margin,
                   cos(theta + margin),
                   cos(theta) - margin * sin(margin))
    logits = scale * where(one_hot(labels), target, cos)        # [x, labels]
    logits = scale * cos                                        # x alone
    ```

    cos(theta + m) stops decreasing at theta = pi - m; beyond it the target logit falls
    back to cos(theta) - m sin(m), which keeps it decreasing in theta (ArcFace's and
    pytorch-metric-learning's choice). The fallback jumps down at theta = pi - m, by
    `scale * (1 - cos(m) - m sin(m))`: 0.12 logits per unit scale for m = 0.5. Only
    embeddings nearly opposite their class vector reach it.

    cos(theta + m) is computed as cos(theta) cos(m) - sin(theta) sin(m) from the cosine,
    never through arccos, so the gradient stays finite at theta = 0 and theta = pi.
    With the same kernel, the logits equal those of pytorch-metric-learning's
    `ArcFaceLoss` (whose margin is in degrees), and their mean cross-entropy is the
    value that loss returns.

    Args:
        num_classes: number of classes, an integer >= 1.
        scale: the factor s > 0 on every cosine, the inverse softmax temperature.
        margin: the angular margin m in radians, 0 <= m < pi/2 (0.5 rad is 28.6 degrees;
            pytorch-metric-learning's `ArcFaceLoss` takes degrees).
        kernel_initializer: initializer of `kernel`, (D, num_classes); default
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
        float16 or bfloat16 (the cosines need float32's digits), in the compute dtype
        otherwise.

    Raises:
        TypeError: if `num_classes` is not an integer, or `scale` or `margin` not a
            real number.
        ValueError: if `num_classes` < 1, `scale` <= 0, `margin` is outside [0, pi/2),
            either is not finite, the embeddings are not (B, D) with D known, the
            labels are not (B,) or (B, 1) or not class ids in [0, num_classes), or
            `inputs` is a list of other than two tensors.

    Example:
        >>> head = ArcFace(2, scale=10.0, margin=0.5)
        >>> head.build((None, 2))
        >>> head.set_weights([np.eye(2, dtype="float32")])  # class vectors (1, 0), (0, 1)
        >>> x = np.array([[1.0, 0.0], [3.0, 4.0]], dtype="float32")  # cosines 1, 0 and 0.6, 0.8
        >>> print(keras.ops.convert_to_numpy(head(x)))  # 10 * cos
        [[10.0 0.0]
         [ 6.0 8.0]]
        >>> logits = head([x, np.array([0, 1])])
        >>> print(keras.ops.convert_to_numpy(logits))
        [[8.7758 0.0000]
         [6.0000 4.1441]]

        The first row lies on its class vector (theta = 0): its target logit is
        10 cos(0.5) = 8.7758. In the second, cos(theta) = 0.8 and sin(theta) = 0.6, so
        the target is 10 (0.8 cos(0.5) - 0.6 sin(0.5)) = 4.1441. In a model, one head
        serves training and inference:

        >>> x, y = keras.Input((64,)), keras.Input((), dtype="int32")
        >>> head = ArcFace(10, scale=30.0, margin=0.5)
        >>> train = keras.Model([x, y], head([x, y]))
        >>> infer = keras.Model(x, head(x))  # argmax of these logits is the class
        >>> print(train.output.shape, infer.output.shape)
        (None, 10) (None, 10)

    Reference: Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
    Recognition", CVPR 2019, https://arxiv.org/abs/1801.07698.
    """

    def __init__(
        self, num_classes: int, *, scale: float = 64.0, margin: float = 0.5, **kwargs: Any
    ) -> None:
        super().__init__(num_classes, **kwargs)
        self.scale = _check_scale(scale)
        self.margin = _check_angular_margin(margin)

    def _target_logit(self, cosine_of_target: Tensor) -> Tensor:
        return _arcface_target(cosine_of_target, self.margin)


# --------------------------------------------------------------------------- SphereFace


@register
class SphereFace(_MarginSoftmax):
    """Multiplicative angular margin logits (SphereFace, A-Softmax), scaled by ||x||.

    The layer holds one weight vector per class, `kernel` (D, num_classes), and turns
    embeddings into logits from the cosine between an embedding and each class vector.
    Called with `[embeddings, labels]` it multiplies the angle to the target class by
    the margin; train those logits with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`. Called with the
    embeddings alone it returns the logits without the margin, for inference.

    Formula:

    ```python
    cos = l2_normalize(x) @ l2_normalize(kernel, axis=0)     # cos(theta), (B, num_classes)
    k = floor(theta / (pi / margin))                          # 0 <= k <= margin
    psi = (-1)**k * cos(margin * theta) - 2 * k               # decreasing in theta
    target = (softmax_weight * cos + psi) / (1 + softmax_weight)
    logits = scale * norm(x) * where(one_hot(labels), target, cos)    # [x, labels]
    logits = scale * norm(x) * cos                                    # x alone
    ```

    The embedding's own norm scales every logit (the class vectors are normalised, the
    embedding is not), times a constant `scale` (1 by default, as in the paper: the
    network learns the norm). k is a step function and carries no gradient.

    With the default `softmax_weight=0` the logits are those of pytorch-metric-learning's
    `SphereFaceLoss` with the same `scale`, and their mean cross-entropy is the value
    that loss returns. From a random start that target is so much lower than the plain
    cosine (-3 at theta = pi/2 for m = 4) that the network can escape by shrinking the
    embeddings to norm 0, where every logit is 0: on scikit-learn's digits, m = 4 (and
    m = 2 or 3) stays at chance, and a larger `scale` (4, 16, 30, 64) does not change
    that, since the norm still shrinks. The paper blends in the plain cosine with a
    weight lambda, annealed from 1000 down to about 5; `softmax_weight` is that lambda,
    held constant: 5 trains digits to 97-98% with m = 4, with scale 1 or 4, on every
    backend.

    cos(m theta) is the Chebyshev polynomial T_m(cos(theta)), and k counts the thresholds
    cos(j pi / m), j = 1..m, that the cosine is at or below, so arccos is never used and
    the gradient stays finite at theta = 0 and theta = pi. `target` is continuous in
    theta, so where a cosine falls exactly on a threshold does not change its value.

    Args:
        num_classes: number of classes, an integer >= 1.
        margin: the integer angular multiplier m >= 1 (m = 1 is the plain softmax on
            normalised class vectors).
        softmax_weight: lambda >= 0, the weight of the plain cosine blended into the
            target logit; 0 applies the full margin.
        scale: a constant factor s > 0 on every logit, on top of the embedding's norm
            (pytorch-metric-learning's `scale`); default 1.
        kernel_initializer: initializer of `kernel`, (D, num_classes); default
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
        float16 or bfloat16 (the cosines need float32's digits), in the compute dtype
        otherwise.

    Raises:
        TypeError: if `num_classes` or `margin` is not an integer, or `softmax_weight`
            or `scale` not a real number.
        ValueError: if `num_classes` or `margin` is < 1, `scale` <= 0,
            `softmax_weight` is negative, either is not finite, the embeddings are not
            (B, D) with D known, the labels are not (B,) or (B, 1) or not class ids in
            [0, num_classes), or `inputs` is a list of other than two tensors.

    Example:
        >>> head = SphereFace(2, margin=4)
        >>> head.build((None, 2))
        >>> head.set_weights([np.eye(2, dtype="float32")])  # class vectors (1, 0), (0, 1)
        >>> x = np.array([[1.0, 0.0], [3.0, 4.0]], dtype="float32")  # norms 1 and 5
        >>> print(keras.ops.convert_to_numpy(head(x)))  # norm(x) * cos
        [[1.0 0.0]
         [3.0 4.0]]
        >>> logits = head([x, np.array([0, 1])])
        >>> print(keras.ops.convert_to_numpy(logits))
        [[1.0000 0.0000]
         [3.0000 -4.2160]]

        The first row lies on its class vector: theta = 0, k = 0 and cos(0) = 1. In the
        second, cos(theta) = 0.8 is above cos(pi / 4), so k = 0 and the target is
        5 T_4(0.8) = 5 (8 * 0.8**4 - 8 * 0.8**2 + 1) = -4.216. In a model, one head
        serves training and inference; with `softmax_weight=5` it trains (the full
        margin alone stays at chance, see above):

        >>> rng = np.random.default_rng(0)
        >>> labels = np.arange(60) % 3
        >>> points = (3 * np.eye(3)[labels] + rng.normal(size=(60, 3))).astype("float32")
        >>> x, y = keras.Input((3,)), keras.Input((), dtype="int32")
        >>> embedding = keras.layers.Dense(8)(x)
        >>> head = SphereFace(3, margin=4, softmax_weight=5.0)
        >>> train = keras.Model([x, y], head([embedding, y]))
        >>> infer = keras.Model(x, head(embedding))  # argmax of these logits is the class
        >>> train.compile(
        ...     keras.optimizers.Adam(0.05),
        ...     keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        ... )
        >>> history = train.fit([points, labels], labels, epochs=20, batch_size=20, verbose=0)
        >>> loss = history.history["loss"]
        >>> print(loss[-1] < 0.5 * loss[0])
        True
        >>> accuracy = np.mean(np.argmax(infer.predict(points, verbose=0), -1) == labels)
        >>> print(accuracy > 0.8)
        True

    Reference: Liu et al., "SphereFace: Deep Hypersphere Embedding for Face
    Recognition", CVPR 2017, https://arxiv.org/abs/1704.08063.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        margin: int = 4,
        softmax_weight: float = 0.0,
        scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes, **kwargs)
        self.scale = _check_scale(scale)
        self.softmax_weight = _checks.check_real("softmax_weight", softmax_weight, low=0.0)
        if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, (int, np.integer)):
            raise TypeError(
                f"`margin` must be an integer >= 1; got {margin!r} ({type(margin).__name__})."
            )
        if margin < 1:
            raise ValueError(f"`margin` must be an integer >= 1; got {margin}.")
        self.margin = int(margin)

    def _target_logit(self, cosine_of_target: Tensor) -> Tensor:
        dtype = cosine_of_target.dtype
        m = self.margin
        k = ops.zeros_like(cosine_of_target)
        for j in range(1, m + 1):  # theta >= j pi / m  <=>  cos(theta) <= cos(j pi / m)
            k = k + ops.cast(cosine_of_target <= constant(math.cos(j * math.pi / m), dtype), dtype)
        k = ops.stop_gradient(k)
        sign = 1 - 2 * ops.mod(k, 2)
        target = sign * _chebyshev(cosine_of_target, m) - 2 * k
        if self.softmax_weight:
            weight = constant(self.softmax_weight, dtype)
            target = (weight * cosine_of_target + target) / (1 + weight)
        return target

    def _scale(self, embeddings: Tensor) -> Tensor:
        norm = safe_sqrt(ops.sum(ops.square(embeddings), axis=-1, keepdims=True))
        if self.scale == 1.0:
            return norm
        return constant(self.scale, embeddings.dtype) * norm

    def get_config(self) -> dict[str, Any]:
        """The base config plus `margin`, `softmax_weight` and `scale`."""
        return {
            **super().get_config(),
            "margin": self.margin,
            "softmax_weight": self.softmax_weight,
            "scale": self.scale,
        }
