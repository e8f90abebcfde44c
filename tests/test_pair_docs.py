"""Runs the snippets of docs/pair_losses.md, one test per `##` section.

The page is parsed as docs/porting.md is (tests/test_porting.py): every ```python block
runs, on every backend, the blocks of one section in order in one fresh namespace.
Every block must `assert`; its expected numbers come from NumPy written from the
formula, or it checks a property (finite, a loss that falls while training). Only the
sections in `PROSE` (the choice of a loss, the shared conventions) go without code.

A section that uses a name of the pair-loss family listed in `PENDING` (requested,
written against its requested signature, not in every build yet) is skipped, naming
it, while that name is missing; any other missing kerasloss name fails. `triplet_loss`
takes `ref_embeddings` / `ref_labels` with the same family: a section that passes them
to it is skipped likewise while its signature lacks them.

The page states each object's signature in its prose (`kerasloss.name(...)`); those
are checked against the real signatures, with the same pending rule.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import kerasloss
from test_porting import RUN_TAG, Section, parse, slug

PAGE = Path(__file__).resolve().parents[1] / "docs" / "pair_losses.md"
TEXT = PAGE.read_text(encoding="utf-8")
INTRO, SECTIONS = parse(TEXT)
LINES = TEXT.splitlines()

# Names relative to `kerasloss`: "contrastive_loss", "layers.CLIPLoss".
PENDING = frozenset(
    {
        "contrastive_loss",
        "ContrastiveLoss",
        "nt_xent_loss",
        "NTXentLoss",
        "supcon_loss",
        "SupConLoss",
        "multi_similarity_loss",
        "MultiSimilarityLoss",
        "lifted_structure_loss",
        "LiftedStructureLoss",
        "clip_loss",
        "siglip_loss",
        "layers.CLIPLoss",
        "layers.SigLIPLoss",
        "layers.CrossBatchMemory",
    }
)
# An existing function and the parameters it gains with the family.
PENDING_PARAMETERS = {"triplet_loss": ("ref_embeddings", "ref_labels")}
FAMILY = sorted(PENDING | {"triplet_loss", "TripletLoss"})
# Sections of prose only: what to choose, and the conventions every loss shares.
PROSE = frozenset({"Choosing a loss", "Conventions shared by the labelled losses"})
# Arguments every Keras loss or layer has, which the page names without their defaults.
COMMON_ARGUMENTS = frozenset({"reduction", "name", "dtype"})

SUBPACKAGES = ("layers", "losses", "metrics", "callbacks")
KERASLOSS_NAME = re.compile(rf"\bkerasloss\.((?:(?:{'|'.join(SUBPACKAGES)})\.)?\w+)")
# `kerasloss.name(arguments)` as an inline code span of the prose.
STATED_SIGNATURE = re.compile(r"`kerasloss\.([\w.]+)\(([^`]*)\)`")


def _lookup(name: str) -> object | None:
    """The object `kerasloss.<name>` stands for, or None when this build lacks it."""
    target: object = kerasloss
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def _pending_parameters(name: str) -> list[str]:
    """The parameters `kerasloss.<name>` is due to gain and does not have yet."""
    obj = _lookup(name)
    expected = PENDING_PARAMETERS.get(name, ())
    if obj is None or not expected:
        return []
    have = inspect.signature(obj).parameters
    return [parameter for parameter in expected if parameter not in have]


def _section_lines(section: Section) -> list[str]:
    """The lines of a section, heading included, up to the next `##` heading."""
    index = SECTIONS.index(section)
    end = SECTIONS[index + 1].line - 1 if index + 1 < len(SECTIONS) else len(LINES)
    return LINES[section.line - 1 : end]


def _prose(lines: list[str]) -> str:
    """The lines outside fenced blocks."""
    kept, inside = [], False
    for line in lines:
        if re.match(r"^ {0,3}(`{3,}|~{3,})", line):
            inside = not inside
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _in_backticks(text: str) -> set[str]:
    """The names written in backticks, without a `kerasloss.` prefix."""
    return {re.sub(r"^kerasloss\.", "", name) for name in re.findall(r"`([\w.]+)`", text)}


def _github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


# ------------------------------------------------------------------ the page's shape


def test_page_covers_the_family():
    intro = _prose(LINES[: SECTIONS[0].line - 1]).splitlines()
    in_table = _in_backticks("\n".join(line for line in intro if line.startswith("|")))
    missing = [name for name in FAMILY if name not in in_table]
    assert not missing, f"{PAGE.name}: the table at the top has no row for {missing}"
    in_titles = set().union(*(_in_backticks(section.title) for section in SECTIONS))
    missing = [name for name in FAMILY if name not in in_titles]
    assert not missing, f"{PAGE.name}: no `##` section is about {missing}"
    titles = [slug(section.title) for section in SECTIONS]
    assert len(set(titles)) == len(titles), f"two sections share a test id: {titles}"
    assert PROSE <= {section.title for section in SECTIONS}, "a prose section was renamed"


def test_each_loss_section_has_formula_and_reference():
    for section in SECTIONS:
        names = _in_backticks(section.title) & set(FAMILY)
        if not names or section.title.startswith("Recipe"):
            continue
        lines = _section_lines(section)
        assert any(block.tag == "text" for block in section.blocks), (
            f"{PAGE.name}:{section.line}: {section.title!r} has no ```text formula"
        )
        assert re.search(r"\bReferences?:", _prose(lines)), (
            f"{PAGE.name}:{section.line}: {section.title!r} cites no paper (`Reference:`)"
        )


def test_links_to_headings_resolve():
    anchors = {_github_anchor(section.title) for section in SECTIONS}
    links = re.findall(r"\]\(#([\w-]+)\)", TEXT)
    assert links, "the page links its sections from the tables"
    for anchor in links:
        assert anchor in anchors, f"{PAGE.name}: the link #{anchor} leads nowhere"


def test_every_block_runs():
    """A misspelt tag would quietly take a block out of the tests."""
    for section in [INTRO, *SECTIONS]:
        for block in section.blocks:
            if block.tag.split(" ")[0].lower().startswith("py"):
                assert block.tag == RUN_TAG, (
                    f"{PAGE.name}:{block.first_line - 1}: unknown tag ```{block.tag}; "
                    f"every Python block of this page runs: ```{RUN_TAG}"
                )
    assert not INTRO.runnable, f"{PAGE.name}: a block before the first `##` is never run"


def test_snippets_name_kerasloss_objects_as_attributes():
    """`kerasloss.name` only, so that the check for pending names sees every name used."""
    for section in SECTIONS:
        for block in section.runnable:
            assert not re.search(
                r"^\s*(from\s+kerasloss\b|import\s+kerasloss\.)", block.code, flags=re.MULTILINE
            ), f"{PAGE.name}:{block.first_line}: write `kerasloss.<name>`, not an import of it"


# ------------------------------------------------------------------ the signatures


def _stated_signatures() -> list[tuple[str, str, int]]:
    """(name, argument list, line) of each `kerasloss.name(...)` in the prose."""
    found = []
    inside = False
    for number, line in enumerate(LINES, start=1):
        if re.match(r"^ {0,3}(`{3,}|~{3,})", line):
            inside = not inside
        elif not inside:
            found += [(m.group(1), m.group(2), number) for m in STATED_SIGNATURE.finditer(line)]
    return found


STATED = _stated_signatures()


def test_every_family_object_has_its_signature_stated():
    stated = {name for name, _, _ in STATED}
    missing = [name for name in FAMILY if name not in stated]
    assert not missing, f"{PAGE.name}: no `kerasloss.name(...)` signature for {missing}"


def _parse_arguments(arguments: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict]:
    """The positional and keyword-only arguments of a stated signature, and their defaults."""
    stated = ast.parse(f"def f({arguments}): pass").body[0].args
    positional = [(arg.arg, "positional") for arg in stated.args]
    keyword = [(arg.arg, "keyword-only") for arg in stated.kwonlyargs]
    with_default = [arg.arg for arg in stated.args][len(stated.args) - len(stated.defaults) :]
    defaults = dict(zip(with_default, stated.defaults, strict=True))
    for arg, default in zip(stated.kwonlyargs, stated.kw_defaults, strict=True):
        if default is not None:
            defaults[arg.arg] = default
    return positional, keyword, defaults


def _kind(parameter: inspect.Parameter) -> str:
    return "keyword-only" if parameter.kind is parameter.KEYWORD_ONLY else "positional"


@pytest.mark.parametrize(
    ("name", "arguments", "line"), STATED, ids=[f"{name}-line{line}" for name, _, line in STATED]
)
def test_stated_signature_is_the_real_one(name, arguments, line):
    obj = _lookup(name)
    if obj is None:
        assert name in PENDING, f"{PAGE.name}:{line}: kerasloss has no {name}"
        pytest.skip(f"kerasloss.{name} is not in this build yet")
    positional, keyword, defaults = _parse_arguments(arguments)
    lacking = [p for p, _ in positional + keyword if p in _pending_parameters(name)]
    if lacking:
        pytest.skip(f"kerasloss.{name} has no {lacking} in this build yet")
    real = inspect.signature(obj).parameters
    where = f"{PAGE.name}:{line}: kerasloss.{name}"
    for parameter, kind in positional + keyword:
        assert parameter in real, f"{where} has no argument {parameter!r}"
        assert _kind(real[parameter]) == kind, f"{where}: {parameter!r} is {_kind(real[parameter])}"
        if parameter in defaults:
            default = ast.literal_eval(defaults[parameter])
            assert real[parameter].default == default, (
                f"{where}: {parameter!r} defaults to {real[parameter].default!r}, not {default!r}"
            )
        else:
            assert real[parameter].default is inspect.Parameter.empty, (
                f"{where}: {parameter!r} has a default, {real[parameter].default!r}"
            )
    real_positional = [p for p, value in real.items() if _kind(value) == "positional"]
    assert [p for p in real_positional if p in dict(positional)] == [p for p, _ in positional], (
        f"{where}: the positional arguments are {real_positional}"
    )
    named = {p for p, _ in positional + keyword}
    unstated = [
        p
        for p, value in real.items()
        if p not in named and value.kind not in (value.VAR_KEYWORD, value.VAR_POSITIONAL)
    ]
    allowed = COMMON_ARGUMENTS if inspect.isclass(obj) else frozenset()
    extra = [p for p in unstated if p not in allowed]
    assert not extra, f"{where}: the page does not state its arguments {extra}"


# ------------------------------------------------------------------ the snippets


def _missing_names(code: str) -> list[str]:
    return sorted({name for name in KERASLOSS_NAME.findall(code) if _lookup(name) is None})


def _param(section: Section):
    code = "\n".join(block.code for block in section.runnable)
    trains = ".fit(" in code
    return pytest.param(section, id=slug(section.title), marks=[pytest.mark.slow] if trains else [])


def test_prose_sections_have_no_code():
    for section in SECTIONS:
        if section.title in PROSE:
            assert not section.runnable, (
                f"{PAGE.name}:{section.line}: {section.title!r} is listed as prose only but "
                f"has code, which would never run"
            )


@pytest.mark.parametrize(
    "section", [_param(section) for section in SECTIONS if section.title not in PROSE]
)
def test_section_runs(section: Section, tmp_path, monkeypatch):
    assert section.runnable, f"{PAGE.name}:{section.line}: {section.title!r} has no code"
    for block in section.runnable:
        assert re.search(r"^\s*(assert\b|np\.testing\.assert_)", block.code, flags=re.M), (
            f"{PAGE.name}:{block.first_line}: every block must check something"
        )
    code = "\n".join(block.code for block in section.runnable)
    missing = _missing_names(code)
    unknown = [name for name in missing if name not in PENDING]
    assert not unknown, f"{PAGE.name}:{section.line}: kerasloss has no {unknown}"
    if missing:
        pytest.skip(f"uses kerasloss.{', kerasloss.'.join(missing)}, not in this build yet")
    for name in PENDING_PARAMETERS:
        lacking = [p for p in _pending_parameters(name) if f"{p}=" in code]
        if f"kerasloss.{name}(" in code and lacking:
            pytest.skip(f"passes {lacking} to kerasloss.{name}, not in this build yet")
    # Anything a snippet writes lands in tmp_path, never in the repository.
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"pair_docs_{slug(section.title).replace('-', '_')}"}
    for block in section.runnable:
        # Padding keeps the line numbers of tracebacks equal to those of the page.
        source = "\n" * (block.first_line - 1) + block.code
        exec(compile(source, str(PAGE), "exec"), namespace)
