"""Reloading a saved model in a fresh Python process, where only `import kerasloss` ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np


def reload_in_fresh_process(tmp_path, model, script: str, **arrays) -> dict:
    """Saves `model` and `arrays`, runs `script MODEL_PATH DATA_PATH` on this backend.

    The script prints a JSON object as its last line of output, which is returned.
    """
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", **arrays)
    path = tmp_path / "reload.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, str(path), str(tmp_path / "model.keras"), str(tmp_path / "data.npz")],
        capture_output=True,
        text=True,
        env=dict(os.environ, KERAS_BACKEND=keras.backend.backend()),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
