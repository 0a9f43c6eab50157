"""The run page's lists (model calls, plans, reviews, tests, failures, code versions): the
last entries of each and how many there were, collected a read block at a time.

A long run is listed in flat memory and without a Python step per event: each block is
counted by event type (one C-level pass, which gives the totals), the latest blocks that
hold a listed event are kept whole (about ``8 x limit`` events), and a block let go gives
up to a list's own queue only the events of a list the later blocks hold too few of. The
entries are drawn from the kept events only when sent.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import msgspec

from actors.viewer.diffs import file_diffs
from events import (
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
from store import ObjectStore, base_tree

__all__ = ["PageLists"]

#: A workspace run's recorded base, its change sets in order, and its objects.
Changes = tuple[WorkspaceBase, tuple[tuple[int, ChangeSet], ...], ObjectStore]


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


#: Each listed event type: the list it is in, and how an entry is drawn from it (the code
#: versions are drawn by :meth:`PageLists.rounds`).
_LISTED: dict[type, tuple[str, Callable[[Any], dict[str, Any]] | None]] = {
    ModelCalled: ("calls", _call),
    PlanProduced: ("plans", _plan),
    ReviewProduced: ("reviews", _review),
    TestsRan: ("tests", _tests),
    StepFailed: ("failures", _step_failure),
    WorkflowFailed: ("failures", _workflow_failure),
    CodeProduced: ("versions", None),
}
#: The event types of each list.
_TYPES: dict[str, frozenset[type]] = {
    name: frozenset(t for t, (n, _) in _LISTED.items() if n == name) for name, _ in _LISTED.values()
}


class PageLists:
    """What the page lists, collected block by block in log order: of each list its
    last ``limit`` events (of the code versions one more, the one the first sent is diffed
    against), drawn as entries only when sent, and how many there were."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.totals = dict.fromkeys(_TYPES, 0)
        # The latest blocks with a listed event, each with its count per list, and how
        # many events of each list they hold.
        self._recent: deque[tuple[list[Event | UnknownEvent], dict[str, int]]] = deque()
        self._recent_events = 0
        self._held = dict.fromkeys(_TYPES, 0)
        # Per list, its events from the blocks let go (only while the kept ones are short).
        self._older: dict[str, deque[Event | UnknownEvent]] = {
            name: deque(maxlen=self._wanted(name)) for name in _TYPES
        }

    @property
    def version_count(self) -> int:
        """How many code versions (``CodeProduced``) the log holds."""
        return self.totals["versions"]

    def _wanted(self, name: str) -> int:
        return self.limit + 1 if name == "versions" else self.limit

    def extend(self, events: list[Event | UnknownEvent], types: list[type] | None = None) -> None:
        """Collect the listed ones of ``events``, the next block of the log (``types``:
        the type of each, when the caller has them)."""
        counts: dict[str, int] = {}
        for t, n in Counter(map(type, events) if types is None else types).items():
            listed = _LISTED.get(t)
            if listed is not None:
                counts[listed[0]] = counts.get(listed[0], 0) + n
        if not counts:
            return
        totals, held = self.totals, self._held
        for name, n in counts.items():
            totals[name] += n
            held[name] += n
        self._recent.append((events, counts))
        self._recent_events += len(events)
        keep = 8 * self.limit
        while len(self._recent) > 1 and self._recent_events - len(self._recent[0][0]) >= keep:
            self._let_go()

    def _let_go(self) -> None:
        """Drop the oldest kept block, keeping the events of each list the later blocks
        hold too few of."""
        events, counts = self._recent.popleft()
        self._recent_events -= len(events)
        for name, n in counts.items():
            self._held[name] -= n
            if self._held[name] < self._wanted(name):
                types = _TYPES[name]
                self._older[name].extend([ev for ev in events if type(ev) in types])

    def _last(self, name: str) -> list[Any]:
        """The last events of list ``name``, in log order."""
        types = _TYPES[name]
        recent = [
            ev
            for events, counts in self._recent
            if name in counts
            for ev in events
            if type(ev) in types
        ]
        wanted = self._wanted(name)
        return [*self._older[name], *recent][-wanted:] if wanted else []

    def tail(self, name: str) -> dict[str, Any]:
        """List ``name`` as sent: its last entries, and how many there were."""
        entries = []
        for ev in self._last(name):
            draw = _LISTED[type(ev)][1]
            assert draw is not None
            entries.append(draw(ev))
        return {"items": entries, "total": self.totals[name]}

    def rounds(self, workspace: Changes | None = None) -> list[dict[str, Any]]:
        """The last ``limit`` code versions, each diffed against the one before it (diffs
        are computed only for the versions sent). A workspace run's version is its change
        set, diffed as the tree before it against the tree after it."""
        versions: list[CodeProduced] = self._last("versions")
        count = self.version_count
        first = count - min(count, self.limit)
        previous: dict[str, str] = {}
        if first:  # the list holds the version before the first one sent
            previous = {f.path: f.content for f in versions.pop(0).code.files}
        steps = _tree_steps(workspace, versions) if workspace else {}
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
    workspace: Changes, versions: list[CodeProduced]
) -> dict[int, tuple[dict[str, str], dict[str, str]]]:
    """For each of ``versions`` (the last code versions, in log order) that carries a
    change set, the text of the paths it changed before and after it, from the recorded
    base with every change set applied in order. The change sets are those of every code
    version in log order (the fold's), so the last ones are those of ``versions``."""
    base, changes, objects = workspace
    sent = [ev.seq for ev in versions if ev.change is not None]
    first = len(changes) - len(sent)
    tree = base_tree(base, objects)
    steps: dict[int, tuple[dict[str, str], dict[str, str]]] = {}
    for n, (_, change) in enumerate(changes):
        after = tree.apply(change)
        if n >= first:
            touched = {
                p
                for p in tree.entries.keys() | after.entries.keys()
                if tree.entries.get(p) != after.entries.get(p)
            }
            steps[sent[n - first]] = (
                {p: tree.text(p) for p in touched if p in tree.entries},
                {p: after.text(p) for p in touched if p in after.entries},
            )
        tree = after
    return steps


def _against(workspace: bool, *, first_version: bool) -> str:
    if workspace:
        return "the tree before this change"
    return "nothing (first version)" if first_version else "previous round"
