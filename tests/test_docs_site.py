"""The documentation site's API reference lists every public module and name.

`nox -s docs` builds the site with `mkdocs build --strict`, which fails on a broken link
or a page missing from the navigation. What it cannot see is a public name that no page
renders: the API pages list their members by hand (in the order a reader meets them), so
a new loss must be added there. This test reads those pages and the package's `__all__`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api"
PARTS = ("losses", "layers", "metrics", "callbacks", "ops")
_BLOCK = re.compile(r"^::: (kerasloss\.[\w.]+)\n((?:    .*\n|\n)*)", re.MULTILINE)
_MEMBER = re.compile(r"^        - (\w+)$", re.MULTILINE)


def _rendered(part: str) -> dict[str, set[str]]:
    """Module -> the member names its `:::` block on docs/api/<part>.md renders."""
    text = (API / f"{part}.md").read_text(encoding="utf-8")
    return {module: set(_MEMBER.findall(options)) for module, options in _BLOCK.findall(text)}


def _public_modules(part: str) -> list[str]:
    package = importlib.import_module(f"kerasloss.{part}")
    return [
        f"kerasloss.{part}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]


@pytest.mark.parametrize("part", PARTS)
def test_every_public_module_has_a_block_on_its_api_page(part: str) -> None:
    missing = set(_public_modules(part)) - set(_rendered(part))
    assert not missing, f"docs/api/{part}.md has no `::: module` block for {sorted(missing)}"


@pytest.mark.parametrize("part", PARTS)
def test_every_public_name_is_rendered(part: str) -> None:
    rendered = _rendered(part)
    for module_name in _public_modules(part):
        module = importlib.import_module(module_name)
        public = set(getattr(module, "__all__", ()))
        missing = public - rendered.get(module_name, set())
        assert not missing, f"docs/api/{part}.md does not list {sorted(missing)} of {module_name}"


def test_the_thresholds_page_renders_the_module() -> None:
    text = (API / "thresholds.md").read_text(encoding="utf-8")
    assert "::: kerasloss.thresholds" in text


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    missing = [page for page in pages if f": {page}" not in nav]
    assert not missing, f"mkdocs.yml's nav leaves out {missing}"
