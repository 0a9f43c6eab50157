"""Which two runs a compare page's address names (``/compare/{A}/{B}``).

A run of a child evaluation is ``CHILD/RUN`` (:mod:`actors.viewer.reports`), so the
decoded path cannot say where A ends. The page's own links encode each id whole
(``/compare/before%2Fhello%231/after%2Fhello%231``): the still-encoded path then has two
segments. A path typed by hand (``/compare/before/hello#1/after/hello#1``) is tried at
every slash, first split first; the page's script (``comparemath.js``, ``candidates``)
tries them in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

__all__ = ["PREFIX", "candidates", "compared_runs"]

#: The compare page's path prefix.
PREFIX = "/compare/"


def candidates(rest: str) -> list[tuple[str, str]]:
    """Every (A, B) that ``rest`` (the percent-encoded path after :data:`PREFIX`) may
    name, split at each of its slashes in turn, each side decoded."""
    parts = rest.rstrip("/").split("/")
    return [
        (unquote("/".join(parts[:i])), unquote("/".join(parts[i:]))) for i in range(1, len(parts))
    ]


def compared_runs(raw_path: str, run_dir: Callable[[str], Path | None]) -> tuple[str, str] | None:
    """The first candidate pair of ``raw_path`` (the request's path, still encoded) whose
    two runs ``run_dir`` finds; None when there is none."""
    if not raw_path.startswith(PREFIX):
        return None
    for a, b in candidates(raw_path[len(PREFIX) :]):
        if run_dir(a) is not None and run_dir(b) is not None:
            return a, b
    return None
