"""The three agents as pykka actors: each reads the state it is handed and answers with events.

Agents never talk to each other and never write the log: the supervisor sends a
:class:`StepWork` (the fold of the log so far plus which attempt to make) and appends
whatever events the agent answers, after checking they fit the order. An agent that
raises is replaced by the supervisor.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pykka

from actors.attempt import Attempt, StepWork, failure, keep_request
from actors.commit_point import pay
from actors.models import (
    Model,
    ModelError,
    ModelRequest,
    build_request,
    parse_artifact,
)
from actors.testrun import run_workspace_tests
from actors.workspace.agent import perform_in_workspace
from events import (
    CodeChange,
    CodeProduced,
    Event,
    Plan,
    PlanProduced,
    Review,
    ReviewProduced,
    Step,
    TestsRan,
)
from store import UnsafePath
from store.paths import PathGuard

__all__ = [
    "AGENTS",
    "Agent",
    "AgentPool",
    "Assignment",
    "CoderActor",
    "PlannerActor",
    "ReviewerActor",
    "StepWork",
    "failure",
    "keep_request",
]


@dataclass(frozen=True)
class Assignment:
    """An attempt and the model to make it with: agents are shared by workflows and models."""

    work: StepWork
    model: Model


class Agent(pykka.ThreadingActor, ABC):
    """Shared behaviour: build the request, call the model, validate, answer with events."""

    use_daemon_thread = True  # a call hung past its timeout must not keep the process alive
    step: ClassVar[Step]
    name: ClassVar[str]
    kind: ClassVar[type[Plan] | type[CodeChange] | type[Review]]

    def __init__(self, model: Model | None = None) -> None:
        super().__init__()
        self.model: Model = model  # type: ignore[assignment]  # set by each Assignment

    def on_receive(self, message: object) -> list[Event]:
        """``ask(Assignment)`` (or ``ask(StepWork)`` with its own model) performs it."""
        if isinstance(message, Assignment):
            self.model = message.model  # one message at a time: safe to switch
            return self.perform(message.work)
        if not isinstance(message, StepWork):
            raise TypeError(f"an agent takes StepWork, not {type(message).__name__}")
        return self.perform(message)

    def perform(self, work: StepWork) -> list[Event]:
        """Make the attempt ``work`` describes; failures come back as ``StepFailed``."""
        attempt = Attempt(work, self.model, self.name)
        if work.state.workspace is not None:  # a run on an existing repository
            return perform_in_workspace(attempt)
        if work.requests_to:
            pay(work.requests_to)  # durable before the evidence (a test run) is gathered
        evidence = self.evidence(work, attempt.answer)
        try:
            response = attempt.ask(self.request(work, evidence))
        except ModelError as err:
            return attempt.failed(err.kind, err.message, err.retryable, err.retry_after)
        try:
            attempt.answer.append(self.produced(parse_artifact(response, self.kind), work))
        except ModelError as err:
            return attempt.failed(err.kind, err.message, err.retryable)
        except UnsafePath as err:
            return attempt.failed("unsafe_path", str(err), True)
        return attempt.answer

    def evidence(self, work: StepWork, answer: list[Event]) -> TestsRan | None:
        """Extra facts gathered before the call (the Reviewer's test run); none by default."""
        return None

    def request(self, work: StepWork, tests: TestsRan | None) -> ModelRequest:
        made = work.state.artifacts
        return build_request(
            self.step,
            task=work.state.task,
            plan=made.plan,
            code=made.code,
            review=made.review if work.round > 0 or self.step == "review" else None,
            tests=tests,
            model=work.config.model or self.model.name,
            max_tokens=work.config.max_tokens,
        )

    @abstractmethod
    def produced(self, artifact: Any, work: StepWork) -> Event:
        """The event carrying this agent's validated artifact."""


class PlannerActor(Agent):
    """Turns the task into a plan."""

    step = "plan"
    name = "planner"
    kind = Plan

    def produced(self, artifact: Any, work: StepWork) -> Event:
        return PlanProduced(actor=self.name, plan=artifact, attempt=work.attempt)


class CoderActor(Agent):
    """Writes the files the plan calls for; every path must stay inside ``files/``."""

    step = "code"
    name = "coder"
    kind = CodeChange

    def produced(self, artifact: Any, work: StepWork) -> Event:
        guard = _guard(work)
        guard.check_all([change.path for change in artifact.files])
        return CodeProduced(actor=self.name, code=artifact, attempt=work.attempt, round=work.round)


#: The guards of workspaces found absent in runs that write no ``files/`` (a replay's
#: scratch run), by workspace: such a run never makes its root, so the root is looked at
#: once per run, not at every attempt. Bounded: emptied when full.
_ABSENT_ROOTS: dict[str, PathGuard] = {}


def _guard(work: StepWork) -> PathGuard:
    """The guard of one file set under ``work.workspace``: its root resolved once, if it
    exists. A live run writes ``files/`` between sets, so it gets a guard made now; a run
    that writes none reuses the verdict that its (absolute) root does not exist."""
    if work.run_commands or not work.workspace.startswith("/"):
        return PathGuard(work.workspace)
    guard = _ABSENT_ROOTS.get(work.workspace)
    if guard is None:
        guard = PathGuard(work.workspace)
        if guard.absent:
            if len(_ABSENT_ROOTS) >= 64:
                _ABSENT_ROOTS.clear()
            _ABSENT_ROOTS[work.workspace] = guard
    return guard


class ReviewerActor(Agent):
    """Judges the files against the task and plan, with the test run as evidence if asked."""

    step = "review"
    name = "reviewer"
    kind = Review

    def evidence(self, work: StepWork, answer: list[Event]) -> TestsRan | None:
        if not work.config.run_tests or work.state.artifacts.code is None:
            return None
        for ev in work.recorded:
            if isinstance(ev, TestsRan):
                return ev
        if not work.run_commands:  # a replay: the recording has no test run here
            return None
        tests = run_workspace_tests(
            Path(work.workspace),
            timeout=work.config.test_timeout,
            round=work.round,
            policy=work.config.sandbox,
        )
        answer.append(tests)
        return tests

    def produced(self, artifact: Any, work: StepWork) -> Event:
        return ReviewProduced(
            actor=self.name, review=artifact, attempt=work.attempt, round=work.round
        )


class AgentPool:
    """Idle agent actors kept for the next attempts of any workflow and model, thread-safe.

    Starting an actor starts a thread. Agents carry no workflow state (everything comes
    in an :class:`Assignment`), so one process-wide pool (:meth:`shared`) serves every
    supervisor: a supervisor takes an agent for one attempt and gives it back, so busy
    agents never outnumber the driver threads, and at most ``max_idle`` per step wait.
    A crashed or hung agent is never released back: the supervisor stops it.
    """

    _shared: ClassVar[AgentPool | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, max_idle: int = 32) -> None:
        self._max_idle = max_idle
        self._idle: dict[Step, list[pykka.ActorRef[Agent]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> AgentPool:
        """The process's pool, kept for its life."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def acquire(self, step: Step) -> pykka.ActorRef[Agent]:
        """An idle agent for ``step`` (of the class serving it now), or a new one."""
        kind = AGENTS[step]
        with self._lock:
            idle = self._idle.get(step, [])
            while idle:
                ref = idle.pop()
                if ref.actor_class is kind and ref.is_alive():
                    return ref
                ref.stop(block=False)
        return kind.start()

    def release(self, step: Step, ref: pykka.ActorRef[Agent]) -> None:
        """Keep a healthy agent for reuse (or stop it when enough are idle)."""
        with self._lock:
            idle = self._idle.setdefault(step, [])
            if ref.is_alive() and len(idle) < self._max_idle:
                idle.append(ref)
                return
        ref.stop(block=False)

    def close(self) -> None:
        """Stop every idle agent."""
        with self._lock:
            refs = [ref for idle in self._idle.values() for ref in idle]
            self._idle.clear()
        for ref in refs:
            ref.stop(block=False)


#: The agent class serving each step.
AGENTS: dict[Step, type[Agent]] = {
    "plan": PlannerActor,
    "code": CoderActor,
    "review": ReviewerActor,
}
