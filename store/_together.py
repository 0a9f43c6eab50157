"""Syncs issued at once: what must all be durable by one point, synced together.

A run's end syncs its projections (three artifacts, ``files/``, their directories), and
a run pack's first sync the pack and the directory entries it made. None of them has to
be durable before another, only all of them before the run goes on; one after the other,
each fsync waits for its own journal commit. :func:`together` issues them from a few
threads at once, so the file system commits them together (ext4's journal joins the
fsyncs that arrive while a commit is open) and the wait is about one sync, not one each.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["together"]

T = TypeVar("T")
_WORKERS = 8
_pool: list[ThreadPoolExecutor] = []
_pool_mutex = threading.Lock()


def _forked() -> None:
    """In a forked child the pool's threads are gone: the child makes its own."""
    global _pool_mutex
    _pool_mutex = threading.Lock()
    _pool.clear()


os.register_at_fork(after_in_child=_forked)


def together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Every call's result, the calls made concurrently (one alone: in this thread).

    All of them are waited for; then the first exception raised, if any, is raised.
    """
    if len(calls) <= 1:
        return [call() for call in calls]
    with _pool_mutex:
        if not _pool:
            _pool.append(ThreadPoolExecutor(_WORKERS, thread_name_prefix="agentlog-sync"))
        pool = _pool[0]
    futures = [pool.submit(call) for call in calls]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]
