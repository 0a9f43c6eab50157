"""``Evaluation``: a task set's runs through :class:`~actors.batch.Batch`, then their checks.

Every sample of every task is an ordinary batch run (``<id>#<k>`` under the runs
directory); as each run ends, the evaluation checks it (:mod:`actors.eval.check`) in
this process, ``concurrency`` checks at a time while the other runs go on (with the Ray
engine too: the checks run where the evaluation was started), and records the outcome
in the run's log. Running an evaluation again
skips the runs that ended and were checked, checks those that ended unchecked, and
resumes or starts the rest, as ``agentlog batch`` does. How the runs are made is a
hook (``make_runs``): the batch engine by default, or what-ifs of an earlier evaluation's
runs (:class:`~actors.eval.asof.AsOf`); the checks are the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

import msgspec

from actors.batch import Batch, BatchInputError, BatchTask, Engine, ModelSpec, RunOutcome
from actors.eval.check import check_run, last_check, prepare_workspace, record_check
from actors.eval.tasks import EvalTask, load_eval_tasks, split_sample_id
from events import CheckRan, WorkflowConfig

__all__ = ["EvalOutcome", "Evaluation", "RunMaker"]

CheckAction = Literal["checked", "skipped", "unchecked"]
#: Makes (starts, resumes or skips) the runs of ``runs`` under a runs directory, calling
#: the callback as each one starts, and yields each run's outcome as it ends.
RunMaker = Callable[[list[BatchTask], Path, Callable[[BatchTask], None]], Iterable[RunOutcome]]


class EvalOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One sample: its run's outcome, and its check (None when the run has not ended)."""

    id: str
    task_id: str
    sample: int
    run: RunOutcome
    check_action: CheckAction
    check: CheckRan | None = None
    #: Why the run could not be checked this time (e.g. another process writes its log).
    problem: str | None = None

    @property
    def passed(self) -> bool:
        """True when the check ran and passed."""
        return self.check is not None and self.check.passed


class Evaluation:
    """Runs ``tasks`` (a JSONL path, or :class:`EvalTask`) ``samples`` times each under
    ``runs_dir`` and checks every run that ended; iterating yields an
    :class:`EvalOutcome` per sample as it is checked, :meth:`run` collects them."""

    def __init__(
        self,
        tasks: str | Path | Iterable[EvalTask],
        runs_dir: str | Path,
        *,
        samples: int = 1,
        engine: Engine = "local",
        concurrency: int = 8,
        config: WorkflowConfig | None = None,
        model: ModelSpec | None = None,
        ray_address: str | None = None,
        make_runs: RunMaker | None = None,
    ) -> None:
        self.tasks = load_eval_tasks(tasks) if isinstance(tasks, str | Path) else list(tasks)
        if samples < 1:
            raise BatchInputError("samples must be at least 1")
        self.samples = samples
        self.runs_dir = Path(runs_dir)
        self.engine: Engine = engine
        self.concurrency = concurrency
        self.config = config or WorkflowConfig()
        self.model = model or ModelSpec()
        self.ray_address = ray_address
        self.make_runs: RunMaker = make_runs or self._batch
        #: Called with each run as it is handed to a worker (progress displays).
        self.on_start: Callable[[BatchTask], None] = lambda task: None

    def __iter__(self) -> Iterator[EvalOutcome]:
        if self.runs_dir.exists() and not self.runs_dir.is_dir():
            raise BatchInputError(f"{self.runs_dir}: --runs-dir is not a directory")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        by_id = {task.id: task for task in self.tasks}
        workspaces = {task.id: prepare_workspace(task, self.runs_dir) for task in self.tasks}
        runs = [
            task.batch_task(k, workspaces[task.id])
            for task in self.tasks
            for k in range(1, self.samples + 1)
        ]
        made = self.make_runs(runs, self.runs_dir, self.on_start)
        checks = ThreadPoolExecutor(self.concurrency, thread_name_prefix="agentlog-check")
        pending: set[Future[EvalOutcome]] = set()
        try:
            for run in made:  # a check runs while the other runs go on
                task_id, sample = split_sample_id(run.id)
                job = (by_id[task_id], sample, run, workspaces[task_id])
                pending.add(checks.submit(self._guarded, *job))
                done = {f for f in pending if f.done()}
                pending -= done
                yield from (f.result() for f in done)
            for future in as_completed(pending):
                yield future.result()
        finally:
            checks.shutdown(wait=False, cancel_futures=True)

    def _batch(
        self, runs: list[BatchTask], runs_dir: Path, on_start: Callable[[BatchTask], None]
    ) -> Iterable[RunOutcome]:
        """The default :data:`RunMaker`: the runs through :class:`~actors.batch.Batch`."""
        batch = Batch(
            runs,
            runs_dir,
            engine=self.engine,
            concurrency=self.concurrency,
            config=self.config,
            model=self.model,
            ray_address=self.ray_address,
        )
        batch.on_start = on_start
        return batch

    def _guarded(
        self, task: EvalTask, sample: int, run: RunOutcome, workspace: str | None
    ) -> EvalOutcome:
        """:meth:`_checked`, with a failure to check one run reported, not raised: one
        run's trouble never stops the evaluation, and the next one checks it again."""
        try:
            return self._checked(task, sample, run, workspace)
        except Exception as exc:
            return EvalOutcome(
                id=run.id,
                task_id=task.id,
                sample=sample,
                run=run,
                check_action="unchecked",
                problem=f"not checked: {str(exc) or type(exc).__name__}",
            )

    def _checked(
        self, task: EvalTask, sample: int, run: RunOutcome, workspace: str | None
    ) -> EvalOutcome:
        def outcome(action: CheckAction, check: CheckRan | None) -> EvalOutcome:
            return EvalOutcome(
                id=run.id, task_id=task.id, sample=sample, run=run, check_action=action, check=check
            )

        if run.status not in ("completed", "failed"):
            return outcome("unchecked", None)  # waiting for a person, or could not run
        run_dir = Path(run.run_dir)
        done = last_check(run_dir)
        if done is not None:
            return outcome("skipped", done)
        config = task.batch_task(sample, workspace).workflow_config(self.config)
        timeout = task.check_timeout or config.test_timeout
        check = check_run(task, sample, run_dir, workspace, policy=config.sandbox, timeout=timeout)
        return outcome("checked", record_check(run_dir, check))

    def run(self) -> list[EvalOutcome]:
        """Run the whole evaluation; the outcomes in the order the runs ended."""
        return list(self)
