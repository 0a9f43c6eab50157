"""The evaluation input: a JSONL task set, one task a line, each with a hidden check.

Each line is an object with an ``id``, the ``task`` text, a ``check`` (a shell command
run after the run, on its applied change, in the sandbox; never shown to the model) and
optionally a ``workspace`` (a directory; with ``commit``, a git repository checked out
at that commit), a ``check_timeout`` in seconds and ``config`` overrides of
:class:`~events.WorkflowConfig`. A bad line is an error naming the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from actors.batch import BatchInputError, BatchTask, parse_tasks
from actors.batch.tasks import parse_task_lines, read_tasks_file

__all__ = ["EvalTask", "load_eval_tasks", "parse_eval_tasks", "sample_id", "split_sample_id"]


class EvalTask(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One task of an evaluation, with its hidden check."""

    id: str
    task: str
    check: str
    workspace: str | None = None
    commit: str | None = None
    check_timeout: float | None = None
    config: dict[str, Any] = {}

    def batch_task(self, sample: int, workspace: str | None) -> BatchTask:
        """The batch run of sample ``sample`` (1-based): no check in it, so the model
        never sees one; ``workspace`` is where the task's workspace was prepared."""
        return BatchTask(
            id=sample_id(self.id, sample), task=self.task, workspace=workspace, config=self.config
        )


_decoder = msgspec.json.Decoder(EvalTask)


def sample_id(task_id: str, sample: int) -> str:
    """The run directory name of sample ``sample`` of a task: ``id#k``."""
    return f"{task_id}#{sample}"


def split_sample_id(name: str) -> tuple[str, int]:
    """(task id, sample) of a run directory name; sample 0 when it has none."""
    task, sep, k = name.rpartition("#")
    if sep and k.isdigit():
        return task, int(k)
    return name, 0


def _check(task: EvalTask, where: str) -> None:
    if not task.check.strip():
        raise BatchInputError(f"{where}: check is empty")
    if task.commit is not None and task.workspace is None:
        raise BatchInputError(f"{where}: commit needs a workspace (the git repository)")
    if task.check_timeout is not None and task.check_timeout <= 0:
        raise BatchInputError(f"{where}: check_timeout must be positive")
    # The batch rules (a safe id, a task, known config options) hold for every task.
    as_batch = {"id": task.id, "task": task.task, "config": task.config}
    try:
        parse_tasks(msgspec.json.encode(as_batch), where)
    except BatchInputError as exc:
        raise BatchInputError(str(exc).replace(f"{where}:1", where)) from None


def parse_eval_tasks(data: bytes, name: str = "<tasks>") -> list[EvalTask]:
    """The tasks of a JSONL document; blank lines and ``#`` comments are skipped."""
    return parse_task_lines(data, name, _decoder, _check)


def load_eval_tasks(path: str | Path) -> list[EvalTask]:
    """The tasks of the JSONL file at ``path``; see the module docstring for the format."""
    return parse_eval_tasks(*read_tasks_file(path))
