"""One run of a batch, made idempotent by its log: start it, resume it, or report it.

:func:`run_one` is all an engine executes per task, in-process or on a Ray worker. It
looks at ``runs_dir/<id>/events.jsonl``: no log (or an empty one) starts the run, an
unfinished log resumes it, and a finished one is reported as it is. Running a batch
again therefore redoes nothing, and a worker lost mid-run costs only the attempt it was
in, which the resumed run continues from what the log recorded.

A log found in ``runs_dir`` is data, not permission (:mod:`actors.consent`): a run is
resumed with the consent of this batch's own configuration for its task (``--sandbox``
and the tasks file's ``test_cmd`` and ``config``), so a log that asks for ``sandbox:
none`` or another test command than the task's is refused, as that run's error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from actors.batch.tasks import BatchTask
from events import Event, UnknownEvent, WorkflowConfig, tokens
from store import EventLog, LogLocked, WorkflowFold, step_stats, total_stats, workflow_state
from store.unsynced import move_before_continuing

if TYPE_CHECKING:
    from actors.models import Model

__all__ = ["ModelSpec", "RunOutcome", "outcome_of", "run_one"]

Action = Literal["started", "resumed", "skipped"]


class ModelSpec(msgspec.Struct, frozen=True, kw_only=True):
    """How to build the model where a run executes (it may be another machine).

    ``script`` names a JSON model script (offline runs, tests); otherwise Claude through
    the ``anthropic`` SDK, whose key and base URL come from that machine's environment:
    a batch never ships a credential in its task arguments.
    """

    script: str | None = None
    delay: float = 0.0

    def build(self, config: WorkflowConfig) -> Model:
        from actors.models import AnthropicModel, ScriptedModel, default_model

        if self.script is not None:
            return ScriptedModel.from_file(self.script, delay=self.delay)
        return AnthropicModel(config.model or default_model())


class RunOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one task: its run's status and cost, and what this batch did to it."""

    id: str
    run_dir: str
    action: Action
    status: str
    verdict: str | None = None
    tokens: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the run completed with no failed step passed over."""
        return self.status == "completed" and self.error is None


def outcome_of(task_id: str, run_dir: Path, action: Action, seconds: float) -> RunOutcome:
    """Describe a run from its log (one streaming read, nothing kept)."""
    from actors.pricing import cost_usd

    fold = WorkflowFold()

    def folded() -> Iterator[Event | UnknownEvent]:
        for ev in EventLog(run_dir).read():
            fold.apply(ev)
            yield ev

    total = total_stats(step_stats(folded()))
    state = fold.snapshot()
    error = None
    if state.last_error is not None and state.status != "completed":
        error = f"{state.last_error.kind}: {state.last_error.message}"
    return RunOutcome(
        id=task_id,
        run_dir=str(run_dir),
        action=action,
        status=state.status,
        verdict=state.verdict,
        tokens=tokens(total.usage),
        cost_usd=cost_usd(total.usage_by_model),
        seconds=round(seconds, 3),
        error=error,
    )


def _wait_for_lock(log: EventLog, wait: float) -> None:
    """Return once no other process writes ``log`` (a lost worker's lock goes with it)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            log.writer().close()
            return
        except LogLocked:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def run_one(
    task: BatchTask,
    runs_dir: Path,
    base: WorkflowConfig,
    model: ModelSpec,
    *,
    lock_wait: float = 0.0,
) -> RunOutcome:
    """Start, resume or report ``task``'s run in ``runs_dir/<id>``; see the module docstring.

    ``lock_wait`` is how long to wait for another writer of the same run to go away (a
    worker that Ray has declared lost may take a moment to die and release its lock).
    """
    from actors.integrations import integrations_from_env
    from actors.supervisor import Supervisor

    run_dir = runs_dir / task.id
    log = EventLog(run_dir)
    started = time.monotonic()
    has_log = log.path.is_file() and log.path.stat().st_size > 0
    if has_log:  # an end no sync covered is no end: the run is resumed
        move_before_continuing(log)
    state = workflow_state(log.read()) if has_log else None
    if state is not None and state.status in ("completed", "failed", "waiting"):
        return outcome_of(task.id, run_dir, "skipped", 0.0)  # a waiting run needs a person
    if has_log:
        _wait_for_lock(log, lock_wait)
    config = task.workflow_config(base)
    if state is None or state.status == "pending":
        sup = Supervisor(config, model=model.build(config), listeners=integrations_from_env())
        sup.run(task.task, run_dir, workspace=task.workspace)
        return outcome_of(task.id, run_dir, "started", time.monotonic() - started)
    Supervisor.resume(  # allowed what this batch would start the run with, nothing more
        run_dir,
        model=model.build(state.config),
        listeners=integrations_from_env(),
        sandbox="none" if config.sandbox == "none" else None,
        test_cmd=config.test_cmd or None,
    )
    return outcome_of(task.id, run_dir, "resumed", time.monotonic() - started)
