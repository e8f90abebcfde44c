"""Runs the snippets of docs/migrating-from-tfa.md, one test per `##` section.

TensorFlow Addons does not install next to Keras 3. The snippets' `tfa` is bound to the
NumPy restatements of tests/_tfa_reference.py, which the first tests here hold to the
numbers TFA published (its docstrings and its own tests). The guide is parsed as
docs/porting.md is (tests/test_porting.py); every ```python block runs, there is no
shown-only code, and every block must `assert`.

A section that uses a kerasloss name from `PENDING` (requested, written against its
requested signature, not in every build yet) is skipped, naming it, while that name
is missing; any other missing kerasloss name fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import _tfa_reference as ref
import kerasloss
from test_porting import RUN_TAG, Section, parse, slug

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "migrating-from-tfa.md"
TEXT = GUIDE.read_text(encoding="utf-8")
INTRO, SECTIONS = parse(TEXT)
INTRO_TEXT = TEXT.split("\n## ", 1)[0]

PENDING = frozenset(
    {
        "pinball_loss",
        "PinballLoss",
        "weighted_kappa_loss",
        "WeightedKappaLoss",
        "sparsemax_loss",
        "SparsemaxLoss",
        "ops",  # kerasloss.ops.sparsemax
        "npairs_loss",
        "npairs_multilabel_loss",
    }
)
KERASLOSS_NAME = re.compile(r"\bkerasloss\.(\w+)")
TFA_NAMES = ref.LOSSES + ref.SEQ2SEQ_LOSSES

L = ref.tfa.losses

# ------------------------------------------------------------------ the reference


def _docstring_focal():
    return L.SigmoidFocalCrossEntropy()([[1.0], [1.0], [0.0]], [[0.97], [0.91], [0.03]])


BOXES_1 = [[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]]
BOXES_2 = [[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]]
KAPPA_TRUE = [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
KAPPA_PRED = [
    [0.1, 0.2, 0.6, 0.1],
    [0.1, 0.5, 0.3, 0.1],
    [0.8, 0.05, 0.05, 0.1],
    [0.01, 0.09, 0.1, 0.8],
]
PAIR = [[0.0, 1.0], [1.0, 0.0]]
_F = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
SIMILARITY = _F @ _F.T
MULTI_HOT = [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]]
PAIR_LABELS = [0, 0, 1, 1, 0, 1]
PAIR_DISTANCES = [0.1, 0.3, 1.3, 0.7, 1.1, 0.5]
QUANTILE_TRUE = np.reshape([1, 9, 2, -5, -2, 6], (2, 3))
QUANTILE_PRED = np.reshape([4, 8, 12, 8, 1, 3], (2, 3))


def _gram(x):
    return x @ x.T


# (id, the restatement's value, the value TFA's docstring or test gives, atol)
PUBLISHED = [
    ("pinball-docstring", lambda: L.pinball_loss([0, 0, 1, 1], [1, 1, 1, 0], tau=0.1), 0.475, 0),
    ("pinball-median", lambda: L.PinballLoss()(QUANTILE_TRUE, QUANTILE_PRED), 2.75, 0),
    ("pinball-tau-0", lambda: L.PinballLoss(tau=0.0)(QUANTILE_TRUE, QUANTILE_PRED), 4.8333, 1e-4),
    ("pinball-tau-0.1", lambda: L.PinballLoss(tau=0.1)(QUANTILE_TRUE, QUANTILE_PRED), 4.4166, 1e-4),
    ("focal-docstring", _docstring_focal, [6.8532745e-06, 1.9097870e-04, 2.0559824e-05], 0),
    ("giou-docstring", lambda: L.GIoULoss()(BOXES_1, BOXES_2), 1.5041667, 0),
    ("giou-per-box", lambda: L.giou_loss(BOXES_1, BOXES_2), [1.075, 1.9333333], 0),
    ("iou-per-box", lambda: L.giou_loss(BOXES_1, BOXES_2, mode="iou"), [0.875, 1.0], 0),
    ("giou-broadcast", lambda: L.giou_loss(BOXES_1, BOXES_2[:1]), [1.075, 1.366071], 1e-6),
    ("kappa-docstring", lambda: L.WeightedKappaLoss(4)(KAPPA_TRUE, KAPPA_PRED), -1.1611925, 0),
    ("semihard-docstring", lambda: L.triplet_semihard_loss([0, 0], PAIR), 2.4142137, 0),
    (
        "semihard-callable",
        lambda: L.triplet_semihard_loss([0, 0], PAIR, distance_metric=_gram),
        1.0,
        0,
    ),
    ("hard-docstring", lambda: L.triplet_hard_loss([0, 0], PAIR), 1.0, 0),
    ("hard-callable", lambda: L.triplet_hard_loss([0, 0], PAIR, distance_metric=_gram), 0.0, 0),
    ("npairs", lambda: L.NpairsLoss()([0, 1, 2, 3], SIMILARITY), 0.253856, 1e-6),
    ("npairs-one-hot", lambda: L.NpairsMultilabelLoss()(np.eye(4), SIMILARITY), 0.253856, 1e-6),
    ("npairs-multilabel", lambda: L.NpairsMultilabelLoss()(MULTI_HOT, SIMILARITY), 1.420522, 1e-6),
    ("contrastive", lambda: L.ContrastiveLoss()(PAIR_LABELS, PAIR_DISTANCES), 0.621666, 1e-6),
    (
        "contrastive-margin-2",
        lambda: L.ContrastiveLoss(margin=2.0)(PAIR_LABELS, PAIR_DISTANCES),
        1.623333,
        1e-6,
    ),
    (
        "contrastive-per-pair",
        lambda: L.contrastive_loss(PAIR_LABELS, PAIR_DISTANCES),
        [0.81, 0.49, 1.69, 0.49, 0.0, 0.25],
        0,
    ),
]


@pytest.mark.parametrize(
    ("compute", "published", "atol"), [p[1:] for p in PUBLISHED], ids=[p[0] for p in PUBLISHED]
)
def test_reference_gives_tfa_published_numbers(compute, published, atol):
    # TFA computed in float32: its numbers carry about 7 significant digits.
    np.testing.assert_allclose(compute(), published, rtol=1e-5, atol=atol)


def _projection_by_bisection(z):
    """The threshold tau with sum(max(z - tau, 0)) = 1, found without sorting."""
    low, high = z.min() - 1.0, z.max()
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if np.maximum(z - middle, 0).sum() > 1 else (low, middle)
    return 0.5 * (low + high)


def test_reference_sparsemax_is_the_projection_and_its_loss_the_papers():
    rng = np.random.default_rng(1)
    logits = 2.0 * rng.normal(size=(6, 5))
    labels = np.eye(5)[[0, 4, 2, 2, 1, 3]]
    p = ref.sparsemax(logits)
    losses = ref.sparsemax_loss(logits, p, labels)
    for z, p_row, q, loss in zip(logits, p, labels, losses, strict=True):
        tau = _projection_by_bisection(z)
        np.testing.assert_allclose(p_row, np.maximum(z - tau, 0.0), atol=1e-12)
        support = z > tau
        # Martins and Astudillo (2016), eq. (18).
        papers = -q @ z + 0.5 * np.sum(z[support] ** 2 - tau**2) + 0.5 * q @ q
        np.testing.assert_allclose(loss, papers, rtol=1e-12, atol=1e-12)
    assert (p >= 0).all() and np.allclose(p.sum(axis=1), 1.0)
    assert ((p > 0).sum(axis=1) > 1).any(), "the data must put several classes in the support"
    # Zero loss once the right logit leads the others by at least 1.
    assert ref.sparsemax_loss([[3.0, 2.0, 0.0]], ref.sparsemax([[3.0, 2.0, 0.0]]), [[1, 0, 0]]) == 0


def test_reference_sequence_loss_reductions():
    # Uniform logits: every token's cross-entropy is log(V), so each reduction is
    # log(V) times a ratio of weights.
    logits = np.zeros((2, 3, 5))
    targets = np.array([[0, 1, 2], [3, 4, 0]])
    weights = np.array([[2.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    log_v = np.log(5.0)
    seq2seq = ref.tfa.seq2seq
    np.testing.assert_allclose(seq2seq.sequence_loss(logits, targets, weights), log_v)
    # SequenceLoss() divides the weighted sum by the number of nonzero weights.
    np.testing.assert_allclose(seq2seq.SequenceLoss()(targets, logits, weights), 5 * log_v / 4)
    per_sequence = seq2seq.sequence_loss(logits, targets, weights, average_across_batch=False)
    np.testing.assert_allclose(per_sequence, [log_v, log_v])
    per_step = seq2seq.sequence_loss(
        logits,
        targets,
        weights,
        average_across_timesteps=False,
        average_across_batch=False,
        sum_over_batch=True,
    )
    np.testing.assert_allclose(per_step, [3 * log_v / 2, log_v, log_v])
    with pytest.raises(ValueError):
        seq2seq.sequence_loss(logits, targets, weights, sum_over_timesteps=True)


def test_reference_focal_clips_as_keras_2():
    # A true label given probability 0: clipped to 1e-7, then log(1e-7 + 1e-7).
    value = L.sigmoid_focal_crossentropy([[1.0]], [[0.0]], alpha=None, gamma=0.0)
    np.testing.assert_allclose(value, [-np.log(2e-7)])


# ------------------------------------------------------------------ the guide


def _titles_names(section: Section) -> set[str]:
    return set(re.findall(r"`(?:tfa\.\w+\.)?(\w+)`", section.title))


def test_table_and_sections_cover_every_tfa_loss():
    table = "\n".join(line for line in INTRO_TEXT.splitlines() if line.startswith("|"))
    in_table = set(re.findall(r"`(?:tfa\.\w+\.)?(\w+)`", table))
    missing = [name for name in TFA_NAMES if name not in in_table]
    assert not missing, f"{GUIDE.name}: the table has no row for {missing}"
    in_titles = set().union(*(_titles_names(section) for section in SECTIONS))
    missing = [name for name in TFA_NAMES if name not in in_titles]
    assert not missing, f"{GUIDE.name}: no `##` section is about {missing}"
    for section in SECTIONS:
        assert _titles_names(section) & set(TFA_NAMES), (
            f"{GUIDE.name}:{section.line}: section {section.title!r} names no TFA loss"
        )
    titles = [slug(section.title) for section in SECTIONS]
    assert len(set(titles)) == len(titles), f"two sections share a test id: {titles}"


def _github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_links_to_headings_resolve():
    porting = (GUIDE.parent / "porting.md").read_text(encoding="utf-8")
    anchors = {
        "": {_github_anchor(section.title) for section in SECTIONS},
        "porting.md": {_github_anchor(t) for t in re.findall(r"^## (.+)$", porting, re.M)},
    }
    links = re.findall(r"\]\(([\w.-]*)#([\w-]+)\)", TEXT)
    assert links, "the guide links its sections from the table"
    for page, anchor in links:
        assert anchor in anchors[page], f"{GUIDE.name}: the link {page}#{anchor} leads nowhere"


def test_every_block_runs():
    """A misspelt tag would quietly take a block out of the tests."""
    for section in [INTRO, *SECTIONS]:
        for block in section.blocks:
            if block.tag.split(" ")[0].lower().startswith("py"):
                assert block.tag == RUN_TAG, (
                    f"{GUIDE.name}:{block.first_line - 1}: unknown tag ```{block.tag}; "
                    f"every block of this guide runs: ```{RUN_TAG}"
                )
    assert not INTRO.runnable, f"{GUIDE.name}: a block before the first `##` is never run"


def test_snippets_name_kerasloss_objects_as_attributes():
    """`kerasloss.name` only, so that the check for pending names sees every name used."""
    for section in SECTIONS:
        for block in section.runnable:
            assert not re.search(
                r"^\s*(from\s+kerasloss\b|import\s+kerasloss\.)", block.code, flags=re.MULTILINE
            ), f"{GUIDE.name}:{block.first_line}: write `kerasloss.<name>`, not an import of it"


def _missing_names(code: str) -> list[str]:
    return sorted({name for name in KERASLOSS_NAME.findall(code) if not hasattr(kerasloss, name)})


@pytest.mark.parametrize(
    "section", [pytest.param(section, id=slug(section.title)) for section in SECTIONS]
)
def test_section_runs(section: Section, tmp_path, monkeypatch):
    assert section.runnable, f"{GUIDE.name}:{section.line}: {section.title!r} has no code"
    for block in section.runnable:
        assert re.search(r"^\s*assert\b", block.code, flags=re.MULTILINE), (
            f"{GUIDE.name}:{block.first_line}: every block must check something with `assert`"
        )
    code = "\n".join(block.code for block in section.runnable)
    assert re.search(r"\btfa\.\w+\.\w+\(", code), (
        f"{GUIDE.name}:{section.line}: {section.title!r} never compares with TFA's numbers"
    )
    missing = _missing_names(code)
    unknown = [name for name in missing if name not in PENDING]
    assert not unknown, f"{GUIDE.name}:{section.line}: kerasloss has no {unknown}"
    if missing:
        pytest.skip(f"uses kerasloss.{', kerasloss.'.join(missing)}, not in this build yet")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"tfa_guide_{slug(section.title).replace('-', '_')}", "tfa": ref.tfa}
    for block in section.runnable:
        # Padding keeps the line numbers of tracebacks equal to those of the guide.
        source = "\n" * (block.first_line - 1) + block.code
        exec(compile(source, str(GUIDE), "exec"), namespace)
