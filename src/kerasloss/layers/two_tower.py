"""Layers that add CLIP's or SigLIP's loss and own its learnable temperature (and bias)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal.dtypes import working_dtype
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike
from kerasloss.losses.two_tower import clip_loss, siglip_loss

__all__ = ["CLIPLoss", "SigLIPLoss"]


def _pair(layer: str, inputs: Sequence[TensorLike]) -> tuple[TensorLike, TensorLike]:
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
        raise ValueError(
            f"`{layer}` is called on a list [a, b] of two (batch_size, D) embeddings, row i "
            f"of a paired with row i of b; got {type(inputs).__name__}."
        )
    return inputs[0], inputs[1]


class _TwoTowerLoss(keras.layers.Layer):
    """Shared plumbing: weights never autocast, the loss added in at least float32."""

    def __init__(self, **kwargs: Any) -> None:
        # The temperature and bias stay float32 under mixed precision: a scale of 100 or a
        # bias of -10 in float16 keeps three digits.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)

    def _scalar_weight(self, name: str, value: float) -> Any:
        return self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(value),
            trainable=True,
            autocast=False,
            name=name,
        )

    def _add(self, values: Tensor) -> None:
        self.add_loss(ops.mean(ops.cast(values, working_dtype(values.dtype))))

    def compute_output_shape(
        self, input_shape: Sequence[tuple[int | None, ...]]
    ) -> list[tuple[int | None, ...]]:
        """The shapes of [a, b], which the layer returns unchanged."""
        return [tuple(input_shape[0]), tuple(input_shape[1])]


@register
class CLIPLoss(_TwoTowerLoss):
    """Adds CLIP's contrastive loss of two towers to a model, with a learned temperature.

    Call it on `[a, b]`, the embeddings of paired inputs (row i of `a` with row i of
    `b`), compile without a loss and train with `fit(x, y=None)`. The layer owns
    `log_scale`, the log of the inverse temperature, trained with the towers and kept at
    or below log(max_scale), as in the paper.

    Formula:

    ```python
    logit_scale = exp(min(log_scale, log(max_scale)))     # log_scale starts at log(1/temperature)
    logits = logit_scale * cos(a_i, b_j)                  # (B, B)
    loss_i = (-log_softmax(logits, axis=1)[i, i] - log_softmax(logits, axis=0)[i, i]) / 2
    model_loss += mean(loss_i)                            # add_loss
    ```

    Args:
        temperature: the initial temperature, a finite number > 0 (CLIP: 0.07).
        max_scale: the largest inverse temperature, a finite number >= 1/temperature
            (CLIP: 100).
        **kwargs: `name`, `dtype`, `trainable` and the other `keras.layers.Layer`
            arguments (`trainable=False` keeps the temperature fixed).

    Call arguments:
        inputs: a list `[a, b]` of two (B, D) embeddings.

    Returns:
        `[a, b]` unchanged (make them the model's outputs, or feed them on). The mean
        loss, in at least float32, is added to the model's loss; the temperature is
        `1 / exp(log_scale)`.

    Raises:
        TypeError: if an argument is not a real number.
        ValueError: if `temperature` is not > 0, `max_scale` is below 1/temperature, or,
            when called, `inputs` is not a list of two embeddings of one (B, D) shape.

    Example:
        >>> layer = CLIPLoss(temperature=1.0)
        >>> a = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
        >>> outputs = layer([a, 2.0 * a])
        >>> print(float(keras.ops.convert_to_numpy(layer.losses[0])))  # -log(e / (e + 1))
        0.3133
        >>> image, text = keras.Input((4,)), keras.Input((3,))
        >>> towers = CLIPLoss()([keras.layers.Dense(2)(image), keras.layers.Dense(2)(text)])
        >>> model = keras.Model([image, text], towers)
        >>> model.compile(optimizer="adam")
        >>> x = [np.ones((8, 4), "float32"), np.ones((8, 3), "float32")]
        >>> history = model.fit(x, None, epochs=1, verbose=0)
        >>> print(np.isfinite(history.history["loss"][-1]))
        True

    Reference: Radford et al., "Learning Transferable Visual Models From Natural
    Language Supervision", ICML 2021.
    """

    def __init__(self, *, temperature: float = 0.07, max_scale: float = 100.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.temperature = _checks.check_real("temperature", temperature, low=0.0)
        if self.temperature <= 0:
            raise ValueError(f"`temperature` must be > 0; got {temperature!r}.")
        self.max_scale = _checks.check_real("max_scale", max_scale, low=1.0 / self.temperature)
        self.log_scale = self._scalar_weight("log_scale", math.log(1.0 / self.temperature))

    def call(self, inputs: Sequence[TensorLike]) -> list[Tensor]:
        """`[a, b]` unchanged; the mean loss goes to `add_loss`."""
        a, b = _pair("CLIPLoss", inputs)
        log_scale = ops.minimum(
            ops.convert_to_tensor(self.log_scale), ops.cast(math.log(self.max_scale), "float32")
        )
        self._add(clip_loss(a, b, logit_scale=ops.exp(log_scale)))
        return [a, b]

    def get_config(self) -> dict[str, Any]:
        """The `keras.layers.Layer` config plus `temperature` and `max_scale`."""
        config: dict[str, Any] = super().get_config()
        config.update(temperature=self.temperature, max_scale=self.max_scale)
        return config


@register
class SigLIPLoss(_TwoTowerLoss):
    """Adds SigLIP's pairwise sigmoid loss of two towers, with a learned scale and bias.

    Call it on `[a, b]`, the embeddings of paired inputs (row i of `a` with row i of
    `b`), compile without a loss and train with `fit(x, y=None)`. The layer owns
    `log_scale` (the log of the scale t) and `bias` (b), trained with the towers.

    Formula:

    ```python
    z = 2 * eye(B) - 1                                          # +1 paired, -1 otherwise
    logits = exp(log_scale) * cos(a_i, b_j) + bias              # (B, B)
    loss_i = -sum_j log_sigmoid(z[i, j] * logits[i, j])
    model_loss += mean(loss_i)                                  # add_loss
    ```

    Args:
        scale: the initial scale t, a finite number > 0 (SigLIP: 10).
        bias: the initial bias b, a finite number (SigLIP: -10).
        **kwargs: `name`, `dtype`, `trainable` and the other `keras.layers.Layer`
            arguments.

    Call arguments:
        inputs: a list `[a, b]` of two (B, D) embeddings.

    Returns:
        `[a, b]` unchanged. The mean loss, in at least float32, is added to the model's
        loss.

    Raises:
        TypeError: if an argument is not a real number.
        ValueError: if `scale` is not > 0 or not finite, `bias` not finite, or, when
            called, `inputs` is not a list of two embeddings of one (B, D) shape.

    Example:
        >>> layer = SigLIPLoss(scale=1.0, bias=0.0)
        >>> a = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
        >>> outputs = layer([a, a])  # loss per row: -log sigmoid(1) - log sigmoid(0)
        >>> print(float(keras.ops.convert_to_numpy(layer.losses[0])))
        1.0064

    Reference: Zhai, Mustafa, Kolesnikov and Beyer, "Sigmoid Loss for Language Image
    Pre-Training", ICCV 2023.
    """

    def __init__(self, *, scale: float = 10.0, bias: float = -10.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = _checks.check_real("scale", scale, low=0.0)
        if self.scale <= 0:
            raise ValueError(f"`scale` must be > 0; got {scale!r}.")
        self.bias_init = _checks.check_real("bias", bias)
        self.log_scale = self._scalar_weight("log_scale", math.log(self.scale))
        self.bias = self._scalar_weight("bias", self.bias_init)

    def call(self, inputs: Sequence[TensorLike]) -> list[Tensor]:
        """`[a, b]` unchanged; the mean loss goes to `add_loss`."""
        a, b = _pair("SigLIPLoss", inputs)
        scale = ops.exp(ops.convert_to_tensor(self.log_scale))
        self._add(siglip_loss(a, b, logit_scale=scale, logit_bias=self.bias))
        return [a, b]

    def get_config(self) -> dict[str, Any]:
        """The `keras.layers.Layer` config plus the initial `scale` and `bias`."""
        config: dict[str, Any] = super().get_config()
        config.update(scale=self.scale, bias=self.bias_init)
        return config
