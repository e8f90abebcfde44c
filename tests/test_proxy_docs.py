"""Runs the ```python blocks of docs/proxy_losses.md, in order, in one fresh namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "proxy_losses.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_a_runnable_example():
    assert BLOCKS and all("assert" in block for block in BLOCKS)


@pytest.mark.slow  # the example trains a small model for 10 epochs
def test_examples_run(capsys):
    namespace: dict = {}
    for block in BLOCKS:
        exec(compile(block, str(PAGE), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "precision@1" in printed and "(120,)" in printed
