"""Old import paths that keep working, with a `DeprecationWarning` that names the new one."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable


def moved(module: str, table: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` that resolves the names in `table` lazily.

    `table` maps an old name of `module` to "new.module:new_name". The target is
    imported only when the old name is used, so an alias adds no import at start-up.
    A helper that moved into `kerasloss._internal` is reported as private, not moved.
    """

    def __getattr__(name: str) -> object:
        """The object an old name stands for, with a `DeprecationWarning`."""
        if name not in table:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target_module, target_name = table[name].split(":")
        if any(part.startswith("_") for part in (*target_module.split("."), target_name)):
            where = "is private now"
        else:
            where = f"has moved to `{target_module}.{target_name}`"
        warnings.warn(
            f"`{module}.{name}` {where}; the old name will be removed in kerasloss 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(target_module), target_name)

    return __getattr__
