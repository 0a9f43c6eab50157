"""The viewer's evaluation reports: which directories under the root are evaluations, and
the report of one or two of them.

An evaluation is named relative to the viewer's root: ``.`` is the root itself (the
viewer was started on an evaluation's runs directory) and any other name is a child
directory of the root holding runs (the viewer was started on the directory holding
several evaluations, so two can be compared). Nothing outside the root is ever read: a
name with a slash, a leading dot or that is not a directory is refused. A run of a child
evaluation has the viewer id ``CHILD/RUN`` (:func:`nested_run_dir` finds it).

The report itself is :func:`actors.views.report.report_data`, the very data
``agentlog report --json`` prints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from actors.eval.tasks import split_sample_id
from actors.views.report import eval_reports, report_data
from store import LOG_NAME

__all__ = ["EvalDirError", "evaluation_dir", "evaluations", "evaluations_report", "nested_run_dir"]


class EvalDirError(ValueError):
    """A query named no evaluation directory under the root."""


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def _holds_runs(path: Path) -> int:
    """How many runs of an evaluation ``path`` holds directly: run directories named as
    ``agentlog eval`` names them, ``TASK#K`` (0 when ``path`` is a run itself)."""
    if (path / LOG_NAME).is_file():
        return 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    return sum(
        1
        for e in entries
        if not e.name.startswith(".")
        and split_sample_id(e.name)[1] > 0
        and e.is_dir()
        and os.path.isfile(os.path.join(e.path, LOG_NAME))
    )


def evaluations(root: Path) -> list[dict[str, Any]]:
    """The evaluations a report can be asked of: ``.`` when the root holds an evaluation's
    runs, then each child directory of the root that does, by name; with their run counts.
    (Any directory under the root holding runs can be reported; these are the ones listed.)"""
    found: list[dict[str, Any]] = []
    here = _holds_runs(root)
    if here:
        found.append({"dir": ".", "runs": here})
    try:
        children = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return found
    for child in children:
        if _plain_name(child.name) and child.is_dir():
            count = _holds_runs(Path(child.path))
            if count:
                found.append({"dir": child.name, "runs": count})
    return found


def evaluation_dir(root: Path, name: str) -> Path:
    """The directory of the evaluation ``name`` (see the module docstring)."""
    if name == ".":
        return root
    if not _plain_name(name) or not (root / name).is_dir():
        raise EvalDirError(f"no evaluation directory {name!r} under the viewer's root")
    return root / name


def evaluations_report(root: Path, first: str, second: str | None) -> dict[str, Any]:
    """``agentlog report --json``'s data for the evaluations ``first`` (and ``second``)."""
    one = evaluation_dir(root, first)
    two = None if second is None else evaluation_dir(root, second)
    return report_data(eval_reports(one, two))


def nested_run_dir(root: Path, run_id: str) -> Path | None:
    """The directory of the run ``CHILD/RUN`` of a child evaluation, or None."""
    child, sep, name = run_id.partition("/")
    if not sep or not _plain_name(child) or not _plain_name(name):
        return None
    path = root / child / name
    return path if (path / LOG_NAME).is_file() else None
