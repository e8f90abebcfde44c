"""Test setup shared by every backend session."""

from __future__ import annotations

import importlib.util
import os

# Keras imports torch before TensorFlow when both are present: the other order can crash.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {BACKEND} (KERAS_BACKEND={os.environ.get('KERAS_BACKEND')})"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
