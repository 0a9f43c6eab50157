"""The one rule for where a new run may go: a new or empty directory, or one whose run
never started.

agentlog never writes among someone else's files, and a directory that already holds a
run is continued (``resume``) or branched from (``fork``), never started over. What a run
writes before its first event (a workspace's base in ``objects/``, then an empty
``events.jsonl`` it opens) is a run that never started: cut before it began, so a new run
may take the directory. :func:`check_no_run` is the one "already holds a run" rule
(``Supervisor.start``, ``fork``); :func:`check_new_run_dir` adds, for a person's
``--run-dir``, that it holds nobody else's files.
"""

from __future__ import annotations

import os
from pathlib import Path

from events import UsageError
from store import LOG_NAME
from store._lock import LogLock

__all__ = ["check_new_run_dir", "check_no_run", "never_started"]

#: What a run writes before its first event: a workspace's base in ``objects/``, then
#: the log it opens (empty until ``WorkflowStarted`` is written).
_BEFORE_FIRST_EVENT = frozenset({LOG_NAME, "objects"})


def never_started(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds only what a run writes before its first event (and
    something of it), with no writer on its log: a run cut before it began, which a new
    run may start over."""
    path = Path(run_dir)
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    for entry in entries:
        if entry.name not in _BEFORE_FIRST_EVENT:
            return False
        if entry.name == LOG_NAME and not (
            entry.is_file(follow_symlinks=False) and entry.stat().st_size == 0
        ):
            return False
        if entry.name == "objects" and not entry.is_dir(follow_symlinks=False):
            return False
    if LogLock.is_held(path / LOG_NAME):  # a run starting right now: it holds its log
        return False
    return bool(entries)


def check_no_run(run_dir: str | Path) -> None:
    """Refuse (``UsageError``) a directory that already holds a run: its log has an event,
    or a writer holds it (a run starting there now). An empty log nobody writes is a run
    that never started: a new run may take its place."""
    path = Path(run_dir)
    log = path / LOG_NAME
    if log.is_file() and log.stat().st_size > 0:
        raise UsageError(
            f"{path}: already holds a run; `agentlog resume {path}` continues it, "
            f"`agentlog fork {path} --at SEQ --run-dir NEW` branches from it"
        )
    if LogLock.is_held(log):
        raise UsageError(f"{path}: a run is starting there now; choose another --run-dir")


def check_new_run_dir(run_dir: str | Path) -> None:
    """Refuse (``UsageError``) a directory a person's new run may not go into: one that
    holds a run (:func:`check_no_run`), holds anything else that is not what a run writes
    before its first event (someone's files), or is not a directory.

    The CLI asks this of every ``--run-dir`` (before it reads a task from stdin);
    ``Supervisor.start`` and ``fork`` ask :func:`check_no_run`, so a program that owns
    its run directories (``batch``) may start a run over what a lost run left in them.
    """
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: exists and is not a directory; choose a new --run-dir")
    if not path.exists():
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise UsageError(f"{above}: is not a directory; choose another --run-dir")
        return
    if never_started(path):
        return
    check_no_run(path)
    others = [p.name for p in path.iterdir() if p.name != LOG_NAME or not p.is_file()]
    if others:
        raise UsageError(
            f"{path}: is not empty (it holds {sorted(others)[0]!r}"
            f"{f' and {len(others) - 1} more' if len(others) > 1 else ''}); "
            "a new run goes into a new or empty directory"
        )
