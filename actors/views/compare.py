"""Two runs of one task compared: what ``agentlog diff RUN_A RUN_B`` prints, as data.

Each run is read once and folded by the run's one fold (:func:`store.workflow_state`) and
the stats projection (:func:`store.step_stats`, totalled and priced by
:func:`actors.views.stats.stats_row`, the numbers ``agentlog stats`` shows), so every
figure here is the one the other views show. The comparison holds:

- both runs (path, workflow id, task, status, verdict), and whether the task is the same;
- where they part (:mod:`actors.views.compare_log`): lineage (a fork or what-if of the
  other, with its recorded divergence), the settings that differ, the first event that
  differs by content;
- the plans, as lines and a unified diff;
- the changes, a diff of diffs (:mod:`actors.views.compare_files`);
- the figures, each as A, B and B - A: status, verdict, tests (outcome and counts),
  revision rounds, model turns, tool calls, tokens by class, cost, wall time.

``identical`` is true when nothing differs: no event, setting, plan or file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from actors.views.compare_files import FileComparison, compare_files, run_files
from actors.views.compare_log import (
    EventDifference,
    Lineage,
    SettingChange,
    first_difference,
    lineage,
    setting_changes,
)
from actors.views.outcome import summarize_tests
from actors.views.stats import stats_row
from events import Event, Plan, TestsRan, ToolResulted, UnknownEvent, UsageError, WorkflowStarted
from store import EventLog, NotALog, WorkflowState, step_stats, total_stats, workflow_state

__all__ = ["Comparison", "Figure", "RunRecord", "TestsSide", "compare", "read_run"]

#: The stats figures compared, in the order shown (names as ``agentlog stats --json``).
STATS_FIGURES = (
    "model_calls",
    "tool_calls",
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "output_tokens",
    "tokens",
    "cost_usd",
    "wall_ms",
)
_COUNT = re.compile(r"(\d+) (\w+)")


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One run, read: its directory, events, fold and total stats row."""

    path: Path
    events: list[Event | UnknownEvent]
    state: WorkflowState
    total: dict[str, Any]


class RunSide(msgspec.Struct, frozen=True, kw_only=True):
    """Who a side is."""

    run: str
    workflow_id: str
    task: str
    status: str
    verdict: str | None


class PlanComparison(msgspec.Struct, frozen=True, kw_only=True):
    """Both plans as text lines (empty: no plan) and a unified diff (empty: the same)."""

    same: bool
    a: list[str]
    b: list[str]
    diff: str = ""


class TestsSide(msgspec.Struct, frozen=True, kw_only=True):
    """A run's last test run: outcome, summary line and its counts."""

    __test__ = False  # not a pytest class

    outcome: str
    exit_code: int | None
    summary: str | None
    counts: dict[str, int]
    #: ``tests`` (the Reviewer's test run, ``TestsRan``) or ``run_command`` (an agent loop's).
    by: str
    round: int


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One figure of both runs; ``delta`` is B - A (None unless both are numbers)."""

    name: str
    a: Any
    b: Any
    delta: float | int | None = None


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``agentlog diff RUN_A RUN_B`` says (its ``--json``)."""

    a: RunSide
    b: RunSide
    same_task: bool
    identical: bool
    lineage: Lineage | None
    settings: list[SettingChange]
    first_difference: EventDifference | None
    plan: PlanComparison
    changes_kind: str
    changes: list[FileComparison]
    tests: dict[str, TestsSide | None]
    figures: list[Figure]


def read_run(log: EventLog, label: str) -> RunRecord:
    """The run of ``log``, read once; a usage error naming ``label`` (``RUN_A``) when the
    file holds no run (its first line is no event, or no ``WorkflowStarted`` begins it).
    A damaged log is the store's error (exit 1), as for every command."""
    try:
        events: list[Event | UnknownEvent] = list(log.read())
    except NotALog as exc:
        raise UsageError(f"{label}: {exc}") from None
    if not events or not isinstance(events[0], WorkflowStarted):
        raise UsageError(f"{label}: {log.path}: not a run (it does not start a workflow)")
    per_step = step_stats(events)
    return RunRecord(
        path=log.path.parent,
        events=events,
        state=workflow_state(events),
        total=stats_row(total_stats(per_step)),
    )


def compare(a: RunRecord, b: RunRecord) -> Comparison:
    """Run A against run B."""
    plan = _plans(a.state.artifacts.plan, b.state.artifacts.plan)
    files_a, files_b = run_files(a.path, a.state), run_files(b.path, b.state)
    changes = compare_files(files_a, files_b)
    kind = files_a.kind if files_a.kind == files_b.kind else "mixed"
    settings = setting_changes(a.state.config, b.state.config)
    first = first_difference(a.events, b.events)
    tests = {"a": _tests(a.events), "b": _tests(b.events)}
    return Comparison(
        a=_side(a),
        b=_side(b),
        same_task=a.state.task == b.state.task,
        identical=first is None and not settings and plan.same and all(c.same for c in changes),
        lineage=lineage(a.state, b.state, a.events, b.events),
        settings=settings,
        first_difference=first,
        plan=plan,
        changes_kind=kind,
        changes=changes,
        tests=tests,
        figures=_figures(a, b, tests["a"], tests["b"]),
    )


def _side(run: RunRecord) -> RunSide:
    s = run.state
    return RunSide(
        run=str(run.path),
        workflow_id=s.workflow_id,
        task=s.task,
        status=s.status,
        verdict=s.verdict,
    )


def plan_lines(plan: Plan | None) -> list[str]:
    """A plan as text: its summary, numbered steps (with their files) and risks."""
    if plan is None:
        return []
    lines = [f"summary: {plan.summary}"]
    for i, step in enumerate(plan.steps, 1):
        files = f" [{', '.join(step.files)}]" if step.files else ""
        lines.append(f"{i}. {step.title}{files}")
        lines.extend(f"   {line}" for line in step.description.split("\n") if line)
    lines.extend(f"risk: {risk}" for risk in plan.risks)
    return lines


def _plans(a: Plan | None, b: Plan | None) -> PlanComparison:
    la, lb = plan_lines(a), plan_lines(b)
    if la == lb:
        return PlanComparison(same=True, a=la, b=lb)
    diff = difflib.unified_diff(la, lb, "A plan", "B plan", lineterm="", n=len(la) + len(lb))
    return PlanComparison(same=False, a=la, b=lb, diff="\n".join(diff) + "\n")


def _tests(events: Sequence[Event | UnknownEvent]) -> TestsSide | None:
    """The run's last test run: a ``TestsRan`` or an agent loop's ``run_command`` whose
    output ends with a pytest or unittest summary."""
    for ev in reversed(events):
        if isinstance(ev, TestsRan):
            outcome = ev.outcome or ("passed" if ev.exit_code == 0 else "failed")
            return _tests_side(outcome, ev.exit_code, ev.output, "tests", ev.round)
        if isinstance(ev, ToolResulted) and ev.name == "run_command" and not ev.is_error:
            if summarize_tests(ev.output) is None:
                continue
            ran = "timeout" if ev.timed_out else "passed" if ev.exit_code == 0 else "failed"
            return _tests_side(ran, ev.exit_code, ev.output, "run_command", ev.round)
    return None


def _tests_side(
    outcome: str, exit_code: int | None, output: str, by: str, round_: int
) -> TestsSide:
    summary = summarize_tests(output)
    counts: dict[str, int] = {}
    for n, word in _COUNT.findall(summary or ""):
        counts[word.rstrip("s") if word in ("errors", "warnings") else word] = int(n)
    return TestsSide(
        outcome=outcome, exit_code=exit_code, summary=summary, counts=counts, by=by, round=round_
    )


def _delta(a: Any, b: Any) -> float | int | None:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return b - a
    return None


def _figures(
    a: RunRecord, b: RunRecord, ta: TestsSide | None, tb: TestsSide | None
) -> list[Figure]:
    rows: list[tuple[str, Any, Any]] = [
        ("status", a.state.status, b.state.status),
        ("verdict", a.state.verdict, b.state.verdict),
        ("tests", ta.outcome if ta else None, tb.outcome if tb else None),
    ]
    for word in sorted({*(ta.counts if ta else {}), *(tb.counts if tb else {})}):
        rows.append(
            (
                f"tests {word}",
                (ta.counts.get(word, 0) if ta else None),
                tb.counts.get(word, 0) if tb else None,
            )
        )
    rows.append(("revisions", a.state.revisions, b.state.revisions))
    rows.extend((name, a.total[name], b.total[name]) for name in STATS_FIGURES)
    return [Figure(name=n, a=va, b=vb, delta=_delta(va, vb)) for n, va, vb in rows]
