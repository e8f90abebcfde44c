"""mkdocs hooks for the documentation site (`mkdocs.yml` loads them).

The pages under `docs/` are written to read well on the repository too, so two of
their conventions need translating for the site:

- The porting guide tags code it shows but never runs as ```` ```python classic ````;
  the site highlights it as Python.
- Pages link to files of the repository outside `docs/` (an example script, the
  backends matrix). The site has no copy of those files, so such a link becomes the
  file's path in code type. A link to a file that does not exist is left as it is, so
  `mkdocs build --strict` still fails on it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_CLASSIC = re.compile(r"^```python classic\s*$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)#\s]+)\)")
_ROOT = Path(__file__).resolve().parent.parent


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    markdown = _CLASSIC.sub("```python", markdown)
    page_dir = (_ROOT / "docs" / page.file.src_path).parent

    def to_path(match: re.Match[str]) -> str:
        target = (page_dir / match.group(2)).resolve()
        docs = _ROOT / "docs"
        if docs in target.parents or not target.exists():
            return match.group(0)
        relative = target.relative_to(_ROOT).as_posix()
        text = match.group(1).strip("`")
        if text == relative:
            return f"`{relative}`"
        return f"{match.group(1)} (`{relative}` in the repository)"

    return _LINK.sub(to_path, markdown)
