"""The single-writer lock: an exclusive ``flock`` on ``<log>.lock`` that records its pid.

``flock`` locks belong to an open file, so a second writer is refused whether it lives in
another process or in this one, and the kernel drops the lock when its holder dies. The
pid in the file is only for the error message; the lock itself is the source of truth.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from store.errors import LogError, LogLocked

__all__ = ["LogLock", "lock_path"]


def lock_path(log_path: Path) -> Path:
    """The sidecar lock file of a log (``events.jsonl`` -> ``events.jsonl.lock``)."""
    return log_path.with_name(log_path.name + ".lock")


class LogLock:
    """An acquired writer lock on one log; :meth:`release` (or process death) frees it."""

    def __init__(self, log_path: Path, fd: int) -> None:
        self.log_path = log_path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, log_path: Path) -> LogLock:
        """Take the lock without waiting; raise :class:`LogLocked` naming the holder's pid."""
        path = lock_path(log_path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LogError(f"cannot open the lock file {path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LogLocked(log_path, pid) from None
        except OSError as exc:
            os.close(fd)
            raise LogError(f"cannot lock {path}: {exc.strerror}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(log_path, fd)

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Clear the recorded pid and unlock; calling it again does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor of the open file drops the flock


def _read_pid(fd: int) -> int | None:
    """The pid a holder recorded, or None while it has not written it yet."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
