"""Proxy-loss layers: they own one trainable proxy per class and add the loss.

Called on `[embeddings, labels]`, each layer adds the mean of its per-sample loss to the
model with `add_loss` and returns the embeddings unchanged, so it sits at the end of an
encoder; compile the model without a loss for it. The proxies, `proxies` of shape
(num_classes, D), are trained by the optimizer with the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kerasloss._internal import checks as _checks
from kerasloss._internal import labels as _labels
from kerasloss._internal import proxies as _proxies
from kerasloss._internal.dtypes import float_tensor, is_float, working_dtype
from kerasloss._internal.registration import register
from kerasloss._internal.types import Tensor, TensorLike
from kerasloss.losses.proxy import proxy_anchor_loss, proxy_nca_loss

__all__ = ["ProxyAnchor", "ProxyNCA"]

_Shape = Sequence[int | None]


class _ProxyLayer(keras.layers.Layer):
    """The proxies, the call convention and the config; subclasses give `_loss`."""

    def __init__(
        self,
        num_classes: int,
        *,
        proxies_initializer: str | dict[str, Any] | keras.initializers.Initializer = (
            "random_normal"
        ),
        **kwargs: Any,
    ) -> None:
        # Float labels must not be autocast to 16 bits (ids above 2048 would merge).
        kwargs.pop("autocast", None)
        super().__init__(autocast=False, **kwargs)
        self.num_classes = _checks.check_num_classes(num_classes)
        self.proxies_initializer = keras.initializers.get(proxies_initializer)

    def build(self, input_shape: Sequence[_Shape]) -> None:
        """Creates `proxies`, (num_classes, D), from the shape of the embeddings."""
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or not all(isinstance(shape, (list, tuple)) for shape in input_shape)
        ):
            raise ValueError(
                f"{type(self).__name__} is called on `[embeddings, labels]`; got input "
                f"shape {input_shape!r}."
            )
        shape = tuple(input_shape[0])
        if len(shape) != 2 or shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs embeddings of shape (batch_size, D) with D "
                f"known; got shape {shape}."
            )
        self.proxies = self.add_weight(
            name="proxies",
            shape=(self.num_classes, int(shape[-1])),
            initializer=self.proxies_initializer,
            trainable=True,
            # Never read in 16 bits: the cosines need float32's digits.
            autocast=False,
        )

    def call(self, inputs: Sequence[TensorLike]) -> Tensor:
        """Adds the mean loss with `add_loss`; returns the embeddings unchanged."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
            raise ValueError(
                f"{type(self).__name__} is called on `[embeddings, labels]`; got {count} input(s)."
            )
        embeddings, labels = inputs
        embeddings = float_tensor(embeddings)
        dtype = working_dtype(embeddings.dtype)
        # Checked here first so that a message names `labels`, this layer's input.
        _labels.class_labels(labels, self.num_classes, batch_size=embeddings.shape[0])
        per_sample = self._loss(labels, ops.cast(embeddings, dtype), self.proxies)
        self.add_loss(ops.mean(ops.cast(per_sample, dtype)))
        return embeddings

    def _loss(self, labels: TensorLike, embeddings: Tensor, proxies: Tensor) -> Tensor:
        raise NotImplementedError

    def compute_output_spec(self, inputs: Sequence[Any]) -> Any:
        shape, dtype = inputs[0].shape, inputs[0].dtype
        if not is_float(dtype):  # `call` casts integer embeddings to floatx
            dtype = keras.config.floatx()
        return keras.KerasTensor(shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        """The `keras.layers.Layer` config plus `num_classes` and `proxies_initializer`."""
        config: dict[str, Any] = super().get_config()
        config.update(
            num_classes=self.num_classes,
            proxies_initializer=keras.initializers.serialize(self.proxies_initializer),
        )
        return config


@register
class ProxyAnchor(_ProxyLayer):
    """Adds the Proxy Anchor loss of its embeddings and owns the class proxies.

    Proxy Anchor (Kim et al. 2020) treats each class proxy as an anchor and the whole
    batch as its data: a soft maximum over the embeddings of the proxy's class pulls
    them in, a soft maximum over all other embeddings pushes them out. The layer holds
    `proxies` (num_classes, D), adds the loss with `add_loss` in every call and returns
    the embeddings unchanged; compile the model without a loss for it.

    Formula:

    ```python
    cos = l2_normalize(embeddings) @ l2_normalize(proxies).T       # (B, C)
    P_c = {i: labels[i] == c};  N_c = {i: labels[i] != c}
    pos[c] = log(1 + sum_{i in P_c} exp(-alpha * (cos[i, c] - margin)))
    neg[c] = log(1 + sum_{i in N_c} exp(alpha * (cos[i, c] + margin)))
    model_loss += sum_c pos[c] / |{c: P_c non-empty}| + sum_c neg[c] / C   # add_loss
    ```

    The added loss equals pytorch-metric-learning's `ProxyAnchorLoss` with the same
    proxies; `kerasloss.losses.proxy_anchor_loss` gives it split per sample.

    Args:
        num_classes: number of classes C, an integer >= 1.
        margin: the margin delta >= 0 on the cosines.
        alpha: the scale alpha > 0 of the cosines inside the soft maxima.
        proxies_initializer: initializer of `proxies` (default "random_normal": the
            proxies are normalised, so only their directions matter).
        **kwargs: the `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[embeddings, labels]`: embeddings (B, D) and integer class ids (B,) or
            (B, 1) in [0, num_classes) (float ids holding whole numbers are accepted).
            An invalid label raises a ValueError when its value is known (eager steps;
            every step on torch); inside a compiled JAX or TensorFlow step it makes the
            added loss NaN.

    Returns:
        The embeddings, unchanged (integer embeddings come back in Keras' default float
        type).

    Raises:
        TypeError: if `num_classes` is not an integer, or `margin` or `alpha` not a
            real number.
        ValueError: if `num_classes` < 1, `margin` < 0, `alpha` <= 0, either is not
            finite; when called, if the input is not `[embeddings, labels]`, the
            embeddings are not (B, D) with D known, or a label is not a class id in
            [0, num_classes).

    Example:
        >>> layer = ProxyAnchor(2, margin=0.1, alpha=4.0)
        >>> x = np.array([[1.0, 0.0], [0.6, 0.8]], dtype="float32")
        >>> layer.build([(None, 2), (None,)])
        >>> layer.set_weights([np.eye(2, dtype="float32")])  # proxies (1, 0) and (0, 1)
        >>> out = layer([x, np.array([0, 1])])
        >>> # positive terms log(1 + e^-3.6), log(1 + e^-2.8); negative log(1 + e^2.8),
        >>> # log(1 + e^0.4): (0.0270 + 0.0590) / 2 + (2.8590 + 0.9130) / 2
        >>> print(float(keras.ops.convert_to_numpy(layer.losses[0])))
        1.929
        >>> print(tuple(out.shape), tuple(layer.proxies.shape))
        (2, 2) (2, 2)

        At the end of an encoder, trained without a compiled loss:

        >>> x_in, y_in = keras.Input((8,)), keras.Input((), dtype="int32")
        >>> embedding = keras.layers.Dense(4)(x_in)
        >>> model = keras.Model([x_in, y_in], ProxyAnchor(3)([embedding, y_in]))
        >>> model.compile("adam")
        >>> x, y = np.ones((6, 8), "float32"), np.array([0, 1, 2, 0, 1, 2])
        >>> history = model.fit([x, y], epochs=1, verbose=0)
        >>> print(np.isfinite(history.history["loss"][-1]))
        True

    Reference:
        Kim, Kim, Cho and Kwak, "Proxy Anchor Loss for Deep Metric Learning", CVPR 2020,
        eq. (4), https://arxiv.org/abs/2003.13911.
    """

    def __init__(
        self, num_classes: int, *, margin: float = 0.1, alpha: float = 32.0, **kwargs: Any
    ) -> None:
        super().__init__(num_classes, **kwargs)
        self.margin, self.alpha = _proxies.check_anchor_args(margin, alpha)

    def _loss(self, labels: TensorLike, embeddings: Tensor, proxies: Tensor) -> Tensor:
        return proxy_anchor_loss(labels, embeddings, proxies, margin=self.margin, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        """The base config plus `margin` and `alpha`."""
        return {**super().get_config(), "margin": self.margin, "alpha": self.alpha}


@register
class ProxyNCA(_ProxyLayer):
    """Adds the Proxy-NCA loss of its embeddings and owns the class proxies.

    Proxy-NCA (Movshovitz-Attias et al. 2017) trains each embedding to be nearer its
    class proxy than any other, through a softmax over the negative squared distances
    between L2-normalised embeddings and proxies. The layer holds `proxies`
    (num_classes, D), adds the mean loss with `add_loss` in every call and returns the
    embeddings unchanged; compile the model without a loss for it.

    Formula:

    ```python
    d = ||l2_normalize(embeddings[i]) - l2_normalize(proxies[c])||^2   # (B, C)
    loss[i] = -log_softmax(-softmax_scale * d[i])[labels[i]]
    model_loss += mean_i(loss[i])                                       # add_loss
    ```

    The softmax runs over every proxy, the own one included, as in
    pytorch-metric-learning's `ProxyNCALoss`, whose value the added loss equals for the
    same proxies (the paper leaves the own proxy out of the denominator).

    Args:
        num_classes: number of classes C, an integer >= 1.
        softmax_scale: the inverse temperature s > 0 on the negative squared distances.
        proxies_initializer: initializer of `proxies` (default "random_normal": the
            proxies are normalised, so only their directions matter).
        **kwargs: the `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[embeddings, labels]`: embeddings (B, D) and integer class ids (B,) or
            (B, 1) in [0, num_classes) (float ids holding whole numbers are accepted).
            An invalid label raises a ValueError when its value is known (eager steps;
            every step on torch); inside a compiled JAX or TensorFlow step it makes
            that sample's loss, and so the added mean, NaN.

    Returns:
        The embeddings, unchanged (integer embeddings come back in Keras' default float
        type).

    Raises:
        TypeError: if `num_classes` is not an integer or `softmax_scale` not a real
            number.
        ValueError: if `num_classes` < 1 or `softmax_scale` <= 0 or not finite; when
            called, if the input is not `[embeddings, labels]`, the embeddings are not
            (B, D) with D known, or a label is not a class id in [0, num_classes).

    Example:
        >>> layer = ProxyNCA(2)
        >>> x = np.array([[1.0, 0.0], [0.6, 0.8]], dtype="float32")
        >>> layer.build([(None, 2), (None,)])
        >>> layer.set_weights([np.eye(2, dtype="float32")])  # proxies (1, 0) and (0, 1)
        >>> out = layer([x, np.array([0, 1])])
        >>> # mean(log(1 + exp(-2 * (1 - 0))), log(1 + exp(-2 * (0.8 - 0.6))))
        >>> print(float(keras.ops.convert_to_numpy(layer.losses[0])))
        0.32
        >>> print(tuple(out.shape))
        (2, 2)

    Reference:
        Movshovitz-Attias, Toshev, Leung, Ioffe and Singh, "No Fuss Distance Metric
        Learning using Proxies", ICCV 2017, eq. (8), https://arxiv.org/abs/1703.07464.
    """

    def __init__(self, num_classes: int, *, softmax_scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(num_classes, **kwargs)
        self.softmax_scale = _proxies.check_nca_args(softmax_scale)

    def _loss(self, labels: TensorLike, embeddings: Tensor, proxies: Tensor) -> Tensor:
        return proxy_nca_loss(labels, embeddings, proxies, softmax_scale=self.softmax_scale)

    def get_config(self) -> dict[str, Any]:
        """The base config plus `softmax_scale`."""
        return {**super().get_config(), "softmax_scale": self.softmax_scale}
