"""The supervisor actor: one pykka actor per workflow, sole writer of its log, keeper of the order.

It folds each event it appends into the run's :class:`~store.WorkflowFold` once, asks
:func:`~actors.orchestration.next_action` what to do from the fold's snapshot, hands each
attempt to the agent for the step, checks the answer fits the order, appends it and
materializes the artifacts. Error boundaries live here: a per-step timeout no hung call
can defeat, a crashed agent replaced, retries with backoff, and a final event on every
path the process survives -- except when the log or a projection cannot be written (a
full disk): then the run stops with :class:`RunStopped` and no final event, because the
log still holds the work and ``agentlog resume`` goes on once the cause is fixed.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pykka

from actors.agents import AGENTS, Agent, AgentPool, Assignment, StepWork, failure
from actors.commit_point import forgive, owe
from actors.logs import get_logger
from actors.models import Model, NonDeterminism, RequestNotKept
from actors.orchestration import (
    Complete,
    ContinueAttempt,
    Fail,
    Finished,
    Park,
    RequestApproval,
    Skip,
    StartAttempt,
    next_action,
)
from actors.recording import (
    EvidenceScript,
    FailureScript,
    Recording,
)
from actors.secrets import scrub_line
from actors.shipping import Integration, Shipper
from events import (
    ApprovalRequested,
    BudgetReached,
    CodeProduced,
    ContextElided,
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
    ToolCalled,
    ToolResulted,
    UsageError,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    artifact_digest,
)
from store import EventLog, LogError, LogWriter, WorkflowFold, WorkflowState
from store.materialize import ProjectionError, materialize, write_artifact
from store.objects import ObjectStore
from store.projection_sync import sync_projections
from store.run_pack import open_run_pack
from store.unsynced import move_before_continuing

__all__ = [
    "DRIVE",
    "EventListener",
    "EvidenceScript",
    "FailureScript",
    "Listener",
    "ModelChooser",
    "RunStopped",
    "SupervisorActor",
    "SupervisorOptions",
    "new_workflow_id",
    "order_violation",
]

log = get_logger("agentlog.supervisor")

#: Called with each event once it is durable (a progress display).
EventListener = Callable[[Event], None]
#: What a supervisor is handed to listen with: event listeners, and integrations that
#: make each run's shipper (live OTel export, the Convex mirror; see actors.integrations).
Listener = EventListener | Integration
#: Chooses the model for a run from its state (a resume: the config in force decides).
ModelChooser = Callable[[WorkflowState], Model]

_ALLOWED: dict[Step, tuple[type[Event], ...]] = {
    "plan": (
        ModelCalled,
        PlanProduced,
        StepFailed,
        ContextPacked,
        ToolCalled,
        ToolResulted,
        BudgetReached,
        ContextElided,
    ),
    "code": (
        ModelCalled,
        CodeProduced,
        StepFailed,
        ContextPacked,
        FilesRequested,
        ToolCalled,
        ToolResulted,
        BudgetReached,
        ContextElided,
    ),
    "review": (
        TestsRan,
        ModelCalled,
        ReviewProduced,
        StepFailed,
        ContextPacked,
        ToolCalled,
        ToolResulted,
        BudgetReached,
        ContextElided,
    ),
}

#: The message that makes a SupervisorActor drive its workflow to the end.
DRIVE = object()


@dataclass(frozen=True)
class SupervisorOptions:
    """How a supervisor runs its workflow: live (the defaults) or re-running a recording.

    ``sleep`` waits out retry backoff. ``recording`` (a replay's, a what-if's) serves
    what the recorded run did besides its model calls and says which effects the re-run
    has (see :class:`~actors.recording.Recording`); a live run has none.
    """

    sleep: Callable[[float], None] = time.sleep
    recording: Recording | None = None

    @property
    def live_effects(self) -> bool:
        """Whether the run writes projections, syncs, keeps requests, runs commands, logs."""
        return self.recording is None or not self.recording.scratch


class RunStopped(LogError):
    """The run stopped without a final event: its log or a projection could not be written.

    The log holds every event acknowledged so far; ``agentlog resume`` continues once the
    cause (usually a full disk) is fixed.
    """


def new_workflow_id() -> str:
    """A sortable, unique workflow id: UTC time plus 6 random hex digits."""
    return datetime.now(UTC).strftime("wf-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def order_violation(answer: Iterable[Event], work: StepWork) -> str | None:
    """Why an agent's answer breaks the order, or None when it fits the attempt it was given."""
    step, attempt, round_ = work.step, work.attempt, work.round  # read once, not per event
    allowed = _ALLOWED[step]
    for ev in answer:
        if not isinstance(ev, allowed):
            return f"{type(ev).__name__} is not an answer to step {step!r}"
        if getattr(ev, "step", step) != step or getattr(ev, "attempt", attempt) != attempt:
            return f"{type(ev).__name__} names another step or attempt than {step}#{attempt}"
        if getattr(ev, "round", round_) != round_:
            return f"{type(ev).__name__} names round {getattr(ev, 'round', '?')}, not {round_}"
    return None


class SupervisorActor(pykka.ThreadingActor):
    """Drives one workflow in ``run_dir`` to its final event; see the module docstring."""

    # Ctrl-C on the main thread ends the process without waiting for the workflow: what
    # is in the log stays there (written lines survive the process) and `resume` goes on.
    use_daemon_thread = True

    def __init__(
        self,
        run_dir: Path,
        model: Model | ModelChooser,
        *,
        start: WorkflowStarted | None = None,
        listeners: Iterable[Listener] = (),
        options: SupervisorOptions | None = None,
        pool: AgentPool | None = None,
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.start_event = start
        self.listeners = tuple(listeners)
        self.options = options or SupervisorOptions()
        self.recording = self.options.recording
        rec = self.recording
        #: Where an unfinished recording stopped (the re-run stops there too), else None.
        self._stop_at = rec.stop_at if rec is not None else None
        #: What the recording has at a seq that no agent makes (see :meth:`_noted`).
        self._person = rec.person if rec is not None else None
        #: The fields stamped on every event (the run's id once known), made once a run.
        self._stamp: tuple[str, dict[str, object] | None] = ("", None)
        #: Projections, fsync, kept requests, commands, log records (not in a replay).
        self.live = self.options.live_effects
        self.pool = pool or AgentPool.shared()
        self.shippers: list[Shipper] = []  # made by the integrations, closed at the stop
        # Opened here, in the caller's thread, so a torn tail, a held lock or a damaged
        # log raises to whoever starts the actor instead of silently killing the actor.
        # The log is streamed once into the fold; no event is kept.
        log_ = EventLog(run_dir)
        self.writer: LogWriter | None = log_.writer()
        if not self.live:  # a scratch log is read only once closed: written in blocks
            rec = self.recording
            self.writer.hold(like=rec.stamps_from if rec else None, seen=rec.seen if rec else None)
        self.fold = WorkflowFold()
        try:
            if self.writer.last_seq and self.live:
                # Lines a power cut kept without their objects are not resumed: moved
                # aside under this writer's lock (never a live run's), the run redoes them.
                move_before_continuing(log_, self.writer)
            if self.writer.last_seq:  # a log just made holds nothing to read
                self.fold.extend(log_.read())
            if start is None and self.fold.status == "pending":
                raise UsageError(
                    f"{run_dir}: the log holds no WorkflowStarted event; nothing to resume"
                )
            # A resume may choose its model from the state (the config in force).
            self.model: Model = _chosen(model, self.fold.snapshot())
        except BaseException:
            self.writer.close()
            raise
        self.resumed_at = self.fold.last_seq
        # What the agents keep (requests, edits) goes to the run pack, durable before
        # the event naming it is written: the log syncs the pack first.
        self.pack = open_run_pack(run_dir, ObjectStore(run_dir).__contains__)
        if self.live:  # a replay's scratch run syncs nothing
            self.writer.sync_first(self.pack.sync)
        self._prepared = False
        self._inline: dict[Step, Agent] = {}  # a replay's agents, used in this thread
        self._files = str(run_dir / "files")
        #: What every attempt of this run is handed alike: where requests are kept, and
        #: whether its agents answer in this thread (a replay's) or as actors.
        self._requests_to = str(run_dir) if self.live else ""
        self._asks_inline = rec is not None and rec.inline
        self._scrub = scrub_line if self.live else None

    @property
    def state(self) -> WorkflowState:
        """The run's state as of the last appended event."""
        return self.fold.snapshot()

    # -- lifecycle ---------------------------------------------------------------------

    def on_start(self) -> None:
        assert self.writer is not None
        workflow_id = self.fold.workflow_id or getattr(self.start_event, "workflow_id", "")
        for listener in self.listeners:
            if not isinstance(listener, Integration):
                self.writer.on_append(_each(listener))
                continue
            shipper = listener.for_run(self.run_dir, workflow_id)
            if shipper is not None:
                shipper.attach(self.writer)
                self.shippers.append(shipper)

    def on_stop(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(LogError):
                self.writer.close()
            self.pack.close()
        shippers, self.shippers = self.shippers, []
        for shipper in shippers:  # a healthy one gets its flush; none holds the stop longer
            shipper.release()

    def on_failure(self, *_: object) -> None:
        self.on_stop()

    # -- the loop ------------------------------------------------------------------------

    def run_here(self) -> WorkflowState:
        """Drive the workflow in the calling thread (a driver's), without the actor's own.

        The same lifecycle as ``start()`` then ``ask(DRIVE)``: listeners attached, the
        run driven to its end (or to where it must stop), everything closed.
        """
        try:
            self.on_start()
            self.drive()
            return self.state
        finally:
            self.on_stop()

    def on_receive(self, message: object) -> WorkflowState | None:
        """``ask(DRIVE)`` runs :meth:`drive` and answers with the final state (no re-read)."""
        if message is DRIVE:
            self.drive()
            return self.state
        return None

    def drive(self) -> None:
        """Run the workflow to its final event (a no-op for a run that already ended)."""
        try:
            if self.fold.last_seq == 0:
                if self.start_event is None:
                    raise ValueError("a new run needs its WorkflowStarted event")
                self._append(self.start_event)
                if self.live and self.start_event.workspace is not None:
                    # One rule with `project`: a workspace run's files/ is its recorded
                    # base from the start (then the base with each change applied). The
                    # start is synced first, so files/ never outlives a lost first event.
                    self._sync()
                    self._materialize(durable=False)
            else:
                # Resuming, with the writer lock held: no one else is writing an object,
                # so a temp file in objects/ is what a killed writer left behind.
                removed = ObjectStore(self.run_dir).remove_debris()
                if removed:
                    log.info("removed object debris", run_dir=str(self.run_dir), files=len(removed))
                if self.live:
                    # The dead process may have appended an artifact event but not yet
                    # written the projection of it (plan.json ..., files/).
                    self._materialize()
            log.info(
                "workflow driving",
                workflow_id=self.fold.workflow_id,
                run_dir=str(self.run_dir),
                resumed_at=self.resumed_at,
            )
            self._loop()
        except NonDeterminism as err:
            if self.recording is not None and not self.recording.scratch:
                # A what-if told to stop at its first changed request (``--offline``): its
                # Diverged is logged and the run stops without a final event (resumable).
                self._noted()
                self._sync()
                raise
            self._finish_failed(err.step if err.step in AGENTS else None, "nondeterminism", err)
            raise
        except RunStopped as err:
            # A projection failed but the log may still be writable: make what it holds
            # durable (and heard by listeners) before stopping.
            if self.writer is not None and not self.writer.closed:
                with contextlib.suppress(RunStopped):
                    self._sync()
            log.info("workflow stopped resumably", run_dir=str(self.run_dir), error=str(err))
            raise
        except Exception as err:
            log.exception("supervisor failed", run_dir=str(self.run_dir))
            self._finish_failed(None, "internal", err)

    def _loop(self) -> None:
        # Read once a run: whether the recording stops early or has events no agent
        # makes (only a replay's does), and the fold (its snapshot is the decision's input).
        fold, stop_at, person = self.fold, self._stop_at, self._person
        append_many = self._append_many
        while stop_at is None or fold.last_seq < stop_at:
            if person is not None:  # a recording's events made by no agent, where it had them
                noted = person(fold.last_seq + 1)
                if noted:
                    append_many(noted)
                    continue
            action = next_action(fold.snapshot())
            if type(action) is StartAttempt:  # the usual turn: no pattern matched
                if action.delay:
                    self._sync()  # everything so far is durable before any wait
                    self.options.sleep(action.delay)
                number, in_round = action.attempt, action.round
                append_many([StepStarted(step=action.step, attempt=number, round=in_round)])
                if stop_at is None or fold.last_seq < stop_at:
                    self._attempt(action.step, number, in_round, ())
                continue
            match action:
                case Finished() | Park():  # ended, or waiting for a person (holding nothing)
                    if self.live:
                        self._sync_projections()  # once: durable however long it waits
                    return
                case RequestApproval(step=step, round=round_):
                    made = self.state.artifacts
                    awaiting = made.plan if step == "plan" else made.code
                    assert awaiting is not None  # a gate follows its step's artifact
                    digest = artifact_digest(awaiting)
                    asked = ApprovalRequested(step=step, round=round_, digest=digest)
                    append_many([asked], sync=True)
                case ContinueAttempt(step=step, attempt=attempt, round=round_, recorded=rec):
                    self._attempt(step, attempt, round_, rec)
                case Skip(step=step, reason=reason, round=round_):
                    append_many([StepSkipped(step=step, reason=reason, round=round_)])
                case Complete(verdict=verdict, revisions=revisions, failed_steps=failed):
                    done = WorkflowCompleted(
                        verdict=verdict, revisions=revisions, failed_steps=failed
                    )
                    append_many([done], sync=True)
                case Fail(step=step, kind=kind, message=message):
                    failed_ = WorkflowFailed(step=step, error_kind=kind, message=message)
                    append_many([failed_], sync=True)

    def _noted(self) -> bool:
        """Append what the recording has at the next seq that no agent makes (a person's
        decision, a what-if's ``Diverged``); whether there was any."""
        person = self._person
        if person is None:
            return False
        noted = person(self.fold.last_seq + 1)
        if noted:
            self._append_many(noted)
        return bool(noted)

    def _attempt(self, step: Step, attempt: int, round_: int, recorded: tuple[Event, ...]) -> None:
        if not self._prepared:  # once, before the first step's clock starts
            _prepare(self.model)
            self._prepared = True
        rec = self.recording
        if rec is not None:
            if rec.failures is not None:
                scripted = rec.failures(step, round_, attempt)
                if scripted is not None:
                    self._append_many([_bare(scripted)])
                    return
            if rec.evidence is not None and not recorded:
                # A replay: the recorded evidence (test runs) is logged again, not re-gathered.
                found = rec.evidence(step, round_, attempt)
                if found:
                    recorded = tuple(self._append_many(list(found)))
        state = self.fold.snapshot()
        config = state.config
        work = StepWork(
            step=step,
            attempt=attempt,
            round=round_,
            timeout=config.step_timeout,
            state=state,
            recorded=recorded,
            workspace=self._files,
            config=config,
            requests_to=self._requests_to,
            run_commands=self.live,
            served=rec.served(step, round_, attempt) if rec and rec.served else {},
            resumed_at=self.resumed_at,
        )
        answer = self._ask_inline(work) if self._asks_inline else self._ask(work)
        violation = order_violation(answer, work)
        if violation is not None:
            answer = [failure(work, "order", f"rejected: {violation}", True)]
        written = self._append_many(answer)  # as logged: secrets masked
        if self.live:
            self._project(written)

    def _project(self, answer: list[Event]) -> None:
        """Write what the answer changed; no fsync: the durable log rebuilds projections."""
        try:
            for ev in answer:
                if isinstance(ev, CodeProduced):
                    self._materialize(durable=False)  # code.json, files/
                elif isinstance(ev, PlanProduced):
                    write_artifact(self.run_dir, ev.plan, durable=False)
                elif isinstance(ev, ReviewProduced):
                    write_artifact(self.run_dir, ev.review, durable=False)
        except (OSError, ProjectionError) as exc:
            raise self._stopped("could not write the artifacts", exc) from exc

    def _materialize(self, *, durable: bool = True) -> None:
        """Rebuild every projection from the events that carry the latest artifacts."""
        try:
            materialize(self.run_dir, self.fold.artifact_events(), durable=durable)
        except (OSError, ProjectionError) as exc:
            raise self._stopped("could not write the artifacts", exc) from exc

    def _sync_projections(self) -> None:
        try:
            sync_projections(self.run_dir)
        except (OSError, ProjectionError) as exc:
            raise self._stopped("could not sync the artifacts", exc) from exc

    def _ask(self, work: StepWork) -> list[Event]:
        """The agent's answer, or a ``StepFailed`` for a timeout or a crash (agent replaced).

        The agent comes from the shared pool for this one attempt and goes back after it;
        one that hung or crashed is stopped instead, and the next attempt gets a fresh one.
        """
        agent = self.pool.acquire(work.step)
        try:
            # The attempt is on disk before a call that may cost money or hang: the agent
            # syncs before it waits, once it has kept its request (actors.commit_point).
            if self.live and work.requests_to:
                owe(work.requests_to, self._sync)
            else:
                self._sync()
            try:
                answer: list[Event] = agent.ask(
                    Assignment(work, self.model), block=True, timeout=work.timeout
                )
            finally:
                forgive(work.requests_to)
        except pykka.Timeout:
            agent.stop(block=False)
            message = f"no answer within the step timeout of {work.timeout:g} s"
            return [failure(work, "timeout", message, True)]
        except NonDeterminism:
            self.pool.release(work.step, agent)
            raise
        except RunStopped:
            self.pool.release(work.step, agent)
            raise
        except RequestNotKept as exc:  # a full disk: stop resumably, as for the log
            raise self._stopped("could not keep the model request", exc) from exc
        except Exception as exc:
            agent.stop(block=False)
            log.warning("agent crashed; replaced", step=work.step, error=repr(exc))
            return [failure(work, "crash", f"agent crashed: {type(exc).__name__}: {exc}", True)]
        self.pool.release(work.step, agent)
        return answer

    def _ask_inline(self, work: StepWork) -> list[Event]:
        """The agent's answer, made in this thread: a replay's agents only read the log,
        so none can hang, and an actor round trip per attempt would cost more than the
        attempt (a crash is still recorded as one, as in :meth:`_ask`)."""
        agent = self._inline.get(work.step)
        if agent is None:  # never started: no thread, no mailbox
            agent = self._inline[work.step] = AGENTS[work.step]()
        agent.model = self.model
        if self.live:
            self._sync()
        try:
            return agent.perform(work)
        except (NonDeterminism, RunStopped):
            raise
        except RequestNotKept as exc:
            raise self._stopped("could not keep the model request", exc) from exc
        except Exception as exc:
            return [failure(work, "crash", f"agent crashed: {type(exc).__name__}: {exc}", True)]

    # -- writing -------------------------------------------------------------------------

    def _append(self, event: Event) -> None:
        self._append_many([event])

    def _append_many(self, events: list[Event], *, sync: bool = False) -> list[Event]:
        """Append (group commit: synced before every wait and at the end, see ``_sync``)."""
        if not events:
            return []
        assert self.writer is not None
        try:
            # Every event is masked of any secret it quotes (an exception message, a task or
            # a response that repeats a key) as it is encoded, and gets the run's id. A
            # replay's scratch log is not: what it re-makes comes from the recorded (masked)
            # log, and it is compared with that log, then deleted.
            stamp, workflow_id = self._stamp, self.fold.workflow_id
            if stamp[0] != workflow_id:  # the writer copies it; made once a run
                stamp = (workflow_id, {"workflow_id": workflow_id} if workflow_id else None)
                self._stamp = stamp
            stamped = self.writer.append_many(
                events, sync=sync and self.live, stamp=stamp[1], scrub=self._scrub
            )
        except LogError as exc:
            raise self._stopped("could not append to the log", exc) from exc
        apply = self.fold.apply
        for ev in stamped:
            apply(ev)
        if self.live:
            for ev in stamped:
                if isinstance(ev, StepFailed | WorkflowFailed | WorkflowCompleted):
                    self._report(ev)
        return stamped

    def _report(self, ev: Event) -> None:
        """One structured log record per failure and per end of the workflow."""
        fields = {"workflow_id": self.fold.workflow_id, "seq": ev.seq}
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
        if self.live:
            try:
                self.writer.sync()
            except LogError as exc:
                raise self._stopped("could not sync the log", exc) from exc

    def _stopped(self, what: str, exc: Exception) -> RunStopped:
        """The one-line error for a write that failed: what, why, and how to go on."""
        wrapped = isinstance(exc, LogError | ProjectionError) and exc.__cause__
        cause = exc.__cause__ if wrapped and exc.__cause__ else exc
        why = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        return RunStopped(
            f"{self.run_dir}: {what} ({why}); the run stopped and the log keeps what was "
            f"done: fix the cause (free disk space?), then `agentlog resume {self.run_dir}`"
        )

    def _finish_failed(self, step: Step | None, kind: str, err: Exception) -> None:
        """Best effort: end the log with ``WorkflowFailed`` unless it already ended."""
        if self.writer is None or self.writer.closed or self.state.ended:
            return
        try:
            failed = WorkflowFailed(step=step, error_kind=kind, message=str(err))
            self._append_many([failed], sync=True)
        except RunStopped as exc:
            log.warning(
                "could not record WorkflowFailed", run_dir=str(self.run_dir), error=str(exc)
            )


def _chosen(model: Model | ModelChooser, state: WorkflowState) -> Model:
    """``model`` itself, or the model a chooser picks for ``state``."""
    if hasattr(model, "call"):
        return model  # type: ignore[return-value]
    return model(state)


def _prepare(model: Model) -> None:
    """Let the model get ready (import its SDK, build its client) before any step's clock.

    Optional (``prepare()`` on the model); a failure here is ignored, because the first
    call meets it again inside a step, where it is recorded as that step's failure.
    """
    prepare = getattr(model, "prepare", None)
    if callable(prepare):
        with contextlib.suppress(Exception):
            prepare()


def _each(listener: EventListener) -> Callable[[Sequence[Event]], None]:
    def deliver(events: Sequence[Event]) -> None:
        for ev in events:
            listener(ev)

    return deliver


def _bare(event: StepFailed) -> StepFailed:
    return msgspec.structs.replace(event, seq=0, id="", ts="")
