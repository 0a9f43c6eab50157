"""A run's page in one document: state, per-step figures, artifacts, rounds, tests, failures,
an agent loop's transcript.

Built from one streamed read of the log: the fold (``WorkflowFold``), the step figures
(``StepTally``, what ``step_stats`` gives), the page's lists and the loop transcript take
each block of events as it is read. Long lists keep their last :data:`LIST_LIMIT` entries
(the timeline, paged, shows everything), so a run of any length is read in flat memory.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import msgspec

from actors.viewer.lists import PageLists
from actors.viewer.loop import LoopTranscript
from actors.views.stats import stats_row
from actors.views.tally import RunTally
from events import EVENT_TYPES, AgentlogError, WorkspaceBase
from store import EventLog, LogError, LogMark, ObjectStore, WorkflowFold, WorkflowState, total_stats
from store.projections import StepTally

__all__ = ["LIST_LIMIT", "run_overview"]

#: How many entries of each list (calls, failures, rounds, tests, reviews) are sent.
LIST_LIMIT = 500


def _workspace_facts(base: WorkspaceBase | None) -> dict[str, Any] | None:
    """Where a workspace run came from (its header shows it); None without a workspace."""
    if base is None:
        return None
    return {"root": base.root, "commit": base.commit, "dirty": base.dirty}


def _test_command(state: WorkflowState) -> str:
    """The test command in force: the one configured, else the one detected with the base."""
    if state.config.test_cmd:
        return state.config.test_cmd
    if state.workspace is not None and state.workspace.test_command:
        return shlex.join(state.workspace.test_command)
    return ""


def _base_change(run_dir: Path, has_base: bool) -> dict[str, Any] | None:
    """A workspace run's change against its recorded base (what `agentlog diff` prints):
    per file its status, line counts and patch; None for a run without a workspace."""
    if not has_base:
        return None
    from actors.workspace.apply import run_change

    try:
        _, _, diffs = run_change(run_dir)
    except AgentlogError as exc:  # a log is data: a hostile change set is shown, not a 500
        return {"error": str(exc), "files": []}
    return {"files": [msgspec.to_builtins(d) for d in diffs]}


def run_overview(run_dir: Path, tally: RunTally | None = None) -> dict[str, Any]:
    """Everything the run page shows besides the timeline, JSON-ready.

    ``tally`` (a blank :class:`~actors.views.tally.RunTally`), when given, is the page's
    fold: the same pass folds the run's summary into it (settled, its mark past the last
    line, when the log is sound; a damaged log leaves it unsettled).
    """
    log = EventLog(run_dir)
    fold = tally.fold if tally is not None else WorkflowFold()
    lists = PageLists(LIST_LIMIT)
    loop = LoopTranscript(ObjectStore(run_dir))
    steps = StepTally()
    damage: str | None = None
    marks: list[LogMark] = []
    try:  # one pass serves every figure: each block is folded and collected as it is read
        for block in log.read_marked(marks):
            if tally is not None:  # the step figures sum the usage by model (below)
                tally.extend(block, None, usage=False)
            else:
                fold.extend(block)
            types = list(map(type, block))
            lists.extend(block, types)
            loop.extend(block, types)
            steps.extend(block, types)
    except LogError as exc:  # the events up to the first damaged line are shown
        damage = str(exc)
    per_step = steps.stats()
    if tally is not None:
        tally.state.usage = steps.usage_by_model()
    if tally is not None and damage is None:
        if marks:
            tally.state.mark = marks[-1]
        tally.settle()
    state = fold.snapshot()
    workspace = (state.workspace, state.changes, ObjectStore(run_dir)) if state.workspace else None
    try:
        rounds = lists.rounds(workspace)
    except AgentlogError as exc:  # a log is data: a change that does not fit is shown
        rounds = [{"error": str(exc), "files": []}]
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
            "workspace": _workspace_facts(state.workspace),
            "test_command": _test_command(state),
        },
        "event_types": list(EVENT_TYPES),
        "damage": damage,
        "stats": [stats_row(s) for s in [*per_step, total_stats(per_step)]],
        "plans": lists.tail("plans"),
        "reviews": lists.tail("reviews"),
        "rounds": {"items": rounds, "total": lists.version_count},
        "base_change": _base_change(run_dir, state.workspace is not None),
        "tests": lists.tail("tests"),
        "failures": lists.tail("failures"),
        "calls": lists.tail("calls"),
        "loop": {"items": loop.items(), "total": loop.total, "problem": loop.problem},
    }
