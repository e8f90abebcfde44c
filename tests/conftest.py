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


# hypothesis: "ci" (the default) draws a few examples per case, the same ones every run;
# KERASLOSS_HYPOTHESIS_PROFILE=thorough draws many, for long runs.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the lint session imports no test module
    pass
else:
    _QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
    settings.register_profile(
        "ci",
        max_examples=2,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=_QUIET,
    )
    settings.register_profile(
        "thorough",
        max_examples=300,
        deadline=None,
        suppress_health_check=_QUIET,
    )
    settings.load_profile(os.environ.get("KERASLOSS_HYPOTHESIS_PROFILE", "ci"))
