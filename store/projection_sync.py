"""Keep a run's projections on disk in step with its log across a power cut.

While a run goes on the supervisor writes ``plan.json`` ... ``files/`` without fsync (the
synced log is the truth). :func:`sync_projections` makes them durable once, when the run
ends; after a cut before that, :func:`check_projections` finds what differs from the log
(a file left empty, a rename lost, a stray temp file) and :func:`repair_projections`
rebuilds it, for ``agentlog verify --repair`` and ``resume``.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from events import Event, UnknownEvent
from store._together import together
from store.log import EventLog
from store.materialize import ARTIFACT_FILES, FILES_DIR, materialize

__all__ = ["SYNCFS_FROM_FILES", "check_projections", "repair_projections", "sync_projections"]


def check_projections(run_dir: Path, events: Iterable[Event | UnknownEvent]) -> list[str]:
    """What on disk differs from the log's projection, one ``path: problem`` each.

    Empty when ``plan.json``, ``code.json``, ``review.json`` and ``files/`` are exactly
    what :func:`materialize` would write. Reads only; a path the log itself refuses
    raises :class:`~store.paths.UnsafePath` as :func:`materialize` would.
    """
    report = materialize(run_dir, events, dry_run=True)
    return [f"{path}: missing or not what the log says" for path in report.written] + [
        f"{path}: not in the log's projection" for path in report.removed
    ]


def repair_projections(log: EventLog) -> list[str]:
    """Rebuild, durably, the projections of ``log``'s run that differ from the log.

    Returns what was wrong (see :func:`check_projections`); nothing is written when that
    is empty. For ``verify --repair`` and for resuming a run that already ended.
    """
    run_dir = log.path.parent
    wrong = check_projections(run_dir, log.read())
    if wrong:
        materialize(run_dir, log.read(), durable=True)
        sync_projections(run_dir)
    return wrong


#: From this many files in ``files/`` on, one ``syncfs(2)`` of the run's file system
#: replaces an fsync per file and directory: the syncs of a run's end do not grow per file.
SYNCFS_FROM_FILES = 64


def sync_projections(run_dir: Path) -> int:
    """Make every projection file and directory of a run durable once; returns how many
    syncs that took.

    For the end of a run whose projections were written without fsync: afterwards a
    power cut leaves them as they are. The artifacts, the files of ``files/`` while it
    holds fewer than :data:`SYNCFS_FROM_FILES`, and the directories are fsynced all at
    once (:func:`store._together.together`: one journal commit, not one each); a larger
    ``files/`` (a workspace's repository) with one ``syncfs`` of the file system holding
    the run (Linux; elsewhere file by file). Symlinks are never followed.
    """
    artifacts = [run_dir / name for name in ARTIFACT_FILES]
    files_root = run_dir / FILES_DIR
    entries: list[Path] = []
    if os.path.isdir(files_root) and not os.path.islink(files_root):
        # every file and directory of files/, links not followed
        for dirpath, _dirnames, filenames in os.walk(files_root, topdown=False):
            entries.extend(Path(dirpath, name) for name in filenames)
            entries.append(Path(dirpath))
    if len(entries) >= SYNCFS_FROM_FILES and _syncfs(run_dir):
        return 1  # the file system's every file and directory entry, the run's too
    # Issued at once: each must be durable by the end, none before another.
    wanted = [*artifacts, *entries, run_dir]
    return sum(together([functools.partial(_sync_entry, path) for path in wanted]))


def _syncfs(directory: Path) -> bool:
    """``syncfs(2)`` the file system holding ``directory``; False where there is none."""
    import ctypes  # only for a large files/: not on every run's import path

    try:
        call = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return bool(call(fd) == 0)
    finally:
        os.close(fd)


def _sync_entry(path: Path) -> int:
    """fsync a regular file or directory (not through a symlink); 1 if it was synced."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return 0
        os.fsync(fd)
        return 1
    finally:
        os.close(fd)
