"""One attempt at a step, for every kind of run: the one place a model is called.

The supervisor hands an agent a :class:`StepWork`; the agent makes an :class:`Attempt`
of it and builds its requests (from the prompts of a plain run or of a workspace run),
and the attempt does the rest: it reuses the answers this attempt recorded before a crash
(each at most once, matched by request digest), else takes one of the process's
model-call slots (``AGENTLOG_MAX_CALLS``, :func:`~actors.drivers.call_slot`; a replay's
recorded answers take none), calls the model, keeps the request in the run's
``objects/`` and records the ``ModelCalled``. A system prompt set for the agent
(``WorkflowConfig.prompts``) replaces the built one. What the attempt gathers is its
:attr:`Attempt.answer`, the events the supervisor appends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from actors.commit_point import pay
from actors.drivers import call_slot
from actors.logs import get_logger
from actors.models import (
    ModelError,
    ModelRequest,
    ModelResponse,
    ReplayModel,
    encoded_request,
    model_called_event,
    record_request,
    request_digest,
    response_from_event,
    scrubbed,
)
from actors.secrets import holds_env_secret
from events import Event, ModelCalled, Step, StepFailed, ToolResulted, WorkflowConfig
from store import WorkflowState

if TYPE_CHECKING:
    from actors.models import Model

__all__ = ["AGENT_NAMES", "Attempt", "StepWork", "failure", "keep_request"]

log = get_logger("agentlog.agents")

#: The agent making each step: the names ``WorkflowConfig.prompts`` is keyed by.
AGENT_NAMES: dict[Step, str] = {"plan": "planner", "code": "coder", "review": "reviewer"}


class StepWork(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt at a step, as the supervisor hands it to an agent.

    ``state`` is the fold of the log so far (the agent's only input: task in force,
    latest artifacts); ``recorded`` is what this attempt already recorded before a crash
    (or, in a replay, the recorded test run) to reuse.
    """

    step: Step
    attempt: int
    round: int
    timeout: float
    state: WorkflowState = WorkflowState()
    recorded: tuple[Event, ...] = ()
    workspace: str = "files"
    config: WorkflowConfig = WorkflowConfig()
    #: The run directory whose ``objects/`` keeps each request answered ("" keeps none).
    requests_to: str = ""
    #: False in a replay: only recorded test runs are reused, no command ever runs, and
    #: nothing is written to ``files/`` (the Coder's guard looks at its root once).
    run_commands: bool = True
    #: A replay's recorded results of an agent loop's tool calls, by call id.
    served: dict[str, ToolResulted] = {}
    #: The seq of the log's last event when this process took the run up (0: it began
    #: it): what came before was recorded by a process that stopped.
    resumed_at: int = 0


def failure(
    work: StepWork,
    kind: str,
    message: str,
    retryable: bool,
    *,
    actor: str = "supervisor",
    retry_after: float | None = None,
) -> StepFailed:
    """The ``StepFailed`` ending the attempt ``work`` describes."""
    return StepFailed(
        actor=actor,
        step=work.step,
        attempt=work.attempt,
        round=work.round,
        error_kind=kind,
        message=message,
        retryable=retryable,
        retry_after_s=retry_after,
    )


def keep_request(work: StepWork, request: ModelRequest) -> None:
    """Keep ``request`` durably in the run's objects before the event naming it is answered."""
    if work.requests_to:
        record_request(work.requests_to, request)


def _recorded_digest(request: ModelRequest, model: Model) -> str | None:
    """The digest of ``request`` when it is, byte for byte, the request a replay's
    recording answers next, and so needs no scrub; else None. A request is scrubbed
    *before* it is digested (see :meth:`Attempt._scrubbed`), so the recorded digest names
    scrubbed bytes, and the same digest means the same bytes, which held no token the
    recording's scrubber knew. This environment's secrets are searched for still (one the
    recording's machine did not have is masked, and the replay reports the changed request
    as before), in the bytes just hashed: they hold every string of the request, as any
    encoding of it does.
    """
    if not isinstance(model, ReplayModel):
        return None
    expected = model.next_digest(request.step)
    if expected is None:
        return None
    data, digest = encoded_request(request)  # encoded once: hashed, then searched
    return digest if digest == expected and not holds_env_secret(data) else None


class Attempt:
    """One attempt's bookkeeping: its answer so far and the recorded calls left to reuse.

    ``actor`` names the agent in the events; ``model`` answers what the recording does not.
    """

    __slots__ = ("_last", "actor", "answer", "model", "unused", "work")

    def __init__(self, work: StepWork, model: Model, actor: str) -> None:
        self.work = work
        self.model = model
        self.actor = actor
        self.answer: list[Event] = []
        #: What this attempt recorded before a crash: answers reused at most once each.
        recorded = work.recorded
        self.unused = [ev for ev in recorded if isinstance(ev, ModelCalled)] if recorded else []
        self._last: tuple[ModelRequest, ModelRequest, str] | None = None

    def _scrubbed(self, request: ModelRequest) -> tuple[ModelRequest, str]:
        """``request`` as sent (scrubbed) and its digest, kept for the same request asked
        next (``holds`` then ``ask``: a loop's long requests are scrubbed once)."""
        if self._last is not None and self._last[0] is request:
            return self._last[1], self._last[2]
        prompt = self.work.config.prompts.get(AGENT_NAMES[self.work.step])
        asked = request if prompt is None else msgspec.structs.replace(request, system=prompt)
        digest = _recorded_digest(asked, self.model)
        if digest is None:  # not the recorded request: scrubbed, then hashed
            sent = scrubbed(asked)
            digest = request_digest(sent)
        else:
            sent = asked
        self._last = (request, sent, digest)
        return sent, digest

    def holds(self, request: ModelRequest) -> bool:
        """Whether this attempt recorded an answer to ``request`` (asking costs nothing)."""
        digest = self._scrubbed(request)[1]
        return any(ev.request_digest == digest for ev in self.unused)

    def ask(self, request: ModelRequest) -> ModelResponse:
        """The recorded answer to this exact request, else a call (recorded); a failed call
        raises :class:`ModelError` after recording the answer it carried, if any."""
        request, digest = self._scrubbed(request)
        unused = self.unused
        if unused:  # what this attempt recorded before a crash
            for i, ev in enumerate(unused):
                if ev.request_digest == digest:
                    del unused[i]
                    return response_from_event(ev)
            seqs = [ev.seq for ev in self.unused]
            log.warning("recorded call differs from the request; calling again", seqs=seqs)
        work = self.work
        timeout, keeps = work.timeout, work.requests_to
        if keeps:  # kept before the call: synced with what it waits on
            record_request(keeps, request)
            pay(keeps)
        # AGENTLOG_MAX_CALLS bounds calls in flight to a model; a replay's answers are read
        # from its log, so it takes no slot (and waits for none a live run holds).
        if isinstance(self.model, ReplayModel):
            response = self._call(request, timeout)
        else:
            with call_slot(timeout) as held:
                if not held:
                    message = f"no model-call slot freed within {timeout:g} s (AGENTLOG_MAX_CALLS)"
                    raise ModelError(message, kind="rate_limit")
                response = self._call(request, timeout)
        self.answer.append(self._called(request, response))
        return response

    def _call(self, request: ModelRequest, timeout: float) -> ModelResponse:
        """The model's answer; a failed call's answer, if it carried one, is recorded."""
        try:
            return self.model.call(request, timeout=timeout)
        except ModelError as err:
            if err.response is not None:
                self.answer.append(self._called(request, err.response))
            raise

    def _called(self, request: ModelRequest, response: ModelResponse) -> ModelCalled:
        work = self.work
        return model_called_event(
            request, response, attempt=work.attempt, round=work.round, actor=self.actor
        )

    def failed(
        self, kind: str, message: str, retryable: bool, retry_after: float | None = None
    ) -> list[Event]:
        """The answer so far, ended by the ``StepFailed`` saying why."""
        ended = failure(
            self.work, kind, message, retryable, actor=self.actor, retry_after=retry_after
        )
        return [*self.answer, ended]
