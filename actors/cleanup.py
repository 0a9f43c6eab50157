"""What must not outlive an interrupted process: child process groups and scratch dirs.

Code that starts a process group or a scratch directory (the Reviewer's test run)
registers it for as long as it lives::

    with cleanup.scratch_dir(scratch):
        proc = subprocess.Popen(..., start_new_session=True)
        with cleanup.process_group(proc.pid):
            out, _ = proc.communicate(timeout=timeout)

When the command line is interrupted (Ctrl-C, SIGTERM) it calls :func:`stop_children`:
every registered group is killed and every scratch directory removed. The thread whose
child was killed that way never leaves its ``with`` block: the process is exiting, and
whatever it would record about a killed child (a test run "exit -9") would be false.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["on_stop", "process_group", "reset", "scratch_dir", "stop_children", "stopping"]

_lock = threading.Lock()
_groups: set[int] = set()
_scratch: set[Path] = set()
_stopping = threading.Event()
_stopped: set[int | Path] = set()  # what stop_children killed or removed
_stoppers: list[Callable[[], object]] = []  # registries of their own (the sandbox's runs)


def reset() -> None:
    """Forget an earlier :func:`stop_children`: for a process that handled the interrupt
    and goes on (an embedding application, a test), so later runs are not parked."""
    with _lock:
        _stopping.clear()
        _stopped.clear()


def on_stop(stopper: Callable[[], object]) -> None:
    """Have :func:`stop_children` also call ``stopper`` (a module that tracks its own
    children, as the sandbox's runner does, kills them there)."""
    with _lock:
        if stopper not in _stoppers:
            _stoppers.append(stopper)


def stopping() -> bool:
    """True once :func:`stop_children` ran: the process is going away."""
    return _stopping.is_set()


def _park_if_stopped(item: int | Path) -> None:
    with _lock:
        stopped = item in _stopped
    if stopped:
        threading.Event().wait()  # never returns; the daemon thread ends with the process


@contextmanager
def process_group(pgid: int) -> Iterator[None]:
    """Register the process group ``pgid`` (a child started with ``start_new_session``)."""
    with _lock:
        _groups.add(pgid)
    try:
        yield
    finally:
        with _lock:
            _groups.discard(pgid)
        _park_if_stopped(pgid)


@contextmanager
def scratch_dir(path: str | Path) -> Iterator[None]:
    """Register a scratch directory that an interrupt must remove."""
    path = Path(path)
    with _lock:
        _scratch.add(path)
    try:
        yield
    finally:
        with _lock:
            _scratch.discard(path)
        _park_if_stopped(path)


def stop_children() -> tuple[int, int]:
    """Kill every registered process group, remove every scratch dir; (groups, dirs)."""
    _stopping.set()
    with _lock:
        groups, dirs = sorted(_groups), sorted(_scratch)
        _stopped.update(groups, dirs)
    for pgid in groups:
        with suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(pgid, signal.SIGKILL)
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)
    with _lock:
        stoppers = list(_stoppers)
    for stopper in stoppers:
        with suppress(Exception):  # the process is going away: stop what can be stopped
            stopper()
    return len(groups), len(dirs)
