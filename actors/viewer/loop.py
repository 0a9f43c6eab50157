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

from collections import deque
from typing import Any

from actors.viewer.diffs import file_diffs
from actors.views.events import summarize, tool_gist
from actors.views.outcome import summarize_tests
from events import (
    AgentlogError,
    BudgetReached,
    CodeProduced,
    ContextElided,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    StepStarted,
    ToolCalled,
    ToolResulted,
    UnknownEvent,
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


class LoopTranscript:
    """The loop turns of a run, collected by :meth:`add` in log order (see the module)."""

    def __init__(self, objects: ObjectStore) -> None:
        self.turns: deque[dict[str, Any]] = deque(maxlen=LOOP_LIMIT)
        self.total = 0
        self.objects = objects
        self.copy: WorkingCopy | None = WorkingCopy(objects)
        self.problem: str | None = None  # why the diffs stopped (an edit that did not fit)
        # Per open attempt: its turns so far and whether it called a tool (a loop).
        self.open: dict[_Key, list[dict[str, Any]]] = {}
        self.loops: set[_Key] = set()
        self.counts: dict[_Key, int] = {}  # turns of each open attempt so far
        self.elided: dict[_Key, list[dict[str, Any]]] = {}  # notes for an attempt's next turn
        self.calls: dict[str, dict[str, Any]] = {}  # calls without a result, by call id

    def add(self, ev: Event | UnknownEvent) -> None:
        """Fold one event (every event of the log passes, in order)."""
        before = after = None
        if self.copy is not None:
            before = self.copy.tree
            try:
                self.copy.feed(ev)
            except AgentlogError as exc:  # a log is data: a change that does not fit is
                self.problem = f"seq {ev.seq}: {exc}"  # said, and later calls get no diff
                self.copy = None
            else:
                after = self.copy.tree
        t = type(ev)
        if t is ModelCalled:
            assert isinstance(ev, ModelCalled)
            self._turn(ev)
        elif t is ToolCalled:
            assert isinstance(ev, ToolCalled)
            self._called(ev)
        elif t is ToolResulted:
            assert isinstance(ev, ToolResulted)
            self._resulted(ev, before, after)
        elif t is ContextElided:  # made for the next turn: noted on it
            assert isinstance(ev, ContextElided)
            note = {"seq": ev.seq, "text": summarize(ev)}
            self.elided.setdefault((ev.step, ev.attempt, ev.round), []).append(note)
        elif t is BudgetReached:  # the loop stopped after its last turn: noted on that
            assert isinstance(ev, BudgetReached)
            key = (str(ev.step), ev.attempt, ev.round)
            turns = self.open.get(key)
            if turns and key in self.loops:
                turns[-1]["notes"].append({"seq": ev.seq, "text": summarize(ev)})
        elif t in (StepStarted, StepFailed, PlanProduced, CodeProduced, ReviewProduced):
            step = getattr(ev, "step", "")
            key = (step, getattr(ev, "attempt", 1), getattr(ev, "round", 0))
            if t is not StepStarted:
                self.open.pop(key, None)
                self.counts.pop(key, None)
                self.elided.pop(key, None)
                self.loops.discard(key)

    def _turn(self, ev: ModelCalled) -> None:
        key = (ev.step, ev.attempt, ev.round)
        turns = self.open.setdefault(key, [])
        self.counts[key] = self.counts.get(key, 0) + 1
        turn: dict[str, Any] = {
            "seq": ev.seq,
            "step": ev.step,
            "attempt": ev.attempt,
            "round": ev.round,
            "turn": self.counts[key],
            "model": ev.model,
            "tokens": ev.usage.total,
            "thinking": _first_line(ev.content, "thinking", "thinking"),
            "text": _first_line(ev.content, "text", "text"),
            "calls": [],
            "notes": self.elided.pop(key, []),
        }
        if key in self.loops:
            turns.clear()  # the earlier turns are sent already
            self._send(turn)
        turns.append(turn)

    def _called(self, ev: ToolCalled) -> None:
        key = (ev.step, ev.attempt, ev.round)
        turns = self.open.setdefault(key, [])
        if key not in self.loops:  # the attempt's first call: it is a loop, from its start
            self.loops.add(key)
            for turn in turns:
                self._send(turn)
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
