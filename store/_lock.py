"""The single-writer lock: an exclusive ``flock`` on the log file itself.

``flock`` locks belong to an open file, so a second writer is refused whether it lives in
another process or in this one, and the kernel drops the lock when its holder dies.
Locking the log itself (rather than a sidecar file) leaves nothing else in the run
directory and saves creating a file per run.

A lock is dropped with an explicit ``LOCK_UN`` before its descriptor is closed: a
subprocess that another thread forks while the lock is held (an evaluation's check, a
sandboxed command) has a copy of every descriptor until it execs, and a close alone
drops the lock only with the last copy, so a busy machine would refuse the run's next
writer ("being written by another process") with nobody writing. The holder records its pid in the
extended attribute ``user.agentlog.writer`` for the "locked" message; on a filesystem
without user xattrs the message just cannot name the pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from store.errors import LogError, LogLocked

__all__ = ["PID_XATTR", "LogLock", "unlock_and_close"]

#: Extended attribute of the log holding the current writer's pid.
PID_XATTR = "user.agentlog.writer"
_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC


class LogLock:
    """The log opened for appending and locked; :meth:`release` (or death) frees both.

    ``fd`` is the append descriptor the writer uses; ``created`` says whether acquiring
    created the log file.
    """

    def __init__(self, log_path: Path, fd: int, created: bool) -> None:
        self.log_path = log_path
        self.fd = fd
        self.created = created
        self._held = True

    @classmethod
    def acquire(cls, log_path: Path, *, create: bool = True) -> LogLock:
        """Open (creating with ``create``) and lock the log without waiting.

        Raises :class:`LogLocked` naming the holder's pid when another writer has it.
        """
        fd, created = _open(log_path, create)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LogLocked(log_path, pid) from None
        except OSError as exc:
            os.close(fd)
            raise LogError(f"cannot lock {log_path}: {exc.strerror}") from exc
        with contextlib.suppress(OSError):  # no user xattrs here: the pid stays unnamed
            os.setxattr(fd, PID_XATTR, str(os.getpid()).encode())
        return cls(log_path, fd, created)

    @staticmethod
    def is_held(log_path: Path) -> bool:
        """Whether a writer holds the log's lock now (a shared lock, tried and dropped)."""
        try:
            fd = os.open(log_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            unlock_and_close(fd)
        return False

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._held

    def release(self) -> None:
        """Close the descriptor, which drops the lock; calling it again does nothing."""
        if not self._held:
            return
        self._held = False
        with contextlib.suppress(OSError):
            os.removexattr(self.fd, PID_XATTR)
        unlock_and_close(self.fd)


def unlock_and_close(fd: int) -> None:
    """Drop the flock now, then close: a forked child's copy of ``fd`` keeps no lock.

    Every ``flock`` agentlog holds is let go this way (the log's, ``apply``'s on its run
    directory, a sandbox user id's lease).
    """
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _open(log_path: Path, create: bool) -> tuple[int, bool]:
    try:
        if create:
            try:
                return os.open(log_path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o644), True
            except FileExistsError:
                pass
        return os.open(log_path, _FLAGS), False
    except OSError as exc:
        raise LogError(f"cannot open {log_path} for writing: {exc.strerror or exc}") from exc


def _read_pid(fd: int) -> int | None:
    """The pid the holder recorded, or None (not written yet, or no xattr support)."""
    try:
        text = os.getxattr(fd, PID_XATTR).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
