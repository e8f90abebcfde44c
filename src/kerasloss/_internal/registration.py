"""The one decorator that registers kerasloss objects with Keras' serialization."""

from __future__ import annotations

from typing import TypeVar

import keras

PACKAGE = "kerasloss"

_Registered = TypeVar("_Registered")


def register(obj: _Registered) -> _Registered:
    """Registers `obj` with Keras as "kerasloss>Name" and returns it unchanged.

    A saved `.keras` model that holds it then loads back after `import kerasloss`, with
    no `custom_objects`. A typed wrapper, not Keras' decorator itself, so that a
    decorated function or class keeps its signature for type checkers.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(obj)
