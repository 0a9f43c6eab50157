"""``agentlog eval TASKS --runs-dir NEW --as-of OLD``: an evaluation of a change, as what-ifs.

Each run ``NEW/<id>`` is a what-if (:func:`~actors.whatif.what_if`) of the earlier
evaluation's run ``OLD/<id>`` with the change (a model, agents' prompts, settings): the
recorded answers are served until the first request the change alters, and only the
calls from there on are live. :class:`AsOf` is the evaluation's
:data:`~actors.eval.evaluate.RunMaker`, so every run is then checked as ``eval`` checks
its own. A ``NEW/<id>`` that ended is skipped. One stopped before its end (a crash, a
Ctrl-C, ``--offline``) is made again from the recording when it has not gone live (every
request it logged is one the source recorded), so the calls the recording answers are
never paid for; one that went live is resumed live, keeping what was paid (a what-if's
recording is served only in one go). The choice is a function of the two logs alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from actors.batch import BatchInputError, BatchTask, RunOutcome
from actors.batch.local import run_lanes
from actors.batch.runner import outcome_of
from actors.models import Model
from events import Forked, ModelCalled, SandboxPolicy, WorkflowConfig
from store import EventLog, workflow_state
from store.unsynced import move_before_continuing

__all__ = ["AsOf"]

_ENDED = ("completed", "failed", "waiting")


class AsOf:
    """Makes each run of an evaluation as a what-if of ``old_runs_dir``'s run of its id.

    ``live`` builds the model that answers the live calls, given the what-if's config
    (e.g. :meth:`~actors.batch.ModelSpec.build`); ``base`` is the evaluation's config,
    whose sandbox level and test command the what-ifs are allowed, as ``eval`` allows
    its own runs. ``concurrency`` what-ifs are made at a time, on the process's driver
    threads as the local batch engine makes its runs.
    """

    def __init__(
        self,
        old_runs_dir: str | Path,
        *,
        live: Callable[[WorkflowConfig], Model],
        base: WorkflowConfig | None = None,
        model: str | None = None,
        prompts: Mapping[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
        concurrency: int = 8,
    ) -> None:
        self.old_runs_dir = Path(old_runs_dir)
        if not self.old_runs_dir.is_dir():
            raise BatchInputError(f"{self.old_runs_dir}: --as-of is not a directory")
        self.live = live
        self.base = base or WorkflowConfig()
        self.model = model
        self.prompts = dict(prompts or {})
        self.settings = dict(settings or {})
        self.concurrency = concurrency

    def check_sources(self, ids: Iterable[str]) -> None:
        """Refuse (one line) an evaluation with a run the earlier one does not have."""
        missing = [i for i in ids if not (self.old_runs_dir / i / "events.jsonl").is_file()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            where = self.old_runs_dir / missing[0]
            raise BatchInputError(f"--as-of: no run {where} to replay{more}")

    def __call__(
        self, runs: list[BatchTask], runs_dir: Path, on_start: Callable[[BatchTask], None]
    ) -> Iterator[RunOutcome]:
        return run_lanes(
            runs,
            lambda task: self._one(task, runs_dir),
            runs_dir,
            concurrency=self.concurrency,
            on_start=on_start,
        )

    def _one(self, task: BatchTask, runs_dir: Path) -> RunOutcome:
        from actors.integrations import integrations_from_env
        from actors.supervisor import Supervisor
        from actors.whatif import changed_config, what_if

        new = runs_dir / task.id
        started = time.monotonic()
        config = task.workflow_config(self.base)
        sandbox: SandboxPolicy | None = "none" if config.sandbox == "none" else None
        test_cmd = config.test_cmd or None
        log = EventLog(new)
        source = self.old_runs_dir / task.id
        if log.path.is_file() and log.path.stat().st_size > 0:
            move_before_continuing(log)  # an end no sync covered is no end: resumed
            state = workflow_state(log.read())
            if state.status in _ENDED:
                return outcome_of(task.id, new, "skipped", 0.0)
            if not _never_live(new, source):
                live = self.live(state.config)
                listeners = integrations_from_env()
                Supervisor.resume(
                    new, model=live, listeners=listeners, sandbox=sandbox, test_cmd=test_cmd
                )
                return outcome_of(task.id, new, "resumed", time.monotonic() - started)
            with log.writer():  # nobody else makes it now; all it holds is served again
                log.path.unlink()
        recorded = workflow_state(EventLog(source).read()).config
        changed = changed_config(
            recorded, model=self.model, prompts=self.prompts, settings=self.settings
        )
        what_if(
            source,
            new,
            model=self.model,
            prompts=self.prompts,
            settings=self.settings,
            live=self.live(changed),
            listeners=integrations_from_env(),
            sandbox=sandbox,
            test_cmd=test_cmd,
        )
        return outcome_of(task.id, new, "started", time.monotonic() - started)


def _never_live(run: Path, source: Path) -> bool:
    """Whether ``run`` is a what-if of ``source`` that has not gone live: its last
    ``Forked`` marks it so and every request it logged is one ``source`` recorded (the
    recording answers each of them again; a ``Diverged`` logged by ``--offline`` is
    where it stopped, before any live call)."""
    recorded = {ev.request_digest for ev in EventLog(source).read() if type(ev) is ModelCalled}
    ours = False
    for ev in EventLog(run).read():
        if type(ev) is Forked:
            ours = ev.what_if and Path(ev.source) == source.resolve()
        elif type(ev) is ModelCalled and ev.request_digest not in recorded:
            return False  # a changed request: answered live
    return ours
