"""A model that answers from a recorded log, for ``agentlog replay``: no network, no key.

Each step's recorded ``ModelCalled`` events are served in log order (their ``round`` and
``attempt`` follow that order, as the supervisor replays attempts in sequence). Every
incoming request must hash to the recorded ``request_digest``; otherwise, or when the log
has no call left for the step, :class:`NonDeterminism` is raised; it says what differs
from the recorded request when the recorded run kept it in its objects.

An attempt that failed without a model answer (a timeout, a connection error, a crashed
agent) has no ``ModelCalled`` to serve. When the attempt recorded nothing before its
``StepFailed``, the supervisor asks :meth:`recorded_failure` before calling the agent and,
when it gets a ``StepFailed``, re-raises that failure instead, so the replayed attempt
fails the same way. When the attempt recorded work before the failed call (a workspace
run's ``ContextPacked`` or ``FilesRequested``, the Reviewer's ``TestsRan``), the agent
runs again and the failure is served in the call's place, in log order: the call raises
the recorded error, and the agent records it as it did. Attempts that failed after an
answer (invalid output, max_tokens) need nothing special: the recorded answer fails
validation again.
"""

from __future__ import annotations

import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import msgspec

from actors.models.base import (
    ModelRequest,
    ModelResponse,
    request_bytes,
    request_digest,
    response_from_event,
)
from actors.models.errors import ERROR_KINDS, ErrorKind, ModelError, NonDeterminism
from actors.models.recorded import load_request, request_difference
from events import (
    ContextPacked,
    Event,
    FilesRequested,
    Forked,
    ModelCalled,
    Step,
    StepFailed,
    StepStarted,
    TestsRan,
    UnknownEvent,
    WorkflowStarted,
)
from store.cursor import EventCursor
from store.errors import LogError
from store.objects import ObjectProblem, ObjectStore

__all__ = ["ReplayModel"]

_AttemptKey = tuple[str, int, int]
_T = TypeVar("_T", ModelCalled, StepFailed)
#: A recorded answer, or a call's recorded failure: the event itself, or its seq when it
#: is read from a cursor (negative for a failure).
_Entry = ModelCalled | StepFailed | int


class _Queue:
    """One step's recorded answers (and failed calls), served in log order: the events
    themselves, or only their seqs (8 bytes each, in an ``array``; a failure's negated)
    when answers are read from a cursor."""

    __slots__ = ("_events", "_next", "_seqs")

    def __init__(self, seqs_only: bool) -> None:
        self._events: deque[ModelCalled | StepFailed] = deque()
        self._seqs: array[int] | None = array("q") if seqs_only else None
        self._next = 0  # the next seq to serve

    def append(self, event: ModelCalled | StepFailed) -> None:
        seqs = self._seqs
        if seqs is None:
            self._events.append(event)
        elif type(event) is ModelCalled:
            seqs.append(event.seq)
        else:
            seqs.append(-event.seq)  # a failed call

    def popleft(self) -> _Entry | None:
        """The next entry, taken (None when the queue is empty)."""
        seqs = self._seqs
        if seqs is None:
            return self._events.popleft() if self._events else None
        if self._next >= len(seqs):
            return None
        seq = seqs[self._next]
        self._next += 1
        return seq

    def peek(self) -> _Entry | None:
        """The entry :meth:`popleft` returns next (None when the queue is empty)."""
        seqs = self._seqs
        if seqs is None:
            return self._events[0] if self._events else None
        return seqs[self._next] if self._next < len(seqs) else None

    def __len__(self) -> int:
        return len(self._events) if self._seqs is None else len(self._seqs) - self._next


class ReplayModel:
    """A :class:`~actors.models.base.Model` serving a log's recorded answers; thread-safe.

    ``name`` is the model the log recorded (its first call's, else its config's).
    ``objects`` is the recorded run's object store (read only), where its requests are.
    Events are indexed in log order, from ``events`` and then :meth:`add`; calls copied
    from a fork's sources (before its last ``Forked``) are not served. With ``cursor``
    the model keeps only each answer's seq and reads the answer from the recorded log
    when serving it, so its memory does not grow with the recording. ``on_served`` is
    called with the calls served so far and the calls recorded (a replay's progress).
    """

    def __init__(
        self,
        events: Iterable[Event | UnknownEvent] = (),
        *,
        objects: ObjectStore | None = None,
        cursor: EventCursor | None = None,
        on_served: Callable[[int, int], None] | None = None,
    ) -> None:
        self._objects = objects
        self._cursor = cursor
        self._on_served = on_served
        self.served = 0
        self.recorded = 0
        self._calls: dict[str, _Queue] = {}
        self._failures: dict[_AttemptKey, StepFailed | int] = {}
        self._last_answered: _AttemptKey | None = None
        self._started: _AttemptKey | None = None  # the attempt under way in the log
        self._worked: _AttemptKey | None = None  # its last event: ContextPacked ...
        self._configured = ""
        self._lock = threading.Lock()
        self.name: str = "replay"
        self._named = False  # by a served call (else by the config)
        #: The answer :meth:`next_digest` read last, by seq: the call serving it reuses it.
        self._peeked: tuple[int, ModelCalled] | None = None
        for event in events:
            self.add(event)

    def __repr__(self) -> str:
        return f"ReplayModel(name={self.name!r}, remaining={self.remaining()})"

    def add(self, event: Event | UnknownEvent) -> None:
        """Index the next recorded event (in log order); an event of a type not indexed
        (an artifact's, a person's) costs one dictionary lookup."""
        index = _INDEX.get(type(event))
        if index is not None:
            index(self, event)

    def _add_call(self, event: ModelCalled) -> None:
        key = (event.step, event.round, event.attempt)
        queue = self._calls.get(event.step) or self._queue(event.step)
        queue.append(event)
        self.recorded += 1
        if not self._named:
            self.name, self._named = event.model, True
        self._last_answered = key
        self._worked = None
        if self._failures:
            self._failures.pop(key, None)

    def _add_work(self, event: Event) -> None:
        self._worked = self._started  # the attempt's own work before a call

    def _add_start(self, event: StepStarted) -> None:
        self._started = (event.step, event.round, event.attempt)
        self._worked = None

    def _add_failure(self, event: StepFailed) -> None:
        key = (event.step, event.round, event.attempt)
        if key == self._worked and event.error_kind in ERROR_KINDS:
            # a call that failed without an answer, after the attempt's own work
            self._queue(event.step).append(event)
        elif key != self._last_answered:  # an attempt that failed before any answer
            self._failures.setdefault(key, event.seq if self._cursor is not None else event)
        self._worked = None

    def _add_workflow(self, event: WorkflowStarted) -> None:
        self._configured = event.config.model
        if not self._named:
            self.name = self._configured or "replay"

    def _add_fork(self, event: Forked) -> None:
        self._calls.clear()
        self.recorded = 0
        self._failures.clear()
        self._last_answered = self._started = self._worked = None
        self._named = False

    def _queue(self, step: str) -> _Queue:
        queue = self._calls.get(step)
        if queue is None:
            queue = self._calls[step] = _Queue(seqs_only=self._cursor is not None)
        return queue

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        """The next recorded answer for ``request.step``, if the request is the recorded one."""
        actual = request_digest(request)
        with self._lock:
            queue = self._calls.get(request.step)
            entry = None if queue is None else queue.popleft()
            if entry is None:
                raise NonDeterminism(
                    step=request.step,
                    seq=None,
                    expected=None,
                    actual=actual,
                    reason=(
                        "the replay asked the model once more than the recorded run did "
                        f"(request digest {actual[:12]})"
                    ),
                )
            failed = isinstance(entry, StepFailed) or (isinstance(entry, int) and entry < 0)
            if not failed:
                self.served += 1
            served = self.served
        if failed:
            raise self._failure(self._load(-entry if isinstance(entry, int) else entry, StepFailed))
        if self._on_served is not None:
            self._on_served(served, self.recorded)
        recorded = self._load(entry, ModelCalled)
        if recorded.request_digest != actual:
            raise NonDeterminism(
                step=request.step,
                seq=recorded.seq,
                expected=recorded.request_digest,
                actual=actual,
                reason=(
                    f"the request digest differs (recorded {recorded.request_digest[:12]}, "
                    f"now {actual[:12]}): the prompt, its inputs or the model changed since "
                    "the run was recorded"
                ),
                difference=self._difference(recorded.request_digest, request),
            )
        return response_from_event(recorded)

    def next_digest(self, step: str) -> str | None:
        """The request digest the next recorded answer for ``step`` was given to (None when
        no answer is next: none left, or a failed call). The answer is read once: the
        call that serves it next does not read it again."""
        with self._lock:
            queue = self._calls.get(step)
            entry = None if queue is None else queue.peek()
        if type(entry) is int and entry > 0:  # a served answer's seq (the usual case)
            peeked = self._peeked
            if peeked is not None and peeked[0] == entry:
                return peeked[1].request_digest
            assert self._cursor is not None
            try:
                event = self._cursor.at(entry)
            except LogError:
                return None  # the call serving it reports the changed log
            if not isinstance(event, ModelCalled):
                return None  # likewise
            self._peeked = (entry, event)
            return event.request_digest
        return entry.request_digest if isinstance(entry, ModelCalled) else None

    @staticmethod
    def _failure(recorded: StepFailed) -> ModelError:
        """The error the recorded failed call raised, as the agent records it again."""
        kind = cast(ErrorKind, recorded.error_kind)
        return ModelError(
            recorded.message,
            kind=kind,
            retryable=recorded.retryable,
            retry_after=recorded.retry_after_s,
        )

    def _load(self, entry: ModelCalled | StepFailed | int, kind: type[_T]) -> _T:
        """The recorded event ``entry`` names (read from the cursor when it is a seq)."""
        event: object = entry
        peeked = self._peeked
        if peeked is not None and peeked[0] == entry and kind is ModelCalled:
            self._peeked = None
            event = peeked[1]
        elif isinstance(entry, int):
            assert self._cursor is not None
            try:
                event = self._cursor.at(entry)
            except LogError as exc:
                event = exc
        if not isinstance(event, kind):
            raise NonDeterminism(
                step=str(getattr(event, "step", "?")),
                seq=entry if isinstance(entry, int) else entry.seq,
                expected=None,
                actual="",
                reason=f"the recorded log changed during the replay (seq {entry}: {event})",
            )
        return event

    def _difference(self, digest: str, request: ModelRequest) -> str:
        """What differs from the recorded request named ``digest`` ("" when it was not kept)."""
        if self._objects is None:
            return ""
        try:
            recorded = load_request(self._objects, digest)
        except ObjectProblem as exc:
            return f"the recorded request cannot be read: {exc.reason}"
        if recorded is None:
            return ""
        return request_difference(recorded, msgspec.json.decode(request_bytes(request)))

    def recorded_failure(self, step: Step, round: int, attempt: int) -> StepFailed | None:
        """The ``StepFailed`` of an attempt that failed without a model answer, else None."""
        entry = self._failures.get((step, round, attempt))
        return None if entry is None else self._load(entry, StepFailed)

    def remaining(self, step: Step | None = None) -> int:
        """How many recorded calls (of ``step``, or of all steps) were not served yet."""
        with self._lock:
            if step is not None:
                queue = self._calls.get(step)
                return len(queue) if queue is not None else 0
            return sum(len(q) for q in self._calls.values())


#: How :meth:`ReplayModel.add` indexes each event type it looks at (the others pass).
_INDEX: dict[type, Callable[[ReplayModel, Any], None]] = {
    ModelCalled: ReplayModel._add_call,
    ContextPacked: ReplayModel._add_work,
    FilesRequested: ReplayModel._add_work,
    TestsRan: ReplayModel._add_work,
    StepStarted: ReplayModel._add_start,
    StepFailed: ReplayModel._add_failure,
    WorkflowStarted: ReplayModel._add_workflow,
    Forked: ReplayModel._add_fork,
}
