"""Runs the Keras 3 snippets of docs/porting.md, one test per `##` section.

The guide tags classic (Keras 2 / TF1) code ```python classic; it is shown, never run.
Every ```python block is run: the blocks of one section in order, in one fresh
namespace, so a later block may use names from an earlier one and sections stay
independent. Tracebacks point at the lines of docs/porting.md.

Only the intro (the text before the first `##` heading) goes without runnable blocks;
every section must have one, and every runnable block must `assert` something, so the
guide cannot quietly stop being tested.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "porting.md"

RUN_TAG = "python"
SHOWN_TAGS = {"python classic"}
# Up to three spaces may indent a fence (CommonMark), e.g. inside a list item.
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


@dataclasses.dataclass
class Block:
    tag: str
    first_line: int  # 1-based line number in the guide of the block's first code line
    code: str


@dataclasses.dataclass
class Section:
    title: str
    line: int
    blocks: list[Block] = dataclasses.field(default_factory=list)

    @property
    def runnable(self) -> list[Block]:
        return [block for block in self.blocks if block.tag == RUN_TAG]


def parse(text: str) -> tuple[Section, list[Section]]:
    """The intro (text before the first `##`) and the `##` sections, with their fenced blocks.

    Headings are only recognised outside fences, so a `## ...` comment inside code does
    not start a section.
    """
    intro = Section(title="(intro)", line=1)
    sections: list[Section] = []
    current = intro
    fence = None  # (marker, tag, first line, lines) while inside a fenced block
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is not None:
            marker, tag, first, lines = fence
            if line.strip() == marker:
                current.blocks.append(Block(tag, first, textwrap.dedent("\n".join(lines))))
                fence = None
            else:
                lines.append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            fence = (opening.group(1), " ".join(opening.group(2).split()), number + 1, [])
        elif line.startswith("## "):
            current = Section(title=line[3:].strip(), line=number)
            sections.append(current)
    if fence is not None:
        raise AssertionError(f"{GUIDE.name}:{fence[2] - 1}: this fence is never closed")
    return intro, sections


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


INTRO, SECTIONS = parse(GUIDE.read_text(encoding="utf-8"))


def _param(section: Section):
    code = "\n".join(block.code for block in section.runnable)
    trains = any(call in code for call in (".fit(", ".save("))
    return pytest.param(section, id=slug(section.title), marks=[pytest.mark.slow] if trains else [])


def test_guide_has_sections():
    assert len(SECTIONS) >= 6, f"expected the recipes as `##` sections; found {len(SECTIONS)}"
    titles = [slug(section.title) for section in SECTIONS]
    assert len(set(titles)) == len(titles), f"two sections share a test id: {titles}"


def test_every_block_is_run_or_marked_classic():
    """A misspelt tag would quietly take a block out of the tests."""
    for section in [INTRO, *SECTIONS]:
        for block in section.blocks:
            if block.tag.split(" ")[0].lower().startswith("py"):
                assert block.tag == RUN_TAG or block.tag in SHOWN_TAGS, (
                    f"{GUIDE.name}:{block.first_line - 1}: unknown tag ```{block.tag}; "
                    f"use ```{RUN_TAG} (run) or ```python classic (shown only)"
                )
    assert not INTRO.runnable, (
        f"{GUIDE.name}: ```{RUN_TAG} blocks before the first `##` heading are never run"
    )


@pytest.mark.parametrize("section", [_param(section) for section in SECTIONS])
def test_section_runs(section: Section, tmp_path, monkeypatch):
    assert section.runnable, (
        f"{GUIDE.name}:{section.line}: section {section.title!r} has no ```{RUN_TAG} block"
    )
    for block in section.runnable:
        assert re.search(r"^\s*assert\b", block.code, flags=re.MULTILINE), (
            f"{GUIDE.name}:{block.first_line}: every runnable block must check something "
            f"with `assert`"
        )
    # Anything a snippet saves lands in tmp_path, never in the repository.
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"porting_guide_{slug(section.title).replace('-', '_')}"}
    for block in section.runnable:
        # Padding keeps the line numbers of tracebacks equal to those of the guide.
        source = "\n" * (block.first_line - 1) + block.code
        exec(compile(source, str(GUIDE), "exec"), namespace)
