"""The local engine: a batch's runs share this process, ``concurrency`` at a time.

Each task is a job for the process's driver threads (:mod:`actors.drivers`, at most
``AGENTLOG_MAX_RUNNING``), which runs it to its end with
:func:`~actors.batch.runner.run_one` -- the workflow itself is driven inline by that same
thread, so a thousand concurrent runs need no thousand threads. Outcomes come back
through a queue in the order runs finish. Ctrl-C ends the process at once: every run's
log stays resumable, and running the batch again continues them.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from actors.batch.runner import ModelSpec, RunOutcome, run_one
from actors.batch.tasks import BatchTask
from actors.drivers import drivers
from events import WorkflowConfig

__all__ = ["failed_outcome", "run_lanes", "run_local"]


def failed_outcome(task: BatchTask, runs_dir: Path, exc: BaseException) -> RunOutcome:
    """The outcome of a task whose run could not be started or continued at all."""
    message = str(exc) or type(exc).__name__
    return RunOutcome(
        id=task.id,
        run_dir=str(runs_dir / task.id),
        action="started",
        status="error",
        error=message if isinstance(exc, Exception) else f"{type(exc).__name__}: {message}",
    )


def run_local(
    tasks: Sequence[BatchTask],
    runs_dir: Path,
    config: WorkflowConfig,
    model: ModelSpec,
    *,
    concurrency: int,
    on_start: Callable[[BatchTask], None] = lambda task: None,
) -> Iterator[RunOutcome]:
    """Run ``tasks`` in this process, yielding each outcome as its run ends."""
    return run_lanes(
        tasks,
        lambda task: run_one(task, runs_dir, config, model),
        runs_dir,
        concurrency=concurrency,
        on_start=on_start,
    )


def run_lanes(
    tasks: Sequence[BatchTask],
    make: Callable[[BatchTask], RunOutcome],
    runs_dir: Path,
    *,
    concurrency: int,
    on_start: Callable[[BatchTask], None] = lambda task: None,
) -> Iterator[RunOutcome]:
    """``make`` each task's run on the driver threads, ``concurrency`` lanes of them, and
    yield each outcome as its run ends (a run that raised is a failed outcome)."""
    todo: queue.SimpleQueue[BatchTask] = queue.SimpleQueue()
    for task in tasks:
        todo.put(task)
    done: queue.SimpleQueue[RunOutcome] = queue.SimpleQueue()

    def work() -> None:
        while True:  # one lane of ``concurrency``: its tasks one after another
            try:
                task = todo.get_nowait()
            except queue.Empty:
                return
            on_start(task)
            try:
                outcome = make(task)
            except Exception as exc:  # one run's failure never stops the batch
                outcome = failed_outcome(task, runs_dir, exc)
            done.put(outcome)

    pool = drivers()
    for _ in range(max(1, min(concurrency, len(tasks)))):
        pool.submit(work)
    for _ in tasks:
        while True:  # a timed get keeps the main thread responsive to Ctrl-C
            try:
                yield done.get(timeout=0.2)
                break
            except queue.Empty:
                time.sleep(0)
