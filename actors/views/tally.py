"""A run's summary as it is folded: the run's one fold plus the little a summary shows
beyond it, resumable at a :class:`store.LogMark`.

:class:`RunTally` takes whole blocks of events (``extend``), so the viewer's overview
(which reads the log for its page anyway) and ``agentlog ls`` (which reads only what was
appended since its cache) fold the same way, through the same
:class:`store.WorkflowFold`: one pass of the log serves the page and the summary.
"""

from __future__ import annotations

import os

import msgspec

from events import CorruptLine, Event, Forked, ModelCalled, UnknownEvent, Usage, WorkflowStarted
from store import LogMark, WorkflowFold, WorkflowState
from store.marks import blocks_from

__all__ = ["ForkRef", "RunTally", "Shown", "TallyState"]

AnyEvent = Event | UnknownEvent
#: The events a run's start is taken from.
_STARTS = frozenset({WorkflowStarted, Forked})


class ForkRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where a forked run came from (its ``Forked`` event)."""

    source: str
    source_workflow_id: str
    at_seq: int
    #: A what-if of its source (``agentlog replay RUN --as NEW``), not a plain fork.
    what_if: bool = False


class Shown(msgspec.Struct, kw_only=True):
    """What a summary shows from the fold's snapshot (kept so an unchanged run's listing
    does not load the fold)."""

    workflow_id: str
    status: str
    verdict: str | None
    task: str
    forked_from: ForkRef | None
    error: str | None


class TallyState(msgspec.Struct, kw_only=True):
    """What a summary keeps besides the fold: where it stopped, what it shows of the fold,
    the event count, the start and last timestamps, usage by model, a damaged line."""

    mark: LogMark = LogMark()
    shown: Shown | None = None
    events: int = 0
    started: str | None = None
    last_ts: str | None = None
    usage: dict[str, Usage] = {}
    damaged_line: int | None = None


class RunTally:
    """A run's summary so far: :attr:`state` and the fold, kept dumped (``fold_bytes``)
    until there is something to fold into it (an unchanged run never decodes it)."""

    __slots__ = ("_fold", "fold_bytes", "state")

    def __init__(self, state: TallyState | None = None, fold: bytes = b"") -> None:
        self.state = state or TallyState()
        self.fold_bytes = fold
        self._fold: WorkflowFold | None = None

    @property
    def fold(self) -> WorkflowFold:
        """The run's fold as of :attr:`state`'s mark; ``ValueError`` when the dumped one
        is not a fold."""
        if self._fold is None:
            blank = self.state.mark.offset == 0
            self._fold = WorkflowFold() if blank else WorkflowFold.load(self.fold_bytes)
        return self._fold

    def extend(self, events: list[AnyEvent], mark: LogMark | None, *, usage: bool = True) -> None:
        """Fold a block of events in log order; ``mark`` is the log's mark past it.

        ``usage=False`` leaves :attr:`TallyState.usage` to the caller, which sums it from
        the same events itself (the overview's step figures:
        :meth:`store.projections.StepTally.usage_by_model`).
        """
        if not events:
            return
        state = self.state
        self.fold.extend(events)
        state.events += len(events)
        if usage:
            by_model = state.usage
            for ev in events:
                if type(ev) is ModelCalled:
                    total = by_model.get(ev.model)
                    by_model[ev.model] = ev.usage if total is None else total + ev.usage
        if not _STARTS.isdisjoint(map(type, events)):
            for ev in events:
                if type(ev) is WorkflowStarted:
                    state.started = state.started or ev.ts
                elif type(ev) is Forked:
                    state.started = ev.ts or state.started  # a fork starts when it is forked
        for ev in reversed(events):
            if ev.ts:
                state.last_ts = ev.ts
                break
        if mark is not None:
            state.mark = mark
        state.shown = None

    def advance(self, log: str) -> bool:
        """Fold what was appended to the log at ``log`` since the mark (the events of each
        read block decoded with one msgspec call); whether anything changed.

        Raises ``StaleMark`` (not this log's mark) or ``ValueError`` (not a fold): start
        again from a blank tally; ``OSError`` when the log cannot be opened.
        """
        state = self.state
        changed = state.damaged_line is not None
        state.damaged_line = None  # read the damaged line again: it may have been mended
        fd = os.open(log, os.O_RDONLY | os.O_CLOEXEC)
        try:
            for mark, events in blocks_from(fd, state.mark):
                self.extend(events, mark)
                changed = True
        except CorruptLine:  # a damaged line: what came before it is the summary
            state.damaged_line = state.events + 1
            changed = True
        finally:
            os.close(fd)
        return self.settle() or changed

    def settle(self) -> bool:
        """Make :attr:`state` show the fold (after :meth:`extend`); whether it changed."""
        if self.state.shown is not None:
            return False
        self.state.shown = shown(self.fold.snapshot())
        return True

    def dump(self) -> bytes:
        """The fold as :meth:`store.WorkflowFold.dump` writes it (what a cache keeps)."""
        return self.fold_bytes if self._fold is None else self._fold.dump()


def shown(state: WorkflowState) -> Shown:
    """What a summary shows of the fold's state."""
    origin = state.forked_from
    return Shown(
        workflow_id=state.workflow_id,
        status=state.status,
        verdict=state.verdict,
        task=state.task,
        forked_from=None
        if origin is None
        else ForkRef(
            source=origin.source,
            source_workflow_id=origin.source_workflow_id,
            at_seq=origin.at_seq,
            what_if=origin.what_if,
        ),
        error=_error(state),
    )


def _error(state: WorkflowState) -> str | None:
    """The last failure the run has not recovered from: the workflow's own when it failed,
    else that of a step still failed (or retrying) in the current round."""
    if state.status == "completed":
        return None
    if state.status == "failed":
        err = state.last_error
    else:
        failed = [
            st.error
            for st in state.steps.values()
            if st.error is not None and st.status in ("failed", "running")
        ]
        err = max(failed, key=lambda e: e.seq) if failed else None
    if err is None:
        return None
    return f"{err.step or 'workflow'}: {err.kind}: {err.message}"
