"""A run's page in one document: state, per-step figures, artifacts, rounds, tests, failures,
an agent loop's transcript.

Built from one streamed read of the log: the fold (``WorkflowFold``), ``step_stats`` and
the page's lists take each event as it passes. Long lists keep their last
:data:`LIST_LIMIT` entries (the timeline, paged, shows everything), so a run of any
length is read in flat memory.
"""

from __future__ import annotations

import shlex
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import msgspec

from actors.viewer.diffs import file_diffs
from actors.viewer.loop import LoopTranscript
from actors.views.stats import stats_row
from actors.views.tally import RunTally
from events import (
    EVENT_TYPES,
    AgentlogError,
    ChangeSet,
    CodeProduced,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    TestsRan,
    UnknownEvent,
    WorkflowFailed,
    WorkspaceBase,
)
from store import (
    EventLog,
    LogError,
    LogMark,
    ObjectStore,
    WorkflowFold,
    WorkflowState,
    base_tree,
    step_stats,
    total_stats,
)

__all__ = ["LIST_LIMIT", "run_overview"]

#: A workspace run's recorded base, its change sets in order, and its objects.
_Changes = tuple[WorkspaceBase, tuple[tuple[int, ChangeSet], ...], ObjectStore]

#: How many entries of each list (calls, failures, rounds, tests, reviews) are sent.
LIST_LIMIT = 500


def _call(ev: ModelCalled) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "step": ev.step,
        "attempt": ev.attempt,
        "round": ev.round,
        "model": ev.model,
        "tokens": ev.usage.total,
        "latency_ms": ev.latency_ms,
        "stop_reason": ev.stop_reason,
    }


def _plan(ev: PlanProduced) -> dict[str, Any]:
    return {"seq": ev.seq, "attempt": ev.attempt, "plan": msgspec.to_builtins(ev.plan)}


def _review(ev: ReviewProduced) -> dict[str, Any]:
    review = msgspec.to_builtins(ev.review)
    return {"seq": ev.seq, "round": ev.round, "attempt": ev.attempt, "review": review}


def _tests(ev: TestsRan) -> dict[str, Any]:
    return {"seq": ev.seq, **msgspec.to_builtins(ev)}


def _step_failure(ev: StepFailed) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "step": ev.step,
        "attempt": ev.attempt,
        "round": ev.round,
        "kind": ev.error_kind,
        "message": ev.message,
        "retryable": ev.retryable,
    }


def _workflow_failure(ev: WorkflowFailed) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "step": ev.step,
        "attempt": None,
        "round": None,
        "kind": ev.error_kind,
        "message": ev.message,
        "retryable": False,
        "workflow": True,
    }


#: Each listed event type: the list it is in, and how an entry is drawn from it.
_LISTED: dict[type, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    ModelCalled: ("calls", _call),
    PlanProduced: ("plans", _plan),
    ReviewProduced: ("reviews", _review),
    TestsRan: ("tests", _tests),
    StepFailed: ("failures", _step_failure),
    WorkflowFailed: ("failures", _workflow_failure),
}


class _Lists:
    """What the page lists, collected event by event: the last :data:`LIST_LIMIT` events
    of each list (drawn as entries only when sent) and how many there were, so a long
    run is read in flat memory."""

    def __init__(self) -> None:
        self.items: dict[str, deque[Event]] = {
            name: deque(maxlen=LIST_LIMIT)
            for name in ("plans", "reviews", "tests", "failures", "calls")
        }
        self.totals = dict.fromkeys(self.items, 0)
        # The code versions sent, and the one before them (what the first is diffed to).
        self.versions: deque[CodeProduced] = deque(maxlen=LIST_LIMIT + 1)
        self.version_count = 0
        # A workspace run's change sets, by seq (the fold keeps the change sets in order).
        self.change_seqs = array("q")

    def extend(self, events: list[Event | UnknownEvent]) -> None:
        """Collect each of ``events`` that a list shows, in log order."""
        items, totals, listed = self.items, self.totals, _LISTED
        for ev in events:
            t = type(ev)
            if t is CodeProduced:
                assert isinstance(ev, CodeProduced)
                self.versions.append(ev)
                self.version_count += 1
                if ev.change is not None:
                    self.change_seqs.append(ev.seq)
                continue
            where = listed.get(t)
            if where is not None:
                assert not isinstance(ev, UnknownEvent)
                items[where[0]].append(ev)
                totals[where[0]] += 1

    def tail(self, name: str) -> dict[str, Any]:
        entries = [_LISTED[type(ev)][1](ev) for ev in self.items[name]]
        return {"items": entries, "total": self.totals[name]}

    def rounds(self, workspace: _Changes | None = None) -> list[dict[str, Any]]:
        """The last :data:`LIST_LIMIT` code versions, each diffed against the one before
        it (diffs are computed only for the versions sent). A workspace run's version is
        its change set, diffed as the tree before it against the tree after it."""
        versions = list(self.versions)
        first = self.version_count - min(self.version_count, LIST_LIMIT)
        previous: dict[str, str] = {}
        if first:  # the deque holds the version before the first one sent
            previous = {f.path: f.content for f in versions.pop(0).code.files}
        steps = self._tree_steps(workspace, {ev.seq for ev in versions}) if workspace else {}
        out = []
        for n, ev in enumerate(versions, start=first):
            files = {f.path: f.content for f in ev.code.files}
            before, after = steps.get(ev.seq, (previous, files))
            out.append(
                {
                    "seq": ev.seq,
                    "round": ev.round,
                    "attempt": ev.attempt,
                    "notes": ev.code.notes,
                    "against": _against(ev.seq in steps, first_version=not n),
                    "files": file_diffs(before, after),
                }
            )
            previous = files
        return out

    def _tree_steps(
        self, workspace: _Changes, wanted: set[int]
    ) -> dict[int, tuple[dict[str, str], dict[str, str]]]:
        """For each wanted change set (by seq), the text of the paths it changed, before
        and after it, from the recorded base with every change set applied in order."""
        base, changes, objects = workspace
        tree = base_tree(base, objects)
        steps: dict[int, tuple[dict[str, str], dict[str, str]]] = {}
        for seq, (_, change) in zip(self.change_seqs, changes, strict=False):
            after = tree.apply(change)
            if seq in wanted:
                touched = {
                    p
                    for p in tree.entries.keys() | after.entries.keys()
                    if tree.entries.get(p) != after.entries.get(p)
                }
                steps[seq] = (
                    {p: tree.text(p) for p in touched if p in tree.entries},
                    {p: after.text(p) for p in touched if p in after.entries},
                )
            tree = after
        return steps


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


def _against(workspace: bool, *, first_version: bool) -> str:
    if workspace:
        return "the tree before this change"
    return "nothing (first version)" if first_version else "previous round"


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
    lists = _Lists()
    loop = LoopTranscript(ObjectStore(run_dir))
    damage: str | None = None
    marks: list[LogMark] = []

    def blocks() -> Iterator[list[Event | UnknownEvent]]:
        """The events up to the first damaged line (if any), folded and collected a read
        block at a time."""
        nonlocal damage
        try:
            for block in log.read_marked(marks):
                if tally is not None:
                    tally.extend(block, None)
                else:
                    fold.extend(block)
                lists.extend(block)
                loop.extend(block)
                yield block
        except LogError as exc:
            damage = str(exc)

    per_step = step_stats(chain.from_iterable(blocks()))  # one pass serves every figure
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
