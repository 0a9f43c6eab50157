"""The Python entry point: ``Supervisor`` starts, resumes, retries and reports on workflows.

``Supervisor(config).run(task)`` starts a :class:`~actors.supervisor_actor.SupervisorActor`
for a new run directory and waits for it; ``start`` returns a handle instead, so many
workflows can run at once; ``Supervisor.resume(run_dir)`` continues a killed run from its
log and ``Supervisor.retry(run_dir)`` gives a failed run a fresh retry budget from its
failed step. The actor itself (one per workflow, sole writer of its log) lives in
:mod:`actors.supervisor_actor`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import msgspec
import pykka

from actors.consent import Consent, check_continue
from actors.drivers import drivers
from actors.models import Model, default_model
from actors.run_dir import check_no_run
from actors.shipping import Integration
from actors.supervisor_actor import (
    DRIVE,
    EventListener,
    FailureScript,
    Listener,
    ModelChooser,
    RunStopped,
    SupervisorActor,
    SupervisorOptions,
    new_workflow_id,
    order_violation,
)
from actors.testrun import require_sandbox
from events import (
    CodeChange,
    Plan,
    RetryRequested,
    Review,
    SandboxPolicy,
    Step,
    UnknownEvent,
    UsageError,
    Verdict,
    WorkflowConfig,
    WorkflowStarted,
    with_budgets,
)
from store import (
    ErrorInfo,
    EventLog,
    GateState,
    LogLocked,
    StepState,
    WorkflowFold,
    WorkflowState,
    workflow_state,
)
from store._lock import LogLock
from store.unsynced import move_before_continuing

__all__ = [
    "DRIVE",
    "WAIT_POLL",
    "EventListener",
    "FailureScript",
    "Listener",
    "RunHandle",
    "RunStopped",
    "Supervisor",
    "SupervisorActor",
    "SupervisorOptions",
    "WorkflowResult",
    "new_workflow_id",
    "order_violation",
    "result_of",
]


#: Seconds between two looks at the log while a run waits for a decision made elsewhere.
WAIT_POLL = 0.2


class WorkflowResult(msgspec.Struct, frozen=True, kw_only=True):
    """How a workflow ended: status, per-step outcomes, artifacts and the final review."""

    run_dir: str
    workflow_id: str
    status: str
    steps: dict[Step, StepState]
    plan: Plan | None
    code: CodeChange | None
    review: Review | None
    verdict: Verdict | None
    failed_steps: tuple[Step, ...] = ()
    error: ErrorInfo | None = None
    waiting_at: GateState | None = None

    @property
    def ok(self) -> bool:
        """True when the workflow completed with no step passed over as failed."""
        return self.status == "completed" and not self.failed_steps

    @property
    def waiting(self) -> bool:
        """True when the run is parked at a gate until a person decides (``waiting_at``)."""
        return self.status == "waiting"


def result_of(run_dir: Path, state: WorkflowState | None = None) -> WorkflowResult:
    """A :class:`WorkflowResult` from a run's state (folded from its log unless given)."""
    if state is None:
        state = workflow_state(EventLog(run_dir).read())
    failed = state.failed_steps if state.status == "completed" else ()
    made = state.artifacts
    return WorkflowResult(
        run_dir=str(run_dir),
        workflow_id=state.workflow_id,
        status=state.status,
        steps=state.steps,
        plan=made.plan,
        code=made.code,
        review=made.review,
        verdict=state.verdict,
        failed_steps=failed,
        error=state.last_error if state.status not in ("completed", "waiting") or failed else None,
        waiting_at=state.waiting_at,
    )


class RunHandle:
    """A workflow driven by one of the process's driver threads; ``result()`` waits for it,
    ``result_when_decided()`` also waits out its approval gates."""

    def __init__(self, run_dir: Path, supervisor: SupervisorActor, owner: Supervisor) -> None:
        self.run_dir = run_dir
        self._owner = owner
        self._future: Future[WorkflowState] = drivers().submit(supervisor.run_here)

    def result(self, timeout: float | None = None) -> WorkflowResult:
        """Wait for the final event (re-raising a replay's ``NonDeterminism``).

        ``timeout`` raises ``pykka.Timeout`` and leaves the workflow running; an interrupt
        (Ctrl-C) returns at once and leaves the run to ``resume``; a log or projection
        that cannot be written raises :class:`RunStopped` (the run is resumable).
        """
        try:
            state = self._future.result(timeout=timeout)
        except FutureTimeout:
            raise pykka.Timeout(f"{self.run_dir}: still running after {timeout} s") from None
        return result_of(self.run_dir, state)

    def result_when_decided(
        self,
        *,
        on_event: EventListener | None = None,
        on_gate: Callable[[GateState], None] | None = None,
        poll: float = WAIT_POLL,
    ) -> WorkflowResult:
        """Wait for the run's end: at an approval gate, wait for a person's decision made
        elsewhere (``agentlog approve RUN --no-continue``, the viewer), then go on.

        The log is polled every ``poll`` seconds (nothing is held while waiting). Once a
        decision is in and no process writes the run, this one continues it as ``resume``
        would, allowed what the run was started with and no more, its events going to the
        supervisor's listeners; when another process took the writer lock to continue it,
        this one follows the log instead, handing the events that process writes to
        ``on_event``. ``on_gate`` is told each gate the run comes to wait at.
        """
        result = self.result()
        if not result.waiting:
            return result
        owner = self._owner
        own = Consent(sandbox=owner.config.sandbox, test_cmd=owner.config.test_cmd or None)
        log = EventLog(self.run_dir)
        fold = WorkflowFold()  # each poll reads only what was appended since the last
        _catch_up(fold, log)  # the listeners had these: this process wrote them
        waited_at: GateState | None = None
        while True:
            for event in log.read(fold.last_seq + 1):  # written by another process
                fold.apply(event)
                if on_event is not None and not isinstance(event, UnknownEvent):
                    on_event(event)
            state = fold.snapshot()
            if state.ended:
                return result_of(self.run_dir, state)
            gate = state.waiting_at
            if gate is not None and gate != waited_at:
                waited_at = gate
                if on_gate is not None:
                    on_gate(gate)
            if gate is None and not LogLock.is_held(log.path):
                try:
                    result = Supervisor._resume(self.run_dir, own, owner.model, owner.listeners)
                except LogLocked:  # another process started continuing it first: follow it
                    pass
                else:
                    if not result.waiting:
                        return result
                    _catch_up(fold, log)
            time.sleep(poll)


class Supervisor:
    """Starts workflows with one configuration and model.

    ``model`` defaults to Claude through the ``anthropic`` SDK (``AnthropicModel``) with
    ``config.model``, ``$AGENTLOG_MODEL`` or the built-in default; pass a
    ``ScriptedModel`` for offline runs. ``listeners`` receive every event once durable;
    an :class:`~actors.shipping.Integration` among them (live OTel export, the Convex
    mirror: ``actors.integrations.integrations_from_env()`` builds those the environment
    asks for) gives each run it drives a shipper, released when the run stops. The
    supervisor itself reads no integration's environment variable.
    """

    def __init__(
        self,
        config: WorkflowConfig | None = None,
        *,
        model: Model | None = None,
        listeners: Iterable[Listener] = (),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config or WorkflowConfig()
        self.model = model
        self.listeners = tuple(listeners)
        self.sleep = sleep

    def _model(self, name: str) -> Model:
        if self.model is None:
            from actors.models import AnthropicModel

            self.model = AnthropicModel(name or default_model())  # one client, reused
        return self.model

    def start(
        self,
        task: str,
        run_dir: str | Path | None = None,
        *,
        workspace: str | Path | None = None,
        allow_credentials: Iterable[str] = (),
    ) -> RunHandle:
        """Start a workflow for ``task`` in ``run_dir`` (default ``runs/<workflow id>``).

        With ``workspace`` (a directory, usually a git repository) the run records it as
        its base first (files into ``run_dir/objects``) and changes that; the directory is
        only read. Credential files and files holding a secret are left out of the base
        unless their workspace-relative paths are in ``allow_credentials``.
        """
        workflow_id = new_workflow_id()
        path = Path(run_dir) if run_dir is not None else Path("runs") / workflow_id
        check_no_run(path)
        require_sandbox(self.config)
        path.mkdir(parents=True, exist_ok=True)
        model = self._model(self.config.model)
        config = msgspec.structs.replace(self.config, model=self.config.model or model.name)
        base = None
        if workspace is not None:
            from store.base import record_base

            base = record_base(
                workspace, path, test_cmd=config.test_cmd, allow_credentials=allow_credentials
            )
        started = WorkflowStarted(
            workflow_id=workflow_id, task=task, config=config, workspace=base, records_requests=True
        )
        return self._launch(path, model, started)

    def run(
        self, task: str, run_dir: str | Path | None = None, *, workspace: str | Path | None = None
    ) -> WorkflowResult:
        """Run a workflow to its end and return how it ended (``workspace`` as in ``start``)."""
        return self.start(task, run_dir, workspace=workspace).result()

    def _launch(
        self, path: Path, model: Model | ModelChooser, started: WorkflowStarted | None
    ) -> RunHandle:
        options = SupervisorOptions(sleep=self.sleep) if self.sleep else SupervisorOptions()
        supervisor = SupervisorActor(
            path, model, start=started, listeners=self.listeners, options=options
        )
        return RunHandle(path, supervisor, self)

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        *,
        model: Model | None = None,
        listeners: Iterable[Listener] = (),
        sandbox: SandboxPolicy | None = None,
        test_cmd: str | None = None,
        trust_log: bool = False,
    ) -> WorkflowResult:
        """Continue a killed run from its log; a run that already ended is returned as is.

        The run continues as recorded, but what the log records is not a permission:
        a recorded ``sandbox: none`` needs ``sandbox="none"``, a recorded test command
        ``test_cmd`` equal to it, or ``trust_log=True`` for both; otherwise
        :class:`~actors.consent.LogAsksMore` is raised before anything is written.
        """
        path = _run_path(run_dir)
        consent = Consent(sandbox=sandbox, test_cmd=test_cmd, trust_log=trust_log)
        return cls._resume(path, consent, model, listeners)

    @classmethod
    def _resume(
        cls,
        path: Path,
        consent: Consent,
        model: Model | None,
        listeners: Iterable[Listener],
    ) -> WorkflowResult:
        sup = cls(model=model, listeners=listeners)

        def choose(state: WorkflowState) -> Model:
            if not state.ended:  # what is to come runs with this person's consent
                check_continue(str(path), state.config, state.workspace, consent)
                require_sandbox(state.config)  # the tests to come need their sandbox
            sup.config = state.config
            return sup._model(state.config.model)

        # The actor streams the log once: its fold gives the config (and so the model).
        return sup._launch(path, choose, None).result()

    @classmethod
    def retry(
        cls,
        run_dir: str | Path,
        *,
        model: Model | None = None,
        listeners: Iterable[Listener] = (),
        reason: str = "",
        sandbox: SandboxPolicy | None = None,
        test_cmd: str | None = None,
        trust_log: bool = False,
        budgets: Mapping[str, float | int] | None = None,
    ) -> WorkflowResult:
        """Give a failed run a fresh retry budget from its failed step, and continue it.

        ``budgets`` raises (or sets) the run's budgets from here on (``max_turns``,
        ``budget_tokens``, ``budget_usd``): a run stopped by one goes on with more. What
        was spent before still counts, so a budget holds across retries.

        Like Temporal's reset, the history is kept: a ``RetryRequested`` event is
        appended, after which every failed step may again make ``max_retries`` retries
        (its attempt numbers go on counting) and steps skipped because of it run again.
        Only a failed run can be retried; a killed one is resumed instead. ``sandbox``,
        ``test_cmd`` and ``trust_log`` allow what the log records, as for :meth:`resume`;
        a refusal appends nothing.
        """
        path = _run_path(run_dir)
        log = EventLog(path)
        move_before_continuing(log)  # a failed end no sync covered is no failed end
        state = workflow_state(log.read())
        if state.status != "failed":
            hint = {
                "running": f"it has not ended; `agentlog resume {path}` continues it",
                "completed": "it completed; `agentlog fork` starts a variant of it",
                "pending": "the log holds no WorkflowStarted event",
                "waiting": f"it waits for a person; `agentlog approve {path}` or `reject`",
            }[state.status]
            raise UsageError(f"{path}: only a failed run can be retried: {hint}")
        consent = Consent(sandbox=sandbox, test_cmd=test_cmd, trust_log=trust_log)
        check_continue(str(path), state.config, state.workspace, consent)
        require_sandbox(state.config)
        config = with_budgets(state.config, budgets or {})
        sup = cls(config, model=model, listeners=listeners)
        chosen = sup._model(config.model)
        with log.writer() as writer:
            event = RetryRequested(
                workflow_id=state.workflow_id,
                actor="person",
                reason=reason,
                config=config if config != state.config else None,
            )
            recorded = writer.append(event)  # durable once appended
        for listener in sup.listeners:
            if not isinstance(listener, Integration):  # a run's shipper reads it from the log
                listener(recorded)
        return sup._launch(path, chosen, None).result()

    @classmethod
    def approve(
        cls,
        run_dir: str | Path,
        *,
        by: str | None = None,
        comment: str = "",
        edit: Plan | CodeChange | None = None,
        digest: str | None = None,
        proceed: bool = True,
        model: Model | None = None,
        listeners: Iterable[Listener] = (),
        sandbox: SandboxPolicy | None = None,
        test_cmd: str | None = None,
        trust_log: bool = False,
    ) -> WorkflowResult:
        """Approve what the run waits for (optionally an edited version), then continue it.

        ``digest`` is the artifact the person looked at (refused when it no longer waits);
        ``proceed=False`` records the decision and leaves the run for ``resume``;
        continuing needs ``sandbox``, ``test_cmd`` or ``trust_log`` as :meth:`resume` does,
        checked before the decision is recorded.
        """
        from actors.approvals import decide

        consent = _consent_to_continue(run_dir, proceed, sandbox, test_cmd, trust_log)
        decide(run_dir, "approved", by=by, comment=comment, edit=edit, digest=digest)
        return cls._after_decision(run_dir, consent, model, listeners)

    @classmethod
    def reject(
        cls,
        run_dir: str | Path,
        comment: str,
        *,
        by: str | None = None,
        digest: str | None = None,
        proceed: bool = True,
        model: Model | None = None,
        listeners: Iterable[Listener] = (),
        sandbox: SandboxPolicy | None = None,
        test_cmd: str | None = None,
        trust_log: bool = False,
    ) -> WorkflowResult:
        """Reject what the run waits for; continuing ends the run as failed (``rejected``)."""
        from actors.approvals import decide

        consent = _consent_to_continue(run_dir, proceed, sandbox, test_cmd, trust_log)
        decide(run_dir, "rejected", by=by, comment=comment, digest=digest)
        return cls._after_decision(run_dir, consent, model, listeners)

    @classmethod
    def request_changes(
        cls,
        run_dir: str | Path,
        comment: str,
        *,
        by: str | None = None,
        proceed: bool = True,
        model: Model | None = None,
        listeners: Iterable[Listener] = (),
        sandbox: SandboxPolicy | None = None,
        test_cmd: str | None = None,
        trust_log: bool = False,
    ) -> WorkflowResult:
        """A person's review sending the code back to the Coder (one more revision round)."""
        from actors.approvals import request_changes

        consent = _consent_to_continue(run_dir, proceed, sandbox, test_cmd, trust_log)
        request_changes(run_dir, comment, by=by)
        return cls._after_decision(run_dir, consent, model, listeners)

    @classmethod
    def _after_decision(
        cls,
        run_dir: str | Path,
        consent: Consent | None,
        model: Model | None,
        listeners: Iterable[Listener],
    ) -> WorkflowResult:
        if consent is None:
            return result_of(_run_path(run_dir))
        return cls._resume(_run_path(run_dir), consent, model, listeners)


def _consent_to_continue(
    run_dir: str | Path,
    proceed: bool,
    sandbox: SandboxPolicy | None,
    test_cmd: str | None,
    trust_log: bool,
) -> Consent | None:
    """The consent a decision continues the run with (None: it does not continue), once
    checked against the log, so that a refusal records no decision either."""
    if not proceed:
        return None
    path = _run_path(run_dir)
    consent = Consent(sandbox=sandbox, test_cmd=test_cmd, trust_log=trust_log)
    state = workflow_state(EventLog(path).read())
    check_continue(str(path), state.config, state.workspace, consent)
    return consent


def _catch_up(fold: WorkflowFold, log: EventLog) -> None:
    """Fold what ``log`` holds beyond ``fold`` (events whose listeners had them)."""
    for event in log.read(fold.last_seq + 1):
        fold.apply(event)


def _run_path(run_dir: str | Path) -> Path:
    path = Path(run_dir)
    return path.parent if path.name == "events.jsonl" else path
