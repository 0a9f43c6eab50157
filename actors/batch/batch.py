"""``Batch``: many runs, one command, idempotent by their logs, on this machine or on Ray."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from actors.batch.local import run_local
from actors.batch.runner import ModelSpec, RunOutcome
from actors.batch.tasks import BatchInputError, BatchTask, load_tasks
from events import WorkflowConfig

__all__ = ["Batch", "Engine"]

Engine = Literal["local", "ray"]


class Batch:
    """Runs ``tasks`` (a JSONL path, or tasks) under ``runs_dir``, one directory per id.

    Iterating yields a :class:`~actors.batch.runner.RunOutcome` per task as its run ends;
    :meth:`run` collects them. A batch run again skips completed runs, resumes unfinished
    ones and starts missing ones. ``engine="ray"`` runs each task as a Ray task on the
    cluster at ``ray_address`` (default: a local Ray instance).
    """

    def __init__(
        self,
        tasks: str | Path | Iterable[BatchTask | dict[str, Any]],
        runs_dir: str | Path,
        *,
        engine: Engine = "local",
        concurrency: int = 8,
        config: WorkflowConfig | None = None,
        model: ModelSpec | None = None,
        ray_address: str | None = None,
        ray_num_cpus: float = 1.0,
    ) -> None:
        if isinstance(tasks, str | Path):
            self.tasks = load_tasks(tasks)
        else:
            self.tasks = [t if isinstance(t, BatchTask) else _task(t) for t in tasks]
        if engine not in ("local", "ray"):
            raise BatchInputError(f"unknown engine {engine!r} (local or ray)")
        if concurrency < 1:
            raise BatchInputError("concurrency must be at least 1")
        self.runs_dir = Path(runs_dir)
        self.engine = engine
        self.concurrency = concurrency
        self.config = config or WorkflowConfig()
        self.model = model or ModelSpec()
        self.ray_address = ray_address
        self.ray_num_cpus = ray_num_cpus
        #: Called with each task as its run is handed to a worker (progress displays).
        self.on_start: Callable[[BatchTask], None] = lambda task: None

    def __iter__(self) -> Iterator[RunOutcome]:
        if self.runs_dir.exists() and not self.runs_dir.is_dir():
            raise BatchInputError(f"{self.runs_dir}: --runs-dir is not a directory")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        if self.engine == "ray":
            from actors.batch.ray_engine import run_ray

            return run_ray(
                self.tasks,
                self.runs_dir,
                self.config,
                self.model,
                concurrency=self.concurrency,
                address=self.ray_address,
                num_cpus=self.ray_num_cpus,
                on_start=self.on_start,
            )
        return run_local(
            self.tasks,
            self.runs_dir,
            self.config,
            self.model,
            concurrency=self.concurrency,
            on_start=self.on_start,
        )

    def run(self) -> list[RunOutcome]:
        """Run the whole batch; the outcomes in the order the runs ended."""
        return list(self)


def _task(raw: dict[str, Any]) -> BatchTask:
    from actors.batch.tasks import parse_tasks

    return parse_tasks(msgspec.json.encode(raw), "<task>")[0]
