"""The batch input: a JSONL file, one run a line, checked before anything starts.

Each line is an object with an ``id`` (the run's directory name under the runs
directory), the ``task``, and optionally a ``workspace``, a ``test_cmd`` and ``config``
overrides of :class:`~events.WorkflowConfig`. A bad line is an error naming the file and
line, so nothing runs on a half-valid batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec

from events import EXIT_USAGE, AgentlogError, WorkflowConfig

__all__ = [
    "BatchInputError",
    "BatchTask",
    "load_tasks",
    "parse_task_lines",
    "parse_tasks",
    "read_tasks_file",
]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class BatchInputError(AgentlogError):
    """A tasks file that cannot be read or has a bad line (exit 2)."""

    exit_code = EXIT_USAGE


class BatchTask(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One run of a batch, as one line of the tasks file gives it."""

    id: str
    task: str
    workspace: str | None = None
    test_cmd: str | None = None
    config: dict[str, Any] = {}

    def workflow_config(self, base: WorkflowConfig) -> WorkflowConfig:
        """``base`` with this task's overrides applied (checked when the file is loaded)."""
        if not self.config and self.test_cmd is None:
            return base
        changes = dict(self.config)
        if self.test_cmd is not None:
            changes["run_tests"] = True
            changes["test_cmd"] = self.test_cmd
        return msgspec.convert({**msgspec.to_builtins(base), **changes}, WorkflowConfig)


_decoder = msgspec.json.Decoder(BatchTask)


def _check(task: BatchTask, where: str) -> None:
    if not _ID.fullmatch(task.id) or task.id.endswith("."):
        raise BatchInputError(
            f"{where}: id {task.id!r} is not a safe directory name "
            "(letters, digits, '.', '_' and '-', starting with a letter or digit)"
        )
    if not task.task.strip():
        raise BatchInputError(f"{where}: task is empty")
    unknown = sorted(set(task.config) - set(WorkflowConfig.__struct_fields__))
    if unknown:
        raise BatchInputError(f"{where}: config has unknown option {unknown[0]!r}")
    try:
        task.workflow_config(WorkflowConfig())
    except msgspec.ValidationError as exc:
        raise BatchInputError(f"{where}: config: {exc}") from None


class _Task(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Task)


def parse_task_lines(
    data: bytes, name: str, decoder: msgspec.json.Decoder[T], check: Callable[[T, str], None]
) -> list[T]:
    """The tasks of a JSONL document, each decoded and ``check``-ed at ``name:LINE``; blank
    lines and ``#`` comments are skipped, and an id used twice is refused (``batch`` and
    ``eval`` read their task sets with this one loop)."""
    tasks: list[T] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        where = f"{name}:{number}"
        try:
            task = decoder.decode(line)
        except msgspec.ValidationError as exc:
            raise BatchInputError(f"{where}: {exc}") from None
        except msgspec.DecodeError as exc:
            raise BatchInputError(f"{where}: not a JSON object ({exc})") from None
        except (UnicodeDecodeError, RecursionError):
            raise BatchInputError(f"{where}: not a JSON object (bad UTF-8 or nesting)") from None
        check(task, where)
        if task.id in seen:
            raise BatchInputError(
                f"{where}: id {task.id!r} is already used on line {seen[task.id]}"
            )
        seen[task.id] = number
        tasks.append(task)
    if not tasks:
        raise BatchInputError(f"{name}: no tasks (one JSON object a line)")
    return tasks


def read_tasks_file(path: str | Path) -> tuple[bytes, str]:
    """The bytes of a tasks file and the name to give in messages (one line if unreadable)."""
    file = Path(path)
    try:
        return file.read_bytes(), str(file)
    except OSError as exc:
        raise BatchInputError(f"{file}: cannot read the tasks file: {exc.strerror}") from None


def parse_tasks(data: bytes, name: str = "<tasks>") -> list[BatchTask]:
    """The tasks of a JSONL document; blank lines and ``#`` comments are skipped."""
    return parse_task_lines(data, name, _decoder, _check)


def load_tasks(path: str | Path) -> list[BatchTask]:
    """The tasks of the JSONL file at ``path``; see the module docstring for the format."""
    return parse_tasks(*read_tasks_file(path))
