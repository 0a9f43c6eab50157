"""How a command finds what it is given: a run's log, or a runs directory.

Every command that takes RUN opens it here, so a missing, misplaced or foreign file is
the same one clear line (exit 2) whichever command was asked. Opening a run also settles
an ``agentlog apply`` to it that was cut short (its journal beside the log): rolled back
or finished, with one note, so the next command on the run leaves the target whole.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from actors.cli.terminal import inert
from events import UsageError
from store import LOG_NAME, EventLog, log_file_problem, resolve_log_path

__all__ = ["APPLY_JOURNAL", "open_log", "require_directory", "settle_apply"]

#: The journal an apply keeps in the run directory (``actors.workspace.transaction``;
#: ``.tmp`` while it is being written), named here so that opening a run costs two
#: ``lstat`` calls, not that module's import.
APPLY_JOURNAL = "apply.journal"


def _shown(path: Path) -> str:
    return inert(str(path))


def require_directory(path: Path, label: str = "") -> None:
    """A usage error unless ``path`` is a directory, saying if it is missing or something else."""
    if not path.is_dir():
        what = "not a directory" if path.exists() else "no such directory"
        raise UsageError(f"{label}{_shown(path)}: {what}")


def _check_waitable(path: Path) -> None:
    """Refuse to wait for ``path`` (a log) where no run can ever appear."""
    run_dir = path.parent
    if run_dir.is_dir():
        if any(run_dir.iterdir()):
            raise UsageError(f"{_shown(run_dir)}: not a run directory (no {LOG_NAME}, other files)")
        return  # an empty directory: the run is about to start
    if run_dir.exists():
        raise UsageError(f"{_shown(run_dir)}: not a directory")
    if not run_dir.parent.is_dir():
        raise UsageError(
            f"{_shown(run_dir)}: no such directory, and neither is {_shown(run_dir.parent)}"
        )


def open_log(run: str, *, wait: bool = False, in_run_dir: bool = False) -> EventLog:
    """The log of RUN (a run directory or its events.jsonl), or a usage error naming it.

    With ``wait`` a missing log is waited for (``log --follow`` started before the run),
    as long as a run can still appear there: in an empty or not yet created directory
    whose parent exists. With ``in_run_dir`` (commands that write projections beside the
    log) a log file not named events.jsonl is refused: its directory is no run's, and
    rebuilding there would replace the user's own ``plan.json`` or ``files/``.
    """
    path = resolve_log_path(run)
    if in_run_dir and path.name != LOG_NAME:
        raise UsageError(
            f"{_shown(path)}: not a run's {LOG_NAME}; this command writes beside the log, "
            "so pass a run directory"
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(f"{_shown(path.parent)}: not a directory")
    if wait and not os.path.lexists(path):  # something else in its place is named below
        _check_waitable(path)
        print(f"agentlog: waiting for {_shown(path)} to appear…", file=sys.stderr)
        while not os.path.lexists(path):
            time.sleep(0.1)
    problem = log_file_problem(path)
    if problem is not None:
        raise UsageError(f"{_shown(path)}: {problem}")
    if path.name == LOG_NAME and any(
        os.path.lexists(path.parent / name) for name in (APPLY_JOURNAL, APPLY_JOURNAL + ".tmp")
    ):
        settle_apply(path.parent, busy_ok=True)
    return EventLog(path)


def settle_apply(run: Path, *, busy_ok: bool = False) -> None:
    """Roll back or finish an apply to ``run`` that was cut short, and say which
    (``busy_ok``: an apply still running is left to finish)."""
    from actors.workspace.transaction import recover

    settled = recover(run, busy_ok=busy_ok)
    if settled is not None:
        print(f"agentlog: note: {inert(settled.describe())}", file=sys.stderr)
