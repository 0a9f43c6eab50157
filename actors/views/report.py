"""An evaluation's report as data: what ``agentlog report --json`` prints and the viewer's
report page draws, from one function so the two can never disagree.

:func:`eval_reports` reads the evaluation directory (and a second one to compare with)
once; :func:`report_data` turns the result into plain JSON data,
``{"first": …, "second": …, "comparison": …}`` (the last two only with a second directory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from actors.eval.report import Comparison, EvalReport, compare, report

__all__ = ["EvalReports", "eval_reports", "report_data"]


class EvalReports(NamedTuple):
    """One evaluation's report, or two and their comparison."""

    first: EvalReport
    second: EvalReport | None = None
    comparison: Comparison | None = None


def eval_reports(first: str | Path, second: str | Path | None = None) -> EvalReports:
    """The report of ``first`` and, given ``second``, of it and the two compared."""
    one = report(first)
    if second is None:
        return EvalReports(one)
    two = report(second)
    return EvalReports(one, two, compare(one, two))


def report_data(reports: EvalReports) -> dict[str, Any]:
    """``reports`` as plain JSON data (the shape ``agentlog report --json`` prints)."""
    data: dict[str, Any] = {"first": msgspec.to_builtins(reports.first)}
    if reports.second is not None:
        data["second"] = msgspec.to_builtins(reports.second)
        data["comparison"] = msgspec.to_builtins(reports.comparison)
    return data
