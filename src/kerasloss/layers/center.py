"""The center-loss layer, which owns the class centres and moves them."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasloss._internal import centers as _centers
from kerasloss._internal import checks as _checks
from kerasloss._internal import labels as _labels
from kerasloss._internal import replicas as _replicas
from kerasloss._internal.aliases import moved
from kerasloss._internal.dtypes import hyper_tensor, is_float, working_dtype
from kerasloss._internal.registration import register
from kerasloss._internal.types import DTypeLike, Tensor

__all__ = ["CenterLoss"]


def _wen_update(centers: Tensor, features: Tensor, onehot: Tensor, alpha: float) -> Tensor:
    """The centres after one step of Wen et al.'s rule, eq. (4) and Algorithm 1.

    delta_j = sum_{i: y_i = j} (c_j - x_i) / (1 + n_j),   c_j <- c_j - alpha * delta_j

    `features` are constants here: the rule moves the centres, not the embeddings. A
    class absent from the batch has n_j = 0 and keeps its centre. In a step that runs
    once per replica, n_j and the sums are summed over the replicas: every replica
    makes the one update of the global batch, and the replicas' centres stay equal.
    """
    features = ops.stop_gradient(ops.cast(features, centers.dtype))
    onehot = ops.cast(onehot, centers.dtype)
    counts = _replicas.sum_over_replicas(ops.sum(onehot, axis=0)[:, None])
    sums = _replicas.sum_over_replicas(ops.einsum("bc,bd->cd", onehot, features))
    delta = (counts * centers - sums) / (1 + counts)
    return centers - hyper_tensor(alpha, centers.dtype) * delta


def _check_alpha(alpha: float | None) -> float | None:
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, allow_none=True)
    if alpha == 0.0:
        raise ValueError(
            "`alpha` must be in (0, 1]: 0 would never move the centres; use None to learn "
            "them by gradient."
        )
    return alpha


@register
class CenterLoss(keras.layers.Layer):
    """Adds the center loss of its embeddings to the model and passes them through.

    Center loss (Wen et al. 2016) pulls each embedding towards a centre kept for its
    class. The layer owns the centres, adds the weighted mean of the term to the model
    loss with `add_loss` in every call (training and evaluation, so `evaluate` reports
    the objective that `fit` minimises) and returns the embeddings unchanged.

    Formula:

    ```python
    center_loss[i] = 0.5 * sum((features[i] - centers[labels[i]]) ** 2)
    model_loss += loss_weight * mean_i(center_loss[i])              # through add_loss
    # with alpha, in each training call, before the optimizer step (n_j: batch count of j):
    delta[j] = sum_{i: labels[i] = j} (centers[j] - features[i]) / (1 + n_j)
    centers[j] <- centers[j] - alpha * delta[j]
    ```

    The layer holds `centers` (num_classes, D) and `loss_weight`, a non-trainable
    scalar variable that `kerasloss.callbacks.LossWeightScheduler` can change between
    epochs.

    How the centres move:

    - `alpha=None`: they are trainable weights, learned by the optimizer from the
      gradient of the weighted term. With `loss_weight` 0 they get a zero gradient
      (they still move under weight decay or a non-zero optimizer state).
    - `alpha=<float in (0, 1]>`: Wen et al.'s rule above, from the batch. The centres
      are then non-trainable and updated with `assign`, which Keras carries through
      the compiled step on every backend (a trainable variable assigned inside `call`
      is dropped on JAX). As in the paper, the rule does not depend on `loss_weight`:
      with the weight at 0 the centres keep following the class means, ready for when
      the weight is switched on.

    Logging the term: the weighted term is part of `loss`. To see the unweighted
    center loss on its own in the progress bar and in `History`, build the layer with
    `return_center_loss=True` and `name="center"`, make its second output the model
    output "center", compile with `metrics={"center": kerasloss.metrics.OutputMean()}`
    and give that output any target with one row per sample (the labels again):
    `History` then holds "center_loss" next to "loss" (the example below). A
    `keras.metrics.Mean` updated inside `call` fails in JAX's stateless train step, and
    a Model subclass overriding `compute_loss` would lump every `add_loss` term
    together; a second output with a compiled metric works on every backend.
    docs/center_loss.md has the whole recipe.

    The layer computes in float32 when the embeddings are float16 or bfloat16 (a mixed
    precision policy), with float32 centres that are never read in 16 bits; it does not
    autocast its inputs either, so float labels are never rounded to 16 bits.

    Args:
        num_classes: number of classes C, an integer >= 1.
        loss_weight: initial weight of the term, finite and >= 0 (lambda in the paper).
        alpha: `None` to learn the centres by gradient, or the centre learning rate of
            the paper's update rule, in (0, 1].
        return_center_loss: if True, `call` returns `(features, center_loss)` where
            `center_loss` is the unweighted per-sample term, shape (B,).
        centers_initializer: initializer of the centres (default zeros).
        **kwargs: `keras.layers.Layer` arguments (name, dtype, ...).

    Call arguments:
        inputs: `[features, labels]`: embeddings (B, D) and integer class ids (B,) or
            (B, 1). Labels are checked against [0, C) whenever their values are known
            (eager execution); inside a compiled step (JAX jit, TensorFlow graph/XLA) a
            label outside [0, C), fractional or NaN gets no centre and leaves the
            centres alone, and its center loss is NaN, so the added loss is NaN.
            PyTorch checks in every step (eagerly; under `torch.compile` the check is a
            graph break, so prefer the default eager step on torch).
        training: whether to apply the update rule (with `alpha`).

    Returns:
        `call` returns `features` (B, D), unchanged (integer features come back in
        Keras' default float type); with `return_center_loss=True`, the pair
        `(features, center_loss)`, where `center_loss` has shape (B,).

    Raises:
        TypeError: if `num_classes` is not an integer, `loss_weight` or `alpha` is not
            a real number, or `return_center_loss` is not a bool.
        ValueError: if `num_classes` < 1, `loss_weight` is negative or not finite,
            `alpha` is not in (0, 1], or `centers_initializer` is unknown; when the
            layer is built or called, if its input is not `[features, labels]`, the
            features are not (B, D) with a known D, or the labels are not one class id
            in [0, C) per sample.

    Example:
        >>> layer = CenterLoss(2, loss_weight=0.5)  # the centres start at zero
        >>> features = np.array([[1.0, 2.0], [0.5, -0.5]], "float32")
        >>> out = layer([features, np.array([1, 0])])
        >>> # 0.5 * mean(0.5 * (1 + 4), 0.5 * (0.25 + 0.25))
        >>> print(float(keras.ops.convert_to_numpy(layer.losses[0])))
        0.6875
        >>> print(layer.centers.shape)
        (2, 2)

        In a classifier, with the term logged as "center_loss":

        >>> x_in, y_in = keras.Input((4,)), keras.Input((), dtype="int32")
        >>> embedding = keras.layers.Dense(2)(x_in)
        >>> logits = keras.layers.Dense(3, name="logits")(embedding)
        >>> center = CenterLoss(3, loss_weight=0.1, alpha=0.5, return_center_loss=True,
        ...                     name="center")
        >>> _, per_sample = center([embedding, y_in])  # a side branch: logits need no labels
        >>> model = keras.Model([x_in, y_in], {"logits": logits, "center": per_sample})
        >>> model.compile(
        ...     "sgd",
        ...     loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        ...     metrics={"center": kerasloss.metrics.OutputMean()},
        ... )
        >>> x, y = np.ones((4, 4), "float32"), np.array([0, 1, 2, 0])
        >>> history = model.fit([x, y], {"logits": y, "center": y}, epochs=1, verbose=0)
        >>> print(sorted(history.history), center.centers.shape)
        ['center_loss', 'loss'] (3, 2)
        >>> classifier = keras.Model(x_in, logits)  # predicts without labels
        >>> print(classifier.output_shape)
        (None, 3)

    Reference:
        Wen, Zhang, Li and Qiao, "A Discriminative Feature Learning Approach for Deep
        Face Recognition", ECCV 2016, eqs. (2)-(4) and Algorithm 1.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        loss_weight: float = 1.0,
        alpha: float | None = None,
        return_center_loss: bool = False,
        centers_initializer: str | keras.initializers.Initializer = "zeros",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.num_classes = _checks.check_num_classes(num_classes)
        self.alpha = _check_alpha(alpha)
        self.return_center_loss = _checks.check_bool("return_center_loss", return_center_loss)
        self.centers_initializer = keras.initializers.get(centers_initializer)
        self._initial_loss_weight = _checks.check_real("loss_weight", loss_weight, low=0.0)
        # Created here, not in build, so a callback can be given it before the model runs.
        self.loss_weight = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self._initial_loss_weight),
            trainable=False,
            autocast=False,
            name="loss_weight",
        )
        # The (num_classes, D) variable, created in `build` once D is known.
        self.centers: Any = None

    def build(self, input_shape: list[tuple[int | None, ...]]) -> None:
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or not all(isinstance(shape, (list, tuple)) for shape in input_shape)
        ):
            raise ValueError(
                f"`CenterLoss` is called on `[features, labels]`; got input shape {input_shape!r}."
            )
        features_shape = tuple(input_shape[0])
        if len(features_shape) != 2 or features_shape[-1] is None:
            raise ValueError(
                "`features` must be embeddings of shape (batch_size, D) with a known D; "
                f"got shape {features_shape}."
            )
        self.centers = self.add_weight(
            shape=(self.num_classes, features_shape[-1]),
            initializer=self.centers_initializer,
            trainable=self.alpha is None,
            # Never read in 16 bits: a mixed-precision layer called without an enclosing
            # autocast scope (JAX's stateless predict/train step) would otherwise round them.
            autocast=False,
            name="centers",
        )

    def call(self, inputs: list[Tensor], training: bool | None = None) -> Any:
        features, labels = inputs
        features = _centers.check_features(features)
        # An invalid label seen only inside a compiled step: id -1, no centre, no part in
        # the update, and a NaN center loss for that sample (so the added loss is NaN).
        ids, bad = _labels.class_labels(labels, self.num_classes, batch_size=features.shape[0])
        dtype = self._compute_dtype(features.dtype)
        centers = ops.convert_to_tensor(self.centers)
        onehot = _centers.assignment(ids, self.num_classes, dtype)
        per_sample = _centers.center_term(
            ops.cast(features, dtype), onehot, ops.cast(centers, dtype)
        )
        per_sample = _labels.poison(per_sample, bad)
        if self.alpha is not None and training:
            # Before `add_loss`: under TensorFlow's MirroredStrategy the update's exchange
            # between replicas pauses this replica's trace, and Keras keeps `add_loss`
            # terms in one list that the replicas share (docs/distributed.md).
            self.centers.assign(_wen_update(centers, features, onehot, self.alpha))
        weight = hyper_tensor(self.loss_weight, dtype)
        self.add_loss(weight * ops.mean(per_sample))
        if self.return_center_loss:
            return features, per_sample
        return features

    def _compute_dtype(self, features_dtype: DTypeLike) -> str:
        """float32 for 16-bit features; float64 if the features or the centres are."""
        if keras.backend.standardize_dtype(self.variable_dtype) == "float64":
            return "float64"
        return working_dtype(features_dtype)

    def compute_output_spec(self, inputs: list[Any], training: bool | None = None) -> Any:
        shape, dtype = inputs[0].shape, inputs[0].dtype
        if not is_float(dtype):  # `call` casts integer features to floatx
            dtype = keras.config.floatx()
        features = keras.KerasTensor(shape, dtype=dtype)
        if not self.return_center_loss:
            return features
        return features, keras.KerasTensor(shape[:1], dtype=self._compute_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            loss_weight=self._initial_loss_weight,
            alpha=self.alpha,
            return_center_loss=self.return_center_loss,
            centers_initializer=keras.initializers.serialize(self.centers_initializer),
        )
        return config


# `OutputMean`, a metric, was defined here before kerasloss 0.2.
__getattr__ = moved(__name__, {"OutputMean": "kerasloss.metrics:OutputMean"})
