"""The supervisor: one pykka actor per workflow, sole writer of its log, keeper of the order.

It asks :func:`~actors.orchestration.next_action` what to do, hands each attempt to the
agent for the step, checks the answer fits the order, appends it durably and materializes
the artifacts. Error boundaries live here: a per-step timeout no hung call can defeat, a
crashed agent replaced, retries with backoff, and a final event on every path the
process survives.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pykka

from actors.agents import AGENTS, Agent, AgentPool, StepWork, failure
from actors.logs import redact_event
from actors.models import Model, NonDeterminism
from actors.orchestration import (
    Complete,
    ContinueAttempt,
    Fail,
    Finished,
    Skip,
    StartAttempt,
    next_action,
)
from events import (
    CodeProduced,
    ContextPacked,
    Event,
    FilesRequested,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    Step,
    StepFailed,
    StepSkipped,
    StepStarted,
    TestsRan,
    UnknownEvent,
    WorkflowCompleted,
    WorkflowConfig,
    WorkflowFailed,
    WorkflowStarted,
)
from store import EventLog, LogWriter
from store._logging import get_logger
from store.materialize import materialize, write_artifact

if TYPE_CHECKING:
    from store.convex_mirror import ConvexMirror

__all__ = ["DRIVE", "EventListener", "FailureScript", "SupervisorActor", "new_workflow_id"]

log = get_logger("agentlog.supervisor")

#: Called with each event once it is durable (progress display, Convex mirror).
EventListener = Callable[[Event], None]
#: Replay hook: the recorded failure of an attempt that never reached the model, if any.
FailureScript = Callable[[Step, int, int], StepFailed | None]

_ALLOWED: dict[Step, tuple[type[Event], ...]] = {
    "plan": (ModelCalled, PlanProduced, StepFailed, ContextPacked),
    "code": (ModelCalled, CodeProduced, StepFailed, ContextPacked, FilesRequested),
    "review": (TestsRan, ModelCalled, ReviewProduced, StepFailed, ContextPacked),
}


#: The message that makes a SupervisorActor drive its workflow to the end.
DRIVE = object()


def new_workflow_id() -> str:
    """A sortable, unique workflow id: UTC time plus 6 random hex digits."""
    return datetime.now(UTC).strftime("wf-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def order_violation(answer: Iterable[Event], work: StepWork) -> str | None:
    """Why an agent's answer breaks the order, or None when it fits the attempt it was given."""
    for ev in answer:
        if not isinstance(ev, _ALLOWED[work.step]):
            return f"{type(ev).__name__} is not an answer to step {work.step!r}"
        step = getattr(ev, "step", work.step)
        if step != work.step or getattr(ev, "attempt", work.attempt) != work.attempt:
            return (
                f"{type(ev).__name__} names another step or attempt than {work.step}#{work.attempt}"
            )
        if getattr(ev, "round", work.round) != work.round:
            return f"{type(ev).__name__} names round {getattr(ev, 'round', '?')}, not {work.round}"
    return None


class SupervisorActor(pykka.ThreadingActor):
    """Drives one workflow in ``run_dir`` to its final event; see the module docstring."""

    # Ctrl-C on the main thread ends the process without waiting for the workflow: what
    # is in the log stays there (written lines survive the process) and `resume` goes on.
    use_daemon_thread = True

    def __init__(
        self,
        run_dir: Path,
        model: Model,
        *,
        start: WorkflowStarted | None = None,
        listeners: Iterable[EventListener] = (),
        sleep: Callable[[float], None] = time.sleep,
        failures: FailureScript | None = None,
        evidence: Callable[[Step, int, int], tuple[Event, ...]] | None = None,
        mirror_convex: bool = True,
        project: bool = True,
        durable: bool = True,
        pool: AgentPool | None = None,
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.model = model
        self.start_event = start
        self.listeners = tuple(listeners)
        self.sleep = sleep
        self.failures = failures
        self.evidence = evidence
        self.mirror_convex = mirror_convex and bool(os.environ.get("CONVEX_URL"))
        self.project = project  # write plan.json ... files/ (a replay compares events only)
        self.durable = durable  # fsync the log (a replay's throwaway log needs no fsync)
        self.own_pool = pool is None
        self.pool = pool or AgentPool()
        self.mirror: ConvexMirror | None = None
        self.agents: dict[Step, pykka.ActorRef[Agent]] = {}
        self.config = WorkflowConfig()
        self.workflow_id = ""
        # Opened here, in the caller's thread, so a torn tail, a held lock or a damaged
        # log raises to whoever starts the actor instead of silently killing the actor.
        log_ = EventLog(run_dir)
        self.writer: LogWriter | None = log_.writer()
        try:
            self.events: list[Event | UnknownEvent] = list(log_.read())
        except BaseException:
            self.writer.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------

    def on_start(self) -> None:
        assert self.writer is not None
        for listener in self.listeners:
            self.writer.on_append(_each(listener))
        if self.mirror_convex:
            from store.convex_mirror import ConvexMirror  # only when CONVEX_URL is set

            self.mirror = ConvexMirror.from_env(self.run_dir)
            if self.mirror is not None:
                self.mirror.attach(self.writer)

    def on_stop(self) -> None:
        for step, ref in self.agents.items():
            self.pool.release(step, self.model, ref)
        self.agents.clear()
        if self.own_pool:
            self.pool.close()
        if self.writer is not None:
            self.writer.close()
        if self.mirror is not None:
            self.mirror.close(flush_timeout=2.0)
            self.mirror = None

    def on_failure(self, *_: object) -> None:
        self.on_stop()

    # -- the loop ------------------------------------------------------------------------

    def on_receive(self, message: object) -> list[Event | UnknownEvent] | None:
        """``ask(DRIVE)`` runs :meth:`drive` and answers with the run's events (no re-read)."""
        if message is DRIVE:
            self.drive()
            return list(self.events)
        return None

    def drive(self) -> None:
        """Run the workflow to its final event (a no-op for a run that already ended)."""
        try:
            if not self.events:
                if self.start_event is None:
                    raise ValueError("a new run needs its WorkflowStarted event")
                self._append(self.start_event)
            elif self.project:
                # Resuming: the dead process may have appended an artifact event but not
                # yet written the projection of it (plan.json ..., files/).
                materialize(self.run_dir, self.events)
            self._adopt_config()
            log.info(
                "workflow driving",
                workflow_id=self.workflow_id,
                run_dir=str(self.run_dir),
                resumed_at=len(self.events) if self.start_event is None else 0,
            )
            self._loop()
        except NonDeterminism as err:
            self._finish_failed(err.step if err.step in AGENTS else None, "nondeterminism", err)
            raise
        except Exception as err:
            log.exception("supervisor failed", run_dir=str(self.run_dir))
            self._finish_failed(None, "internal", err)

    def _adopt_config(self) -> None:
        from store import workflow_state

        state = workflow_state(self.events)
        self.config, self.workflow_id = state.config, state.workflow_id

    def _loop(self) -> None:
        while True:
            action = next_action(self.events)
            match action:
                case Finished():
                    return
                case StartAttempt(step=step, attempt=attempt, round=round_, delay=delay):
                    if delay:
                        self._sync()  # everything so far is durable before any wait
                        self.sleep(delay)
                    self._append(StepStarted(step=step, attempt=attempt, round=round_))
                    self._attempt(step, attempt, round_, ())
                case ContinueAttempt(step=step, attempt=attempt, round=round_, recorded=rec):
                    self._attempt(step, attempt, round_, rec)
                case Skip(step=step, reason=reason, round=round_):
                    self._append(StepSkipped(step=step, reason=reason, round=round_))
                case Complete(verdict=verdict, revisions=revisions, failed_steps=failed):
                    done = WorkflowCompleted(
                        verdict=verdict, revisions=revisions, failed_steps=failed
                    )
                    self._append_many([done], sync=True)
                case Fail(step=step, kind=kind, message=message):
                    failed_ = WorkflowFailed(step=step, error_kind=kind, message=message)
                    self._append_many([failed_], sync=True)

    def _attempt(self, step: Step, attempt: int, round_: int, recorded: tuple[Event, ...]) -> None:
        scripted = self.failures(step, round_, attempt) if self.failures else None
        if scripted is not None:
            self._append(_bare(scripted))
            return
        if self.evidence is not None and not recorded:
            # A replay: the recorded evidence (test runs) is logged again, not re-gathered.
            recorded = tuple(self._append_many(list(self.evidence(step, round_, attempt))))
        work = StepWork(
            step=step,
            attempt=attempt,
            round=round_,
            timeout=self.config.step_timeout,
            events=tuple(self.events),
            recorded=recorded,
            workspace=str(self.run_dir / "files"),
            config=self.config,
        )
        answer = self._ask(work)
        violation = order_violation(answer, work)
        if violation is not None:
            answer = [failure(work, "order", f"rejected: {violation}", True)]
        self._append_many(answer)
        if self.project:
            self._project(answer)

    def _project(self, answer: list[Event]) -> None:
        """Write what the answer changed; no fsync: the durable log rebuilds projections."""
        for ev in answer:
            if isinstance(ev, CodeProduced):
                materialize(self.run_dir, self.events, durable=False)  # code.json, files/
            elif isinstance(ev, PlanProduced):
                write_artifact(self.run_dir, ev.plan, durable=False)
            elif isinstance(ev, ReviewProduced):
                write_artifact(self.run_dir, ev.review, durable=False)

    def _ask(self, work: StepWork) -> list[Event]:
        """The agent's answer, or a ``StepFailed`` for a timeout or a crash (agent replaced)."""
        agent = self._agent(work.step)
        self._sync()  # the attempt is on disk before a call that may cost money or hang
        try:
            answer: list[Event] = agent.ask(work, block=True, timeout=work.timeout)
            return answer
        except pykka.Timeout:
            self._replace(work.step)
            message = f"no answer within the step timeout of {work.timeout:g} s"
            return [failure(work, "timeout", message, True)]
        except NonDeterminism:
            raise
        except Exception as exc:
            self._replace(work.step)
            log.warning("agent crashed; replaced", step=work.step, error=repr(exc))
            return [failure(work, "crash", f"agent crashed: {type(exc).__name__}: {exc}", True)]

    def _agent(self, step: Step) -> pykka.ActorRef[Agent]:
        ref = self.agents.get(step)
        if ref is None or not ref.is_alive():
            ref = self.agents[step] = self.pool.acquire(step, self.model)
        return ref

    def _replace(self, step: Step) -> None:
        ref = self.agents.pop(step, None)
        if ref is not None:
            ref.stop(block=False)

    # -- writing -------------------------------------------------------------------------

    def _stamp(self, event: Event) -> Event:
        # Every event passes here before it is written: mask any secret it quotes (an
        # exception message, a task or a response that repeats a key).
        event = redact_event(event)
        return msgspec.structs.replace(event, workflow_id=self.workflow_id or event.workflow_id)

    def _append(self, event: Event) -> None:
        self._append_many([event])

    def _append_many(self, events: list[Event], *, sync: bool = False) -> list[Event]:
        """Append (group commit: synced before every wait and at the end, see ``_sync``)."""
        if not events:
            return []
        assert self.writer is not None
        stamped = self.writer.append_many(
            [self._stamp(ev) for ev in events], sync=sync and self.durable
        )
        self.events.extend(stamped)
        for ev in stamped:
            if isinstance(ev, StepFailed | WorkflowFailed | WorkflowCompleted):
                self._report(ev)
        return stamped

    def _report(self, ev: Event) -> None:
        """One structured log record per failure and per end of the workflow."""
        fields = {"workflow_id": self.workflow_id, "seq": ev.seq}
        if isinstance(ev, StepFailed):
            log.info(
                "step attempt failed",
                step=ev.step,
                attempt=ev.attempt,
                round=ev.round,
                error_kind=ev.error_kind,
                retryable=ev.retryable,
                error=ev.message,
                **fields,
            )
        elif isinstance(ev, WorkflowFailed):
            log.warning("workflow failed", step=ev.step, error_kind=ev.error_kind, **fields)
        elif isinstance(ev, WorkflowCompleted):
            log.info("workflow completed", verdict=ev.verdict, revisions=ev.revisions, **fields)

    def _sync(self) -> None:
        assert self.writer is not None
        if self.durable:
            self.writer.sync()

    def _finish_failed(self, step: Step | None, kind: str, err: Exception) -> None:
        """Best effort: end the log with ``WorkflowFailed`` unless it already ended."""
        if self.writer is None or isinstance(next_action(self.events), Finished):
            return
        try:
            failed = WorkflowFailed(step=step, error_kind=kind, message=str(err))
            self._append_many([failed], sync=True)
        except Exception:
            log.exception("could not record WorkflowFailed", run_dir=str(self.run_dir))


def _each(listener: EventListener) -> Callable[[Sequence[Event]], None]:
    def deliver(events: Sequence[Event]) -> None:
        for ev in events:
            listener(ev)

    return deliver


def _bare(event: StepFailed) -> StepFailed:
    return msgspec.structs.replace(event, seq=0, id="", ts="")
