"""The Coder's change as diffs: each round's file set against the one before it.

A ``CodeProduced`` event carries the whole file set, so a round's change is the
difference between its files and the previous round's (the first round against nothing:
every file is new). Diffs are unified, three lines of context, as ``diff -u`` prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

__all__ = ["file_diffs"]


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def file_diffs(before: Mapping[str, str], after: Mapping[str, str]) -> list[dict[str, Any]]:
    """One entry per path in either set, sorted: ``path``, ``status`` (added, deleted,
    modified, unchanged), ``added``/``removed`` line counts and the unified ``diff``."""
    out: list[dict[str, Any]] = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            status = "unchanged"
        elif old is None:
            status = "added"
        elif new is None:
            status = "deleted"
        else:
            status = "modified"
        diff = (
            []  # the same text has no diff (difflib would say so, slower)
            if old == new
            else list(
                difflib.unified_diff(
                    _lines(old or ""),
                    _lines(new or ""),
                    fromfile="/dev/null" if old is None else f"a/{path}",
                    tofile="/dev/null" if new is None else f"b/{path}",
                )
            )
        )
        added = sum(1 for d in diff[2:] if d.startswith("+"))
        removed = sum(1 for d in diff[2:] if d.startswith("-"))
        out.append(
            {
                "path": path,
                "status": status,
                "added": added,
                "removed": removed,
                "diff": "".join(d if d.endswith("\n") else d + "\n" for d in diff),
            }
        )
    return out
