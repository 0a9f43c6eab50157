"""Deterministic replay: re-run a recorded workflow against its own answers, offline.

The agents run again in a scratch directory with a :class:`~actors.models.ReplayModel`
serving the recorded ``ModelCalled`` responses (no network), and the events that come
out are compared with the recorded ones, ignoring ``id`` and ``ts``. A fork (or a fork
of a fork) replays only its own events: everything up to its last ``Forked`` marker
was made by its sources and is copied, byte for byte. What a person added (a
``RetryRequested``, an approval decision, a review requesting changes) is appended again
where it was recorded, as the recorded run got it, without asking anyone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors.drivers import drivers
from actors.models import NonDeterminism, ReplayModel
from actors.recording import PersonScript, Recording
from actors.replay_check import count_lines, first_difference, first_line_difference
from actors.sandbox import sandbox_change
from actors.supervisor_actor import SupervisorActor, SupervisorOptions
from events import (
    PERSON_EVENTS,
    CodeProduced,
    Diverged,
    Event,
    Forked,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    Step,
    StepFailed,
    StepStarted,
    TestsRan,
    ToolResulted,
    UnknownEvent,
    UsageError,
)
from store import LOG_NAME, EventLog, WorkflowFold, WorkflowState
from store.cursor import KEEP_BUDGET, EventCursor
from store.objects import ObjectStore, share_objects

__all__ = [
    "RecordedRun",
    "ReplayReport",
    "Replayer",
    "first_difference",
    "read_recording",
    "replay",
]

AnyEvent = Event | UnknownEvent


class ReplayReport(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict of a replay: ``ok``, or the first event that came out differently."""

    ok: bool
    recorded: int
    replayed: int
    seq: int | None = None
    step: str | None = None
    detail: str = ""
    finished: bool = True
    #: How the recorded tests' sandbox differs from this machine's ("" when it does not).
    sandbox: str = ""
    #: What differs between the recorded request and the replay's (several lines; "" when
    #: the requests agree or the recorded one was not kept).
    request_diff: str = ""

    @property
    def verdict(self) -> str:
        """One line for a terminal."""
        if self.ok:
            tail = "" if self.finished else " (the recorded run had not finished)"
            tail += f" (recorded test results served: {self.sandbox})" if self.sandbox else ""
            return f"replay ok: {self.replayed} events identical, no network{tail}"
        where = f"seq {self.seq}" if self.seq is not None else "the end"
        return f"NonDeterminism at {where} (step {self.step or '-'}): {self.detail}"


class _Evidence:
    """The recorded test runs, served to the replayed Reviewer instead of running tests.

    Only where each run is (its seq) is kept; the run is read from ``cursor`` when served.
    """

    def __init__(self, cursor: EventCursor) -> None:
        self._cursor = cursor
        self._runs: dict[tuple[int, int], int] = {}
        #: The Reviewer's attempt under way in the log (its test runs belong to it).
        self.attempt = 0
        #: One recorded run per sandbox it ran under, for :func:`sandbox_change`.
        self.sandboxes: dict[tuple[str, str], TestsRan] = {}

    def add(self, ev: AnyEvent) -> None:
        """Index the next recorded event (in log order)."""
        if getattr(ev, "step", None) == "review" and hasattr(ev, "attempt"):
            self.attempt = ev.attempt
        if isinstance(ev, TestsRan):
            self._runs[(ev.round, self.attempt)] = ev.seq
            self.sandboxes.setdefault((ev.sandbox, ev.sandbox_version), ev)
        elif isinstance(ev, Forked):
            self._runs.clear()
            self.sandboxes.clear()

    def __call__(self, step: Step, round_: int, attempt_: int) -> tuple[Event, ...]:
        seq = self._runs.get((round_, attempt_)) if step == "review" else None
        if seq is None:
            return ()
        found = self._cursor.at(seq)
        return (_bare(found),) if isinstance(found, TestsRan) else ()


class _Commands:
    """The recorded results of an agent loop's tool calls, served to the replayed loop
    instead of making them again (no command runs), by attempt and call id."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, int, int], dict[str, ToolResulted]] = {}

    def add(self, ev: AnyEvent) -> None:
        """Index the next recorded event (in log order)."""
        if isinstance(ev, ToolResulted):
            key = (ev.step, ev.round, ev.attempt)
            self.results.setdefault(key, {})[ev.call_id] = ev
        elif isinstance(ev, Forked):
            self.results.clear()

    def digests(self) -> Iterator[str]:
        """The objects the served results name (their edits' bytes, their whole output)."""
        for results in self.results.values():
            for ev in results.values():
                yield from (e.hash for e in ev.edits if e.op == "write")
                if ev.output_digest:
                    yield ev.output_digest

    def __call__(self, step: Step, round_: int, attempt_: int) -> dict[str, ToolResulted]:
        return self.results.get((step, round_, attempt_), {})


def _bare(event: Event) -> Event:
    return msgspec.structs.replace(event, seq=0, id="", ts="")


def copy_lines(source: Path, dest: Path, count: int) -> None:
    """Copy the first ``count`` lines of ``source`` to a new ``dest``, byte for byte."""
    with open(source, "rb") as src, open(dest, "xb") as dst:
        for _ in range(count):
            dst.write(src.readline())
        dst.flush()
        os.fsync(dst.fileno())


class Replayer:
    """Re-runs recorded workflows against their own answers, offline, and judges them.

    The replay-only parts live here, not in the supervisor: the recording (the answers
    served, handed to the supervisor as one :class:`~actors.recording.Recording`), the
    scratch run, and the verdict. The scratch run is driven as a live run is, on the
    process's driver pool; its agents work in the driver's thread (``Recording.inline``).
    """

    def replay(
        self, run_dir: str | Path, *, progress: Callable[[int, int], None] | None = None
    ) -> ReplayReport:
        """Re-run a recorded workflow against its own answers and compare the events.

        ``progress`` is called with the recorded model calls served so far and their number.
        """
        log = EventLog(run_dir)
        with EventCursor(log) as cursor:
            return self._replay(log, cursor, progress)

    def _replay(
        self, log: EventLog, cursor: EventCursor, progress: Callable[[int, int], None] | None
    ) -> ReplayReport:
        model = ReplayModel(objects=ObjectStore(log.path.parent), cursor=cursor, on_served=progress)
        recorded = read_recording(log, cursor, model)
        state = recorded.state
        scratch = Path(tempfile.mkdtemp(prefix="agentlog-replay-"))
        try:
            copy_lines(log.path, scratch / LOG_NAME, max(1, state.own_from_seq - 1))
            # The scratch run reads its workspace's base from its own store: a copy of just
            # those objects, each checked against its name (the recorded requests are read
            # from the recording's store by the model).
            base = state.workspace.files if state.workspace is not None else ()
            share_objects(log.path.parent, scratch, digests=(f.hash for f in base), durable=False)
            share_objects(
                log.path.parent, scratch, digests=recorded.commands.digests(), durable=False
            )
            error, same_through = _run_scratch(scratch, model, recorded.recording)
            report = _verdict(
                log, EventLog(scratch), state.ended, state.last_seq, error, same_through
            )
            if report.ok:  # served recorded test results: say if they came from another sandbox
                change = sandbox_change(recorded.evidence.sandboxes.values())
                report = msgspec.structs.replace(report, sandbox=change)
            return report
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def replay(
    run_dir: str | Path, *, progress: Callable[[int, int], None] | None = None
) -> ReplayReport:
    """``Replayer().replay(run_dir)``: re-run a recorded workflow and compare the events."""
    return Replayer().replay(run_dir, progress=progress)


@dataclass(frozen=True)
class RecordedRun:
    """A recorded log, read once: its state and what a re-run of it is served."""

    state: WorkflowState
    recording: Recording
    evidence: _Evidence
    commands: _Commands


def read_recording(
    log: EventLog,
    cursor: EventCursor,
    model: ReplayModel,
    *,
    scratch: bool = True,
    keep: int = KEEP_BUDGET,
) -> RecordedRun:
    """Fold ``log`` and index what a re-run is served, into ``model`` and a Recording.

    One pass, through ``cursor``: the answers it keeps as it reads (up to ``keep`` bytes
    of their lines, shared with the other events an attempt makes when ``scratch``) are
    served without being read or decoded again, and an event made again equal to its kept
    recorded one is written as its line without being encoded (``Recording.seen``); of
    the others only where each is is kept (it is read again through ``cursor`` when
    served), so memory stays flat. Only answers recorded after the copied prefix (through
    the last Forked) are served: a fork's copied calls were made by its sources and must
    not answer its own requests.
    """
    evidence = _Evidence(cursor)
    commands = _Commands()
    decisions: set[int] = set()
    by_person: tuple[type, ...] = (*PERSON_EVENTS, Diverged)  # made by no agent

    def indexed() -> Iterator[AnyEvent]:
        # The common events (a step's start, its calls, its artifacts) only pass through
        # the model's index and tell the evidence which Reviewer's attempt is under way;
        # the others are looked at by every index.
        model_add, evidence_add, commands_add = model.add, evidence.add, commands.add
        agents_own = _AGENTS_OWN
        # The events an attempt makes again (its start, its answers, its artifact or
        # failure) are kept as read, within the cursor's budget, but for those made before
        # the last Forked (its sources', never made again): an answer is served kept, and
        # the scratch writer writes a made event equal to the kept one as its line.
        # Without a scratch log nothing is written like the recording: answers only.
        kept = agents_own if scratch else ModelCalled
        for ev in cursor.read(kept, reset=Forked, budget=keep):
            model_add(ev)
            if type(ev) in agents_own:
                if ev.step == "review":  # type: ignore[union-attr]
                    evidence.attempt = ev.attempt  # type: ignore[union-attr]
            else:
                evidence_add(ev)
                commands_add(ev)
                if isinstance(ev, by_person):
                    decisions.add(ev.seq)
                elif isinstance(ev, Forked):
                    decisions.clear()
            yield ev

    state = WorkflowFold().extend(indexed()).snapshot()
    if state.last_seq == 0:
        raise UsageError(f"{log.path.parent}: the log is empty; nothing to replay")
    recording = Recording(
        failures=model.recorded_failure,
        evidence=evidence,
        served=commands,
        person=_recorded_person(log, decisions),
        # An unfinished recording (a killed run) is replayed as far as it went, no further.
        stop_at=None if state.ended else state.last_seq,
        stamps_from=log.path if scratch else None,
        seen=cursor.seen if scratch else None,
        scratch=scratch,
        inline=scratch,
    )
    return RecordedRun(state=state, recording=recording, evidence=evidence, commands=commands)


#: The events an attempt makes (kept as read, to be written again as their lines): only
#: the model's index looks at them, besides the Reviewer's, which tell the evidence which
#: attempt is running (none is a person's event, a ``Forked``, a ``TestsRan`` or a
#: ``ToolResulted``).
_AGENTS_OWN: frozenset[type[Event]] = frozenset(
    {StepStarted, ModelCalled, PlanProduced, CodeProduced, ReviewProduced, StepFailed}
)


def _recorded_person(recorded: EventLog, decisions: set[int]) -> PersonScript:
    """What a person (or a what-if's divergence) appended at a seq, read when reached."""

    def person(seq: int) -> list[Event]:
        if seq not in decisions:
            return []
        made: list[Event] = []
        events = recorded.read(seq)
        try:
            for ev in events:
                if ev.seq not in decisions or isinstance(ev, UnknownEvent):
                    break
                made.append(ev)
        finally:
            events.close()
        return made

    return person


def _drive(scratch: Path, model: ReplayModel, recording: Recording) -> NonDeterminism | None:
    """Drive the scratch run on a driver thread, as a live run is; a divergence comes back."""
    return _run_scratch(scratch, model, recording)[0]


def _run_scratch(
    scratch: Path, model: ReplayModel, recording: Recording
) -> tuple[NonDeterminism | None, int]:
    """:func:`_drive`, and the seq through which the scratch log is the recorded one, byte
    for byte (its copied lines, then what its writer found the same as it wrote it)."""
    options = SupervisorOptions(sleep=lambda _s: None, recording=recording)
    supervisor = SupervisorActor(scratch, model, options=options)
    copied = supervisor.fold.last_seq
    error: NonDeterminism | None = None
    try:
        drivers().submit(supervisor.run_here).result()
    except NonDeterminism as exc:
        error = exc
    writer = supervisor.writer
    if writer is None or recording.stamps_from is None:  # written without comparing
        return error, copied
    return error, writer.like_through


def _verdict(
    recorded: EventLog,
    replayed: EventLog,
    finished: bool,
    recorded_count: int,
    error: NonDeterminism | None,
    same_through: int = 0,
) -> ReplayReport:
    if error is not None:
        return ReplayReport(
            ok=False,
            recorded=recorded_count,
            replayed=count_lines(replayed.path),
            seq=error.seq,
            step=error.step,
            detail=error.reason,
            request_diff=error.difference,
        )
    # An unfinished recording is checked as a prefix of the replay: the replay goes one
    # answer past the recording's last event when that was a ModelCalled whose artifact
    # was never written.
    diff = first_line_difference(
        recorded.path, replayed.path, recorded_count, finished=finished, same_through=same_through
    )
    if diff is None:
        return ReplayReport(
            ok=True, recorded=recorded_count, replayed=recorded_count, finished=finished
        )
    seq, detail = diff
    step = _step_at(recorded, seq)
    return ReplayReport(
        ok=False,
        recorded=recorded_count,
        replayed=count_lines(replayed.path),
        seq=seq,
        step=step,
        detail=detail,
        finished=finished,
    )


def _step_at(log: EventLog, seq: int) -> str | None:
    event = next(iter(log.read(seq)), None)
    step: str | None = getattr(event, "step", None)
    return step
