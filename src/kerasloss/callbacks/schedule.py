"""Setting a loss weight from the epoch number, in a way every backend's compiled step sees."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras

from kerasloss._internal import checks as _checks

__all__ = ["LossWeightScheduler"]


class LossWeightScheduler(keras.callbacks.Callback):
    """Sets a loss-weight variable to `schedule(epoch)` at the start of each epoch.

    The weight must be a Keras variable that the loss reads inside the train step,
    such as `kerasloss.layers.CenterLoss(...).loss_weight`. The callback assigns it
    in `on_epoch_begin`, before `fit` hands the variables to the compiled step, so
    the new value reaches a `jax.jit` step, a TensorFlow graph or XLA function and a
    `torch.compile`d step alike: the step reads the variable, it does not bake in its
    value. A plain Python float, or a weight given to `compile(loss_weights=...)`,
    is a constant of the compiled step and cannot be scheduled this way.

    Formula:

    ```python
    variable <- schedule(epoch)     # at each epoch's start; epoch counts from 0, as in fit's logs
    ```

    The value is set when the epoch starts and then stays for all of its steps
    (changing it from `on_train_batch_begin` would not reach later steps on JAX,
    where `fit` keeps the state of an epoch outside the variables). With
    `fit(initial_epoch=k)` the first value is `schedule(k)`. The variable keeps its
    last value after `fit`, and `evaluate` uses that value.

    Like other Keras callbacks it is not saved with the model; the variable's value
    is (it is a layer weight), so a reloaded model carries the weight it was saved with.

    Args:
        variable: a scalar float `keras.Variable`, typically non-trainable (an
            optimizer would otherwise change it too).
        schedule: a function from the epoch index (int, from 0) to the weight, a
            finite real number >= 0.
        verbose: 1 to print the value at each change, 0 to stay quiet.

    Returns:
        A callback for `fit(callbacks=[...])`; it returns nothing itself, and during
        `fit` it assigns `schedule(epoch)` to `variable` at the start of each epoch.

    Raises:
        TypeError: if `variable` is not a scalar float `keras.Variable`, `schedule` is
            not callable or cannot be called with the epoch alone, or (during `fit`)
            `schedule` returns something that is not a real number.
        ValueError: if `verbose` is not 0 or 1, or (during `fit`) `schedule` returns a
            negative or non-finite weight.

    Example:
        >>> x_in, y_in = keras.Input((4,)), keras.Input((), dtype="int32")
        >>> center = kerasloss.layers.CenterLoss(3, loss_weight=0.0, alpha=0.5)
        >>> features = center([keras.layers.Dense(2)(x_in), y_in])
        >>> model = keras.Model([x_in, y_in], keras.layers.Dense(3)(features))
        >>> model.compile("sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        >>> off_then_on = LossWeightScheduler(
        ...     center.loss_weight, lambda epoch: 0.0 if epoch < 1 else 0.01
        ... )
        >>> x, y = np.ones((4, 4), "float32"), np.array([0, 1, 2, 0])
        >>> history = model.fit([x, y], y, epochs=2, verbose=0, callbacks=[off_then_on])
        >>> print(float(keras.ops.convert_to_numpy(center.loss_weight)))  # schedule(1)
        0.01

    Reference:
        `keras.callbacks.LearningRateScheduler`, the same idea for a learning rate.
    """

    def __init__(
        self, variable: keras.Variable, schedule: Callable[[int], float], *, verbose: int = 0
    ) -> None:
        super().__init__()
        if not isinstance(variable, keras.Variable):
            raise TypeError(
                "`variable` must be a keras.Variable that the loss reads, e.g. "
                f"`CenterLoss(...).loss_weight`; got {type(variable).__name__}."
            )
        if tuple(variable.shape) != () or not keras.backend.is_float_dtype(variable.dtype):
            raise TypeError(
                "`variable` must be a scalar float variable; got shape "
                f"{tuple(variable.shape)} and dtype {variable.dtype}."
            )
        if not callable(schedule):
            raise TypeError(
                f"`schedule` must be a function from the epoch to the weight; got {schedule!r}."
            )
        _check_schedule_signature(schedule)
        if verbose not in (0, 1):
            raise ValueError(f"`verbose` must be 0 or 1; got {verbose!r}.")
        self.variable = variable
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        scheduled = self.schedule(epoch)
        try:
            value = _checks.check_real(f"schedule({epoch})", scheduled, low=0.0)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{err} `schedule` must return a finite loss weight >= 0.") from None
        # Compared as the variable will hold it: 0.01 is 0.009999999776 in float32, and
        # a Python float never equals it, so every epoch would look like a change.
        stored = keras.ops.convert_to_numpy(keras.ops.cast(value, self.variable.dtype))
        if self.verbose and stored != keras.ops.convert_to_numpy(self.variable):
            print(
                f"\nEpoch {epoch + 1}: LossWeightScheduler sets {self.variable.path} to {value:g}."
            )
        self.variable.assign(value)


def _check_schedule_signature(schedule: Callable[..., Any]) -> None:
    """TypeError naming the expected signature when `schedule` cannot be called as f(epoch).

    A schedule written for `keras.callbacks.LearningRateScheduler`, `(epoch, lr)`, would
    otherwise fail at the first epoch with Python's missing-argument error.
    """
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):  # some builtins have no signature: let the call decide
        return
    try:
        signature.bind(0)
    except TypeError:
        raise TypeError(
            f"`schedule` must take one argument, the epoch index (from 0), and return the "
            f"weight: `schedule(epoch) -> float`; got a function with signature "
            f"{signature} (unlike `keras.callbacks.LearningRateScheduler`, no `lr` is passed)."
        ) from None
