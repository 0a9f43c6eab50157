"""Errors of the event log, each naming the file and telling the user what to do next.

They derive from :class:`events.AgentlogError` through :class:`LogError`, so a caller can
catch every log problem at once or tell a damaged log from a busy or foreign one.
"""

from __future__ import annotations

from pathlib import Path

from events import EXIT_USAGE, AgentlogError

__all__ = ["LogCorrupt", "LogError", "LogLocked", "NotALog", "ObjectProblem", "TornTail"]


class LogError(AgentlogError):
    """Base of every event-log error."""


class LogLocked(LogError):
    """Another writer holds the log's lock; only one process may append at a time."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"{path} is being written by {holder}; a log has exactly one writer at a time. "
            "Wait for that run to finish (or stop it) and try again."
        )


class TornTail(LogError):
    """The log ends in an incomplete line (a crash mid-write); appending would bury it."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        self.path = path
        self.offset = offset
        self.size = size
        super().__init__(
            f"{path} ends with an incomplete line ({size} bytes at offset {offset} without "
            "a newline), left by a crash while writing. Run `agentlog verify --repair` on "
            "it to move those bytes to a side file, then try again."
        )


class LogCorrupt(LogError):
    """A complete line of the log is damaged: changed bytes, or a gap or repeat in ``seq``."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(
            f"{path}:{line_no}: {reason}. The log is damaged from this line on; "
            "`agentlog verify` reports the first bad line."
        )


class NotALog(LogError):
    """The file is not an agentlog event log at all (its first line is no sealed event)."""

    exit_code = EXIT_USAGE  # the user named the wrong file

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        super().__init__(
            f"{path}:{line_no}: not an agentlog event log ({reason}). "
            "Pass a run directory or its events.jsonl."
        )


class ObjectProblem(LogError):
    """An object (or the store around it) is missing, changed, or something other than a
    regular file in a real directory: the store's damage, named by its path."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
