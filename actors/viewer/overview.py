"""A run's page in one document: state, per-step figures, artifacts, rounds, tests, failures.

Built from one read of the log with the store's projections (``workflow_state``,
``step_stats``) plus one pass collecting what the page lists. Long lists keep their last
:data:`LIST_LIMIT` entries (the timeline, paged, shows everything).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from actors.cli.inspect_cmds import stats_row
from actors.viewer.diffs import file_diffs
from events import (
    CodeProduced,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    TestsRan,
    UnknownEvent,
    WorkflowFailed,
)
from store import EventLog, LogError, step_stats, total_stats, workflow_state

__all__ = ["LIST_LIMIT", "run_overview"]

#: How many entries of each list (calls, failures, rounds, tests, reviews) are sent.
LIST_LIMIT = 500


def _read(log: EventLog) -> tuple[list[Event | UnknownEvent], str | None]:
    """The events up to the first damaged line, and what is wrong with it (if anything)."""
    events: list[Event | UnknownEvent] = []
    try:
        for ev in log.read():
            events.append(ev)
    except LogError as exc:
        return events, str(exc)
    return events, None


def _tail(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items[-LIST_LIMIT:], "total": len(items)}


def _rounds(versions: list[CodeProduced]) -> list[dict[str, Any]]:
    """The last :data:`LIST_LIMIT` code versions, each diffed against the one before it
    (diffs are computed only for the versions sent)."""
    first = max(0, len(versions) - LIST_LIMIT)
    previous = {f.path: f.content for f in versions[first - 1].code.files} if first else {}
    out = []
    for n, ev in enumerate(versions[first:], start=first):
        files = {f.path: f.content for f in ev.code.files}
        out.append(
            {
                "seq": ev.seq,
                "round": ev.round,
                "attempt": ev.attempt,
                "notes": ev.code.notes,
                "against": "previous round" if n else "nothing (first version)",
                "files": file_diffs(previous, files),
            }
        )
        previous = files
    return out


def _base_change(run_dir: Path, has_base: bool) -> dict[str, Any] | None:
    """A workspace run's change against its recorded base (what `agentlog diff` prints):
    per file its status, line counts and patch; None for a run without a workspace."""
    if not has_base:
        return None
    from actors.workspace.apply import NoWorkspace, run_change

    try:
        _, _, diffs = run_change(run_dir)
    except (NoWorkspace, LogError) as exc:
        return {"error": str(exc), "files": []}
    return {"files": [msgspec.to_builtins(d) for d in diffs]}


def run_overview(run_dir: Path) -> dict[str, Any]:
    """Everything the run page shows besides the timeline, JSON-ready."""
    events, damage = _read(EventLog(run_dir))
    state = workflow_state(events)
    per_step = step_stats(events)
    plans: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    versions: list[CodeProduced] = []
    for ev in events:
        t = type(ev)
        if t is ModelCalled:
            assert isinstance(ev, ModelCalled)
            calls.append(
                {
                    "seq": ev.seq,
                    "step": ev.step,
                    "attempt": ev.attempt,
                    "round": ev.round,
                    "model": ev.model,
                    "tokens": ev.usage.total,
                    "latency_ms": ev.latency_ms,
                    "stop_reason": ev.stop_reason,
                }
            )
        elif t is PlanProduced:
            assert isinstance(ev, PlanProduced)
            plans.append(
                {"seq": ev.seq, "attempt": ev.attempt, "plan": msgspec.to_builtins(ev.plan)}
            )
        elif t is CodeProduced:
            assert isinstance(ev, CodeProduced)
            versions.append(ev)
        elif t is ReviewProduced:
            assert isinstance(ev, ReviewProduced)
            reviews.append(
                {
                    "seq": ev.seq,
                    "round": ev.round,
                    "attempt": ev.attempt,
                    "review": msgspec.to_builtins(ev.review),
                }
            )
        elif t is TestsRan:
            assert isinstance(ev, TestsRan)
            tests.append({"seq": ev.seq, **msgspec.to_builtins(ev)})
        elif t is StepFailed:
            assert isinstance(ev, StepFailed)
            failures.append(
                {
                    "seq": ev.seq,
                    "step": ev.step,
                    "attempt": ev.attempt,
                    "round": ev.round,
                    "kind": ev.error_kind,
                    "message": ev.message,
                    "retryable": ev.retryable,
                }
            )
        elif t is WorkflowFailed:
            assert isinstance(ev, WorkflowFailed)
            failures.append(
                {
                    "seq": ev.seq,
                    "step": ev.step,
                    "attempt": None,
                    "round": None,
                    "kind": ev.error_kind,
                    "message": ev.message,
                    "retryable": False,
                    "workflow": True,
                }
            )
    rounds = _rounds(versions)
    return {
        "state": {
            "workflow_id": state.workflow_id,
            "status": state.status,
            "task": state.task,
            "config": msgspec.to_builtins(state.config),
            "current_step": state.current_step,
            "round": state.round,
            "verdict": state.verdict,
            "last_seq": state.last_seq,
            "model_calls": state.model_calls,
            "unknown_events": state.unknown_events,
            "gates": [msgspec.to_builtins(g) for g in state.gates.values()],
            "waiting_at": msgspec.to_builtins(state.waiting_at) if state.waiting_at else None,
        },
        "damage": damage,
        "stats": [stats_row(s) for s in [*per_step, total_stats(per_step)]],
        "plans": _tail(plans),
        "reviews": _tail(reviews),
        "rounds": {"items": rounds, "total": len(versions)},
        "base_change": _base_change(run_dir, state.workspace is not None),
        "tests": _tail(tests),
        "failures": _tail(failures),
        "calls": _tail(calls),
    }
