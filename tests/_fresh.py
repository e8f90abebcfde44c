"""Reloading saved models in a fresh Python process, where only `import kerasloss` ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np


def _run(script_path, *args, cwd) -> dict:
    """Runs a script on this backend; it prints a JSON object as its last line of output."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    if env.get("PYTHONPATH"):
        # Relative entries (PYTHONPATH=src) would point elsewhere from `cwd`, and the
        # process would import an installed kerasloss instead of the one under test.
        paths = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths if p)
    done = subprocess.run(
        [sys.executable, str(script_path), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def reload_in_fresh_process(tmp_path, model, script: str, **arrays) -> dict:
    """Saves `model` and `arrays`, runs `script MODEL_PATH DATA_PATH` on this backend.

    The script prints a JSON object as its last line of output, which is returned.
    """
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", **arrays)
    path = tmp_path / "reload.py"
    path.write_text(script)
    return _run(path, tmp_path / "model.keras", tmp_path / "data.npz", cwd=tmp_path)


def reload_all_in_fresh_process(folder, models: dict, script: str, **arrays) -> dict:
    """Saves each model of `models` as `folder/NAME.keras`, runs `script FOLDER` once.

    One process for all the models: starting Python and a backend costs seconds. `arrays`
    go to `folder/data.npz`; the script's last line of output, JSON, is returned.
    """
    for name, model in models.items():
        model.save(folder / f"{name}.keras")
    np.savez(folder / "data.npz", **arrays)
    path = folder / "reload_all.py"
    path.write_text(script)
    return _run(path, folder, cwd=folder)
