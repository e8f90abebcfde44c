"""The demo's outputs: the terminal table, results.json, results.md and report.html."""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from typing import Any

from kerasloss._demo import common


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def _plain(text: str) -> str:
    """Explanations are written with a little HTML; the terminal gets plain text."""
    for tag in ("<code>", "</code>"):
        text = text.replace(tag, "`")
    return html.unescape(text)


def terminal_table(results: Sequence[common.FamilyResult]) -> str:
    """Every family's first table, one block per family, columns aligned."""
    lines = []
    for result in results:
        table = result.tables[0]
        cells = [table.columns] + [[_cell(v) for v in row] for row in table.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
        lines.append(f"{result.title} ({table.caption})")
        for j, row in enumerate(cells):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
            if j == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines.append("")
    return "\n".join(lines)


def markdown(results: Sequence[common.FamilyResult]) -> str:
    """The first table of each family as Markdown (what the README quotes)."""
    parts = []
    for result in results:
        table = result.tables[0]
        parts.append(f"**{result.title}** ({table.caption})\n")
        parts.append("| " + " | ".join(table.columns) + " |")
        parts.append("|" + "---|" * len(table.columns))
        parts += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.rows]
        parts.append("")
    return "\n".join(parts)


def write_json(path: str, header: dict[str, Any], results: Sequence[common.FamilyResult]) -> None:
    """Every number, the versions, the backend and the command."""
    document = {
        **header,
        "families": {
            r.name: {
                "title": r.title,
                "headline": r.headline,
                "seconds": r.seconds,
                "numbers": r.numbers,
                "tables": [
                    {"caption": t.caption, "columns": t.columns, "rows": t.rows} for t in r.tables
                ],
                "figures": [name for name, _ in r.figures],
            }
            for r in results
        },
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2, ensure_ascii=False)
        file.write("\n")


_STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; color: #222; background: #fdfdfb;
       margin: 0; line-height: 1.6; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 2rem; line-height: 1.2; margin-bottom: 0.25rem; }
h2 { font-size: 1.45rem; margin-top: 2.8rem; border-bottom: 1px solid #ddd; }
p.lead { font-size: 1.1rem; color: #444; }
code { font-family: Menlo, Consolas, monospace; font-size: 0.88em; background: #f0f0ec;
       padding: 0 0.2em; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: #f0f0ec; padding: 0.6rem 0.8rem; overflow-x: auto; white-space: pre-wrap;
      overflow-wrap: anywhere; }
.table { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-family: Helvetica, Arial, sans-serif; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { caption-side: bottom; color: #666; font-size: 0.85rem; padding-top: 0.3rem;
          text-align: left; }
.summary td { text-align: left; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; font-style: italic; }
.meta { font-family: Helvetica, Arial, sans-serif; font-size: 0.85rem; color: #555; }
.headline { font-family: Helvetica, Arial, sans-serif; font-size: 0.95rem;
            background: #eef4fb; padding: 0.4rem 0.7rem; border-left: 3px solid #1f77b4; }
"""


def _html_table(table: common.Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f'<div class="table"><table>{caption}<tr>{head}</tr>{body}</table></div>'


def _figure(out: str, name: str, caption: str) -> str:
    with open(os.path.join(out, name), "rb") as file:
        data = base64.b64encode(file.read()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


_QUICK = (
    " This was a <code>--quick</code> run: less training, smaller networks; the full run"
    " gives better numbers."
)


def write_html(
    path: str, out: str, header: dict[str, Any], results: Sequence[common.FamilyResult]
) -> None:
    """One self-contained page: every picture is embedded as base64 data."""
    summary = common.Table(
        ["family", "what the run showed", "seconds"],
        [[r.title, r.headline, round(r.seconds)] for r in results],
    )
    sections = []
    for r in results:
        parts = [f'<section id="{r.name}"><h2>{html.escape(r.title)}</h2>']
        parts += [f"<p>{paragraph}</p>" for paragraph in r.explanation]
        parts.append(f'<p class="headline">{html.escape(r.headline)}</p>')
        parts += [_html_table(t) for t in r.tables]
        parts += [_figure(out, name, caption) for name, caption in r.figures]
        parts.append("</section>")
        sections.append("\n".join(parts))
    versions = ", ".join(f"{k} {v}" for k, v in header["versions"].items())
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kerasloss demo on {html.escape(header["backend"])}</title>
<style>{_STYLE}</style>
</head>
<body><main>
<h1>Why these losses exist: kerasloss on real data</h1>
<p class="lead">Each section below trains the same small network twice or more on data
that ships inside scikit-learn and river, once with a familiar loss and once with a loss
from kerasloss, and measures the difference on held-out examples.</p>
<p class="meta">Backend <b>{html.escape(header["backend"])}</b>; {html.escape(versions)}.
Run on {html.escape(header["started"])} in {header["seconds"]:.0f} s with</p>
<pre>{html.escape(header["command"])}</pre>
<p>Training differs by backend: random number streams, kernels and the order of
floating-point sums are not the same in TensorFlow, JAX and PyTorch, so the trained
figures below change a little from one backend (and seed) to another. The losses
themselves give the same numbers for the same inputs on every backend; the tests check
that for every loss.{_QUICK if header["quick"] else ""}</p>
<div class="summary">{_html_table(summary)}</div>
{"".join(sections)}
<p class="meta">Every number on this page is also in <code>results.json</code>, next to
this file.</p>
</main></body></html>
"""
    with open(path, "w", encoding="utf-8") as file:
        file.write(page)
