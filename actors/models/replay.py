"""A model that answers from a recorded log, for ``agentlog replay``: no network, no key.

Each step's recorded ``ModelCalled`` events are served in log order (their ``round`` and
``attempt`` follow that order, as the supervisor replays attempts in sequence). Every
incoming request must hash to the recorded ``request_digest``; otherwise, or when the log
has no call left for the step, :class:`NonDeterminism` is raised; it says what differs
from the recorded request when the recorded run kept it in its objects.

An attempt that failed without a model answer (a timeout, a connection error, a crashed
agent) has no ``ModelCalled`` to serve. The supervisor asks :meth:`recorded_failure`
before calling the model and, when it gets a ``StepFailed``, re-raises that failure
instead of calling, so the replayed attempt fails the same way. Attempts that failed
after an answer (invalid output, max_tokens) need nothing special: the recorded answer
fails validation again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

import msgspec

from actors.models.base import (
    ModelRequest,
    ModelResponse,
    request_bytes,
    request_digest,
    response_from_event,
)
from actors.models.errors import NonDeterminism
from actors.models.recorded import load_request, request_difference
from events import Event, ModelCalled, Step, StepFailed, UnknownEvent, WorkflowStarted
from store.objects import ObjectProblem, ObjectStore

__all__ = ["ReplayModel"]

_AttemptKey = tuple[str, int, int]


class ReplayModel:
    """A :class:`~actors.models.base.Model` serving a log's recorded answers; thread-safe.

    ``name`` is the model the log recorded (its first call's, else its config's).
    ``objects`` is the recorded run's object store (read only), where its requests are.
    """

    def __init__(
        self, events: Iterable[Event | UnknownEvent], *, objects: ObjectStore | None = None
    ) -> None:
        self._objects = objects
        self._calls: dict[str, deque[ModelCalled]] = {}
        self._answered: set[_AttemptKey] = set()
        self._failures: dict[_AttemptKey, StepFailed] = {}
        configured = ""
        for event in events:
            if isinstance(event, ModelCalled):
                self._calls.setdefault(event.step, deque()).append(event)
                self._answered.add((event.step, event.round, event.attempt))
            elif isinstance(event, StepFailed):
                self._failures.setdefault((event.step, event.round, event.attempt), event)
            elif isinstance(event, WorkflowStarted):
                configured = event.config.model
        first = next((q[0] for q in self._calls.values() if q), None)
        self.name: str = first.model if first is not None else (configured or "replay")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReplayModel(name={self.name!r}, remaining={self.remaining()})"

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        """The next recorded answer for ``request.step``, if the request is the recorded one."""
        actual = request_digest(request)
        with self._lock:
            queue = self._calls.get(request.step)
            if not queue:
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
            recorded = queue.popleft()
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
        key = (step, round, attempt)
        if key in self._answered:
            return None
        return self._failures.get(key)

    def remaining(self, step: Step | None = None) -> int:
        """How many recorded calls (of ``step``, or of all steps) were not served yet."""
        with self._lock:
            if step is not None:
                return len(self._calls.get(step, ()))
            return sum(len(q) for q in self._calls.values())
