"""An agent loop as a transcript: each model turn, its thinking, its tool calls and what
each call gave back and changed.

Built event by event with the rest of the run page (:mod:`actors.viewer.overview`). A
turn is a ``ModelCalled`` of a step attempt that called tools (``ToolCalled``); an
attempt that never called one (a run without ``--loop``) is not a loop and is left out.
Each call that changed files carries the diff of the working copy before it against the
one after it, folded by :class:`~store.WorkingCopy` (the projection ``agentlog project
--at`` writes), so the diff is exactly what the call's ``edits`` did; a call keeps only
the entries (hashes) of the paths it changed, and the diffs are read from ``objects/``
for the turns sent alone. The transcript keeps its last :data:`LOOP_LIMIT` turns, so a
long loop is read in flat memory.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from actors.viewer.diffs import file_diffs
from actors.views.events import summarize, tool_gist
from actors.views.outcome import summarize_tests
from events import (
    AgentlogError,
    ApprovalDecided,
    BudgetReached,
    CodeProduced,
    ContextElided,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    ToolCalled,
    ToolResulted,
    UnknownEvent,
    WorkflowStarted,
)
from store import Entry, ObjectProblem, ObjectStore, Tree, WorkingCopy
from store.tree import normal_path

__all__ = ["LOOP_LIMIT", "OUTPUT_SHOWN", "THINKING_SHOWN", "LoopTranscript"]

#: How many turns the transcript sends (the last ones; the timeline has every event).
LOOP_LIMIT = 500
#: Characters of a call's output, and of a turn's first thinking line, sent to the page.
OUTPUT_SHOWN = 2_000
THINKING_SHOWN = 200
#: Characters of one call's diff sent to the page (a huge rewrite is cut, and says so).
DIFF_SHOWN = 100_000

_Key = tuple[str, int, int]
#: The event types that end a step's attempt (its turns are forgotten).
_ENDS = frozenset({StepFailed, PlanProduced, CodeProduced, ReviewProduced})
#: What the working copy takes of a block without tool events, while edits wait.
_FED = frozenset({StepFailed, CodeProduced})

#: The event types a block :meth:`LoopTranscript.extend` takes on its quiet path has none
#: of: they make an attempt a loop, note a turn or start the working copy.
_LOUD = frozenset(
    {ToolCalled, ToolResulted, ContextElided, BudgetReached, WorkflowStarted, ApprovalDecided}
)
#: A path's entry in the working copy before a call and after it (None: no such file).
_Pair = tuple[Entry | None, Entry | None]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(blocks: tuple[dict[str, Any], ...], kind: str, field: str) -> str:
    """The first non-blank line of the response's first ``kind`` block, cut short."""
    for block in blocks:
        if block.get("type") == kind:
            text = block.get(field)
            if isinstance(text, str):
                for line in text.splitlines():
                    if line.strip():
                        return _cut(line.strip(), THINKING_SHOWN)
    return ""


def _turn_item(ev: ModelCalled, number: int, notes: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A model turn as the page shows it (``number``: its place in its attempt)."""
    return {
        "seq": ev.seq,
        "step": ev.step,
        "attempt": ev.attempt,
        "round": ev.round,
        "turn": number,
        "model": ev.model,
        "tokens": ev.usage.total,
        "thinking": _first_line(ev.content, "thinking", "thinking"),
        "text": _first_line(ev.content, "text", "text"),
        "calls": [],
        "notes": [] if notes is None else notes,
    }


class LoopTranscript:
    """The loop turns of a run, collected by :meth:`add` in log order (see the module)."""

    def __init__(self, objects: ObjectStore) -> None:
        self.turns: deque[dict[str, Any]] = deque(maxlen=LOOP_LIMIT)
        self.total = 0
        self.objects = objects
        self.copy: WorkingCopy | None = WorkingCopy(objects)
        self.problem: str | None = None  # why the diffs stopped (an edit that did not fit)
        # Per open attempt: its turns so far and whether it called a tool (a loop); the
        # turns of an attempt that has not called one yet, as they were recorded.
        self.open: dict[_Key, list[dict[str, Any]]] = {}
        self.pending: dict[_Key, list[tuple[ModelCalled, int, list[dict[str, Any]] | None]]] = {}
        self.loops: set[_Key] = set()
        self.counts: dict[_Key, int] = {}  # turns of each open attempt so far
        self.elided: dict[_Key, list[dict[str, Any]]] = {}  # notes for an attempt's next turn
        self.calls: dict[str, dict[str, Any]] = {}  # calls without a result, by call id

    def extend(self, events: list[Event | UnknownEvent], types: list[type] | None = None) -> None:
        """:meth:`add` each of ``events`` (the events no turn or working copy cares about,
        most of a long run, are passed over); ``types``: the type of each, when the caller
        has them."""
        if types is None:
            types = list(map(type, events))
        kinds = set(types)
        if not self.loops and not self.elided and _LOUD.isdisjoint(kinds):
            self._extend_quiet(events, types, kinds)
            return
        handlers = self._handlers
        for ev, t in zip(events, types, strict=True):
            handler = handlers.get(t)
            if handler is not None:
                handler(ev)

    def _extend_quiet(
        self, events: list[Event | UnknownEvent], types: list[type], kinds: set[type]
    ) -> None:
        """:meth:`extend` for a block without a tool event while no attempt is a loop
        (every block of a run without ``--loop``), the handlers' rules taken a block at a
        time: Python steps only through the block's model turns and code versions and,
        from its end back, the ends of their attempts."""
        if self.copy is not None and not _FED.isdisjoint(kinds):
            self._feed_quiet(events, types)
        if self.pending or ModelCalled in kinds:
            self._turns_quiet(events, types)

    def _feed_quiet(self, events: list[Event | UnknownEvent], types: list[type]) -> None:
        """The working copy takes the block's code versions (and its failures while edits
        wait), in order; versions that replace one another are fed only the last."""
        copy = self.copy
        assert copy is not None
        if copy.editing is not None:  # a failure may drop the waiting edits
            for ev, t in zip(events, types, strict=True):
                if t in _FED:
                    self._feed(ev)
            return
        versions = [ev for ev, t in zip(events, types, strict=True) if t is CodeProduced]
        if copy.replaced_by(cast("list[CodeProduced]", versions)):
            versions = versions[-1:]
        for ev in versions:
            self._feed(ev)

    def _turns_quiet(self, events: list[Event | UnknownEvent], types: list[type]) -> None:
        """Keep each model turn, numbered, until its attempt ends (it is drawn if the
        attempt calls a tool later): of each attempt, the turns after its last end in
        the block follow those kept before (none, if it ended in the block)."""
        counts, pending = self.counts, self.pending
        at = [i for i, t in enumerate(types) if t is ModelCalled]
        turns: list[Any] = [events[i] for i in at]
        keys: list[_Key] = [(ev.step, ev.attempt, ev.round) for ev in turns]
        open_ = {*keys, *pending}
        last_end: dict[_Key, int] = {}
        for i in range(len(types) - 1, -1, -1):  # from the end, until every attempt is seen
            t = types[i]
            if t in _ENDS:
                ev: Any = events[i]
                key = (
                    ("plan", ev.attempt, 0)
                    if t is PlanProduced
                    else (ev.step, ev.attempt, ev.round)
                )
                if key in open_ and key not in last_end:
                    last_end[key] = i
                    if len(last_end) == len(open_):
                        break
        for key in last_end:  # the attempt ended: its turns so far are forgotten
            if counts.pop(key, None) is not None:
                pending.pop(key, None)
        for i, ev, key in zip(at, turns, keys, strict=True):
            if i > last_end.get(key, -1):
                number = counts[key] = counts.get(key, 0) + 1
                kept = pending.get(key)
                if kept is None:
                    pending[key] = [(ev, number, None)]
                else:
                    kept.append((ev, number, None))

    def add(self, ev: Event | UnknownEvent) -> None:
        """Fold one event (every event of the log passes, in order)."""
        handler = self._handlers.get(type(ev))
        if handler is not None:
            handler(ev)

    @functools.cached_property
    def _handlers(self) -> dict[type, Callable[[Any], None]]:
        """What each event type does to the transcript and its working copy."""
        return {
            WorkflowStarted: self._feed,
            ApprovalDecided: self._feed,
            ToolResulted: self._tool_resulted,
            StepFailed: self._failed_or_code,
            CodeProduced: self._failed_or_code,
            PlanProduced: self._ended,
            ReviewProduced: self._ended,
            ModelCalled: self._turn,
            ToolCalled: self._called,
            ContextElided: self._elided,
            BudgetReached: self._budget,
        }

    def _tool_resulted(self, ev: ToolResulted) -> None:
        before = self.copy.tree if self.copy is not None else None
        self._feed(ev)
        after = self.copy.tree if self.copy is not None else None
        self._resulted(ev, before, after)

    def _elided(self, ev: ContextElided) -> None:  # made for the next turn: noted on it
        note = {"seq": ev.seq, "text": summarize(ev)}
        self.elided.setdefault((ev.step, ev.attempt, ev.round), []).append(note)

    def _budget(self, ev: BudgetReached) -> None:  # the loop stopped after its last turn
        key = (str(ev.step), ev.attempt, ev.round)
        turns = self.open.get(key)
        if turns and key in self.loops:
            turns[-1]["notes"].append({"seq": ev.seq, "text": summarize(ev)})

    def _failed_or_code(self, ev: StepFailed | CodeProduced) -> None:
        self._feed(ev)
        self._ended(ev)

    def _ended(self, ev: StepFailed | PlanProduced | CodeProduced | ReviewProduced) -> None:
        """The attempt ended: forget its turns."""
        key = (ev.step, ev.attempt, getattr(ev, "round", 0))
        if self.counts.pop(key, None) is not None:  # it made a turn
            self.pending.pop(key, None)
        if self.elided:
            self.elided.pop(key, None)
        if self.loops:  # only a loop has turns sent
            self.open.pop(key, None)
            self.loops.discard(key)

    def _feed(self, ev: Event | UnknownEvent) -> None:
        """Fold ``ev`` into the working copy; an edit that does not fit stops the diffs."""
        if self.copy is None:
            return
        try:
            self.copy.feed(ev)
        except AgentlogError as exc:  # a log is data: a change that does not fit is
            self.problem = f"seq {ev.seq}: {exc}"  # said, and later calls get no diff
            self.copy = None

    def _turn(self, ev: ModelCalled) -> None:
        key = (ev.step, ev.attempt, ev.round)
        number = self.counts[key] = self.counts.get(key, 0) + 1
        notes = self.elided.pop(key, None) if self.elided else None
        if key not in self.loops:  # not a loop (yet): its turn is drawn if it becomes one
            pending = self.pending.get(key)
            if pending is None:
                pending = self.pending[key] = []
            pending.append((ev, number, notes))
            return
        turn = _turn_item(ev, number, notes)
        turns = self.open.setdefault(key, [])
        turns.clear()  # the earlier turns are sent already
        self._send(turn)
        turns.append(turn)

    def _called(self, ev: ToolCalled) -> None:
        key = (ev.step, ev.attempt, ev.round)
        turns = self.open.setdefault(key, [])
        if key not in self.loops:  # the attempt's first call: it is a loop, from its start
            self.loops.add(key)
            for pending in self.pending.pop(key, []):
                turns.append(_turn_item(*pending))
                self._send(turns[-1])
        if not turns:  # a call without its turn (a damaged or cut log): a turn of its own
            turns.append(self._bare_turn(ev))
            self._send(turns[-1])
        call = {
            "seq": ev.seq,
            "call_id": ev.call_id,
            "turn": ev.turn,
            "name": ev.name,
            "gist": tool_gist(ev.input),
            "result": None,
            "diff": [],
        }
        turns[-1]["calls"].append(call)
        self.calls[ev.call_id] = call

    def _bare_turn(self, ev: ToolCalled) -> dict[str, Any]:
        return {
            "seq": None,
            "step": ev.step,
            "attempt": ev.attempt,
            "round": ev.round,
            "turn": ev.turn,
            "model": "",
            "tokens": 0,
            "thinking": "",
            "text": "",
            "calls": [],
            "notes": [],
        }

    def _send(self, turn: dict[str, Any]) -> None:
        self.turns.append(turn)
        self.total += 1

    def _resulted(self, ev: ToolResulted, before: Tree | None, after: Tree | None) -> None:
        call = self.calls.pop(ev.call_id, None)
        if call is None:
            return
        outcome = summarize_tests(ev.output) if ev.name == "run_command" else None
        call["result"] = {
            "seq": ev.seq,
            "summary": summarize(ev),
            "is_error": ev.is_error,
            "exit_code": ev.exit_code,
            "timed_out": ev.timed_out,
            "interrupted": ev.interrupted,
            "outcome": outcome,
            "output": _cut(ev.output, OUTPUT_SHOWN),
            "output_chars": ev.output_chars or len(ev.output),
            "edits": [{"path": e.path, "op": e.op} for e in ev.edits],
            "duration_ms": ev.duration_ms,
        }
        if ev.edits and before is not None and after is not None:
            paths = {normal_path(e.path) for e in ev.edits}
            call["_changed"] = {
                p: (before.entries.get(p), after.entries.get(p))
                for p in sorted(paths)
                if before.entries.get(p) != after.entries.get(p)
            }

    def items(self) -> list[dict[str, Any]]:
        """The turns sent, each call that changed files with its diff (computed only for
        these: a long loop's earlier calls are never read)."""
        for turn in self.turns:
            for call in turn["calls"]:
                changed = call.pop("_changed", None)
                if changed is not None:
                    try:
                        call["diff"] = _call_diff(self.objects, changed)
                    except ObjectProblem as exc:  # a log is data: its bytes may be gone
                        call["diff_problem"] = f"{exc.reason}: {exc.path}"
        return list(self.turns)


def _text(objects: ObjectStore, entry: Entry) -> str:
    data = entry.data if entry.data is not None else objects.get(entry.hash)
    return data.decode("utf-8", "replace")


def _call_diff(objects: ObjectStore, changed: dict[str, _Pair]) -> list[dict[str, Any]]:
    """The paths one call changed, each diffed from its entry in the working copy before
    the call to the one after it (a long diff cut at :data:`DIFF_SHOWN` characters)."""
    diffs = file_diffs(
        {p: _text(objects, old) for p, (old, _) in changed.items() if old is not None},
        {p: _text(objects, new) for p, (_, new) in changed.items() if new is not None},
    )
    for d in diffs:
        if len(d["diff"]) > DIFF_SHOWN:
            d["diff"] = d["diff"][:DIFF_SHOWN] + "\n[… the rest of this diff is left out …]\n"
    return diffs
