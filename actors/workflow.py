"""The Python entry point: ``Supervisor`` starts, resumes and reports on workflows.

``Supervisor(config).run(task)`` starts a :class:`~actors.supervisor.SupervisorActor` for a
new run directory and waits for it; ``start`` returns a handle instead, so many workflows
can run at once; ``Supervisor.resume(run_dir)`` continues a killed run from its log.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec
import pykka

from actors.agents import AgentPool
from actors.models import Model, default_model
from actors.otel.live import live_listeners
from actors.supervisor import DRIVE, EventListener, SupervisorActor, new_workflow_id
from events import (
    AgentlogError,
    CodeChange,
    Event,
    Plan,
    Review,
    Step,
    UnknownEvent,
    Verdict,
    WorkflowCompleted,
    WorkflowConfig,
    WorkflowStarted,
)
from store import ErrorInfo, EventLog, StepState, artifacts, workflow_state

__all__ = ["RunHandle", "Supervisor", "WorkflowResult", "result_of"]


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

    @property
    def ok(self) -> bool:
        """True when the workflow completed with no step passed over as failed."""
        return self.status == "completed" and not self.failed_steps


def result_of(run_dir: Path, events: list[Event | UnknownEvent] | None = None) -> WorkflowResult:
    """Project a run's events (read from its log unless given) into a :class:`WorkflowResult`."""
    if events is None:
        events = list(EventLog(run_dir).read())
    state = workflow_state(events)
    made = artifacts(events)
    final = events[-1] if events else None
    failed = final.failed_steps if isinstance(final, WorkflowCompleted) else ()
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
        error=state.last_error if state.status != "completed" or failed else None,
    )


class RunHandle:
    """A workflow running in its own actor; ``result()`` waits for it."""

    def __init__(self, run_dir: Path, ref: pykka.ActorRef[SupervisorActor]) -> None:
        self.run_dir = run_dir
        self._ref = ref
        self._future = ref.ask(DRIVE, block=False)

    def result(self, timeout: float | None = None) -> WorkflowResult:
        """Wait for the final event (re-raising a replay's ``NonDeterminism``).

        ``timeout`` raises ``pykka.Timeout`` and leaves the workflow running; an interrupt
        (Ctrl-C) returns at once and leaves the run to ``resume``.
        """
        try:
            events = self._future.get(timeout=timeout)
        except pykka.Timeout:
            raise
        except BaseException:
            self._ref.stop(block=False)
            raise
        if self._ref.is_alive():
            self._ref.stop()
        return result_of(self.run_dir, events)


class Supervisor:
    """Starts workflows with one configuration and model.

    ``model`` defaults to Claude through the ``anthropic`` SDK (``AnthropicModel``) with
    ``config.model``, ``$AGENTLOG_MODEL`` or the built-in default; pass a
    ``ScriptedModel`` for offline runs. ``listeners`` receive every event once durable.
    """

    def __init__(
        self,
        config: WorkflowConfig | None = None,
        *,
        model: Model | None = None,
        listeners: Iterable[EventListener] = (),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config or WorkflowConfig()
        self.model = model
        self.listeners = tuple(listeners)
        self.sleep = sleep
        self._pool = AgentPool()
        weakref.finalize(self, self._pool.close)  # idle agents stop with their supervisor

    def _model(self, name: str) -> Model:
        if self.model is None:
            from actors.models import AnthropicModel

            self.model = AnthropicModel(name or default_model())  # one client, reused
        return self.model

    def start(self, task: str, run_dir: str | Path | None = None) -> RunHandle:
        """Start a workflow for ``task`` in ``run_dir`` (default ``runs/<workflow id>``)."""
        workflow_id = new_workflow_id()
        path = Path(run_dir) if run_dir is not None else Path("runs") / workflow_id
        log_file = path / "events.jsonl"
        if log_file.exists() and log_file.stat().st_size > 0:  # an empty log: died at birth
            raise AgentlogError(
                f"{path}: already holds a run; use `agentlog resume {path}` or another --run-dir"
            )
        path.mkdir(parents=True, exist_ok=True)
        model = self._model(self.config.model)
        config = msgspec.structs.replace(self.config, model=self.config.model or model.name)
        started = WorkflowStarted(workflow_id=workflow_id, task=task, config=config)
        return self._launch(path, model, started)

    def run(self, task: str, run_dir: str | Path | None = None) -> WorkflowResult:
        """Run a workflow to its end and return how it ended."""
        return self.start(task, run_dir).result()

    def _launch(self, path: Path, model: Model, started: WorkflowStarted | None) -> RunHandle:
        extra = {"sleep": self.sleep} if self.sleep is not None else {}
        listeners = (*self.listeners, *live_listeners(path))  # OTLP export when configured
        ref = SupervisorActor.start(
            path, model, start=started, listeners=listeners, pool=self._pool, **extra
        )
        return RunHandle(path, ref)

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        *,
        model: Model | None = None,
        listeners: Iterable[EventListener] = (),
    ) -> WorkflowResult:
        """Continue a killed run from its log; a run that already ended is returned as is."""
        path = Path(run_dir)
        if path.name == "events.jsonl":
            path = path.parent
        state = workflow_state(EventLog(path).read())
        if state.status == "pending":
            raise AgentlogError(
                f"{path}: the log holds no WorkflowStarted event; nothing to resume"
            )
        sup = cls(state.config, model=model, listeners=listeners)
        if state.status in ("completed", "failed"):
            return result_of(path)
        return sup._launch(path, sup._model(state.config.model), None).result()
