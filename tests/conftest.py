"""Test setup shared by every backend session."""

from __future__ import annotations

import importlib.util
import os

# Keras imports torch before TensorFlow when both are present: the other order can crash.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

import keras
import pytest

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    requested = os.environ.get("KERAS_BACKEND")
    return f"keras {keras.__version__}, backend {BACKEND} (KERAS_BACKEND={requested})"


@pytest.fixture(autouse=True)
def _seed():
    # Seeds Python, NumPy's global generator and the backend's.
    keras.utils.set_random_seed(1234)
