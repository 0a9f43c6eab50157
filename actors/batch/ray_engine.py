"""The Ray engine: one Ray task per run, retried by Ray when its worker dies.

A retried task calls :func:`~actors.batch.runner.run_one` again, which resumes the run
from its log, so a lost worker or node costs at most the model call it was waiting for.
The runs directory must be a filesystem every node shares, with ``flock`` honoured
across nodes (docs/batch.md says which do). Ray is the optional extra ``agentlog[ray]``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from actors.batch.local import failed_outcome
from actors.batch.runner import ModelSpec, RunOutcome, run_one
from actors.batch.tasks import BatchInputError, BatchTask
from events import WorkflowConfig

__all__ = ["RAY_MISSING", "run_ray"]

RAY_MISSING = "the Ray engine needs Ray: pip install 'agentlog[ray]'"
#: How long a retried task waits for a lost worker's lock on the same run to go.
LOCK_WAIT = 60.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BatchInputError(RAY_MISSING) from None
    return ray


def _remote_run(
    task: BatchTask, runs_dir: str, config: WorkflowConfig, model: ModelSpec
) -> RunOutcome:
    return run_one(task, Path(runs_dir), config, model, lock_wait=LOCK_WAIT)


def run_ray(
    tasks: Sequence[BatchTask],
    runs_dir: Path,
    config: WorkflowConfig,
    model: ModelSpec,
    *,
    concurrency: int,
    address: str | None = None,
    num_cpus: float = 1.0,
    max_retries: int = 3,
    on_start: Callable[[BatchTask], None] = lambda task: None,
) -> Iterator[RunOutcome]:
    """Run ``tasks`` as Ray tasks (at most ``concurrency`` in flight), yielding outcomes."""
    ray = _ray()
    owned = not ray.is_initialized()
    if owned:
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
    remote = ray.remote(num_cpus=num_cpus, max_retries=max_retries, retry_exceptions=False)(
        _remote_run
    )
    root = str(runs_dir.resolve())
    pending: dict[Any, BatchTask] = {}
    waiting = list(reversed(tasks))
    # Ray's driver prints cluster news ("node ... marked dead") on stdout: keep stdout for
    # the batch's own output (--json), and end a session this batch opened.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            while waiting or pending:
                while waiting and len(pending) < max(1, concurrency):
                    task = waiting.pop()
                    on_start(task)
                    pending[remote.remote(task, root, config, model)] = task
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in ready:
                    task = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as exc:  # a task that failed for good, retries spent
                        yield failed_outcome(task, runs_dir, _cause(exc))
        finally:
            for ref in pending:  # Ctrl-C or an abandoned iterator: stop what still runs
                ray.cancel(ref, force=True)
            if owned:
                ray.shutdown()


def _cause(exc: Exception) -> BaseException:
    """The run's own error inside a Ray task error, when Ray kept it."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
