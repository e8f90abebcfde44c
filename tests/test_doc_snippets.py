"""Runs every ```python block of README.md and docs/*.md, on the session's backend.

Each block runs on its own, in a fresh namespace, in a temporary directory. An HTML
comment on the line just before a block's fence changes that:

- `<!-- continue -->`: the block runs after the previous block of the page, in its
  namespace (a recipe split by prose);
- `<!-- skip: reason -->`: the block is shown, not run (an outline with `...`, code
  that needs data the page does not make); the reason is required.

Pages with a runner of their own are listed in `OWN_RUNNER` and not run here twice. A
block that trains a model (`.fit(`) is marked slow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_porting import FENCE

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Pages whose blocks another test runs, with that page's own rules.
OWN_RUNNER = {
    "docs/porting.md": "tests/test_porting.py",
    "docs/migrating-from-tfa.md": "tests/test_tfa_migration.py",
    "docs/pair_losses.md": "tests/test_pair_docs.py",
}
DIRECTIVE = re.compile(r"^<!--\s*(continue|skip)\s*(?::\s*(.*?))?\s*-->$")


def blocks(path: Path):
    """(first code line, code, directive, reason) of each ```python block of a page."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, fence, previous = [], None, ""
    for number, line in enumerate(lines, start=1):
        if fence is not None:
            marker, tag, first, body, directive = fence
            if line.strip() == marker:
                if tag == "python":
                    found.append((first, "\n".join(body), *directive))
                fence = None
            else:
                body.append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            match = DIRECTIVE.match(previous.strip())
            directive = (match.group(1), match.group(2)) if match else (None, None)
            fence = (opening.group(1), opening.group(2).strip(), number + 1, [], directive)
        if line.strip():
            previous = line
    assert fence is None, f"{path.name}:{fence[2] - 1}: this fence is never closed"
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def runs():
    """One test per standalone block, holding the blocks that continue it."""
    params = []
    for path in PAGES:
        if relative(path) in OWN_RUNNER:
            continue
        chain: list = []
        for first, code, directive, _reason in blocks(path):
            if directive == "skip":
                continue
            if directive == "continue" and chain:
                chain.append((first, code))
                continue
            chain = [(first, code)]
            params.append((path, chain))
    return [
        pytest.param(
            path,
            chain,
            id=f"{relative(path)}:{chain[0][0]}",
            marks=[pytest.mark.slow] if any(".fit(" in code for _, code in chain) else [],
        )
        for path, chain in params
    ]


def test_the_own_runners_exist_and_the_directives_are_well_formed():
    for page, runner in OWN_RUNNER.items():
        assert (ROOT / page).is_file(), page
        assert (ROOT / runner).is_file(), runner
    for path in PAGES:
        for first, _, directive, reason in blocks(path):
            if directive == "skip":
                assert reason, (
                    f"{relative(path)}:{first - 1}: `<!-- skip: reason -->` needs a reason"
                )
    lines = [
        (relative(path), number)
        for path in PAGES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip().startswith("<!--")
        and re.search(r"\b(skip|continue)\b", line)
        and not DIRECTIVE.match(line.strip())
    ]
    assert not lines, f"misspelt directives at {lines}: use <!-- continue --> or <!-- skip: why -->"


@pytest.mark.parametrize(("path", "chain"), runs())
def test_block_runs(path, chain, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything a snippet saves lands here
    namespace = {"__name__": "doc_snippet"}
    for first, code in chain:
        # Padding keeps the line numbers of a traceback equal to the page's.
        exec(compile("\n" * (first - 1) + code, str(path), "exec"), namespace)
