"""The one decorator that registers kerasloss objects with Keras' serialization."""

from __future__ import annotations

import keras

PACKAGE = "kerasloss"

# Registered as "kerasloss>Name", so a saved `.keras` model loads back after
# `import kerasloss`, with no `custom_objects`.
register = keras.saving.register_keras_serializable(package=PACKAGE)
