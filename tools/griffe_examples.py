"""A griffe extension for the documentation site (`mkdocs.yml` loads it).

kerasloss docstrings head their doctests `Example:`, as Keras does; griffe's Google
parser reads only the plural `Examples:` as an examples section and would render the
`>>>` lines as prose. This extension renames the heading when griffe loads an object,
so the site shows the examples as code. The source files are not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExamplesHeading(griffe.Extension):
    """Reads a docstring's `Example:` heading as `Examples:`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _HEADING.sub(r"\1Examples:", obj.docstring.value)
