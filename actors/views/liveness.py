"""Whether a run's log has a live writer, asked without touching the lock.

A run that has no final event is either still running or was interrupted; only the
writer lock (an exclusive ``flock`` on ``events.jsonl``, see ``store/_lock.py``) tells
them apart. Trying the lock would race a writer starting at that instant, so this reads
the kernel's table of held locks (``/proc/locks``) instead, once per listing; where that
table is missing it falls back to the holder's pid in the log's extended attribute.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["WriterTable"]

_PID_XATTR = "user.agentlog.writer"  # written by store._lock.LogLock


class WriterTable:
    """A snapshot of the exclusive ``flock``s held on this machine (taken once, reused)."""

    def __init__(self, locks_file: str = "/proc/locks") -> None:
        self._held: set[tuple[int, int, int]] | None = None
        with (
            contextlib.suppress(OSError),
            open(locks_file, encoding="ascii", errors="replace") as f,
        ):
            self._held = _parse(f.read())

    def has_writer(self, log_path: Path) -> bool:
        """Whether a writer holds ``log_path`` now (False when it does not exist)."""
        try:
            st = os.stat(log_path)
        except OSError:
            return False
        if self._held is not None:
            return (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in self._held
        return _pid_alive(log_path)


def _parse(text: str) -> set[tuple[int, int, int]]:
    """(major, minor, inode) of every exclusive FLOCK line (waiters, ``->``, skipped)."""
    held: set[tuple[int, int, int]] = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK" or parts[3] != "WRITE":
            continue  # a waiter's line reads "n: -> FLOCK ..."
        major, minor, inode = [*parts[5].split(":"), "", "", ""][:3]
        with contextlib.suppress(ValueError):
            held.add((int(major, 16), int(minor, 16), int(inode)))
    return held


def _pid_alive(log_path: Path) -> bool:
    """The fallback: the pid the writer recorded names a live process."""
    try:
        text = os.getxattr(log_path, _PID_XATTR).decode("ascii", "replace").strip()
    except OSError:
        return False
    if not text.isdigit():
        return False
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
