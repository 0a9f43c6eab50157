"""Bounded, process-wide concurrency: driver threads for workflows and slots for model calls.

A supervisor spends nearly all its time waiting for an agent's answer, so a thread per
workflow buys only kernel time waking and parking threads. Instead a process holds at
most ``AGENTLOG_MAX_RUNNING`` driver threads (default 128), each driving one workflow at
a time to its end; further workflows queue (holding their open log, no thread). Model
calls in flight are bounded separately by ``AGENTLOG_MAX_CALLS`` (default: unbounded
beyond the drivers), which also paces a process against a provider's rate limits.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TypeVar

__all__ = [
    "DriverPool",
    "call_slot",
    "configure_limits",
    "drivers",
]

T = TypeVar("T")

_DEFAULT_RUNNING = 128
_local = threading.local()


class DriverPool:
    """At most ``size`` daemon threads running submitted jobs, started only as needed.

    Daemon threads, so Ctrl-C ends the process without waiting for a workflow (its log
    keeps what was done, and ``resume`` goes on). A job submitted from a driver thread runs
    inline: a driver waiting for a job queued behind itself would deadlock the pool.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._jobs: deque[tuple[Callable[[], object], Future[object]]] = deque()
        self._ready = threading.Condition()
        self._threads = 0
        self._idle = 0

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run ``job`` on a driver thread; its future holds the result or the exception."""
        future: Future[T] = Future()
        if getattr(_local, "driver", False):
            _run(job, future)
            return future
        with self._ready:
            self._jobs.append((job, future))  # type: ignore[arg-type]
            if len(self._jobs) > self._idle and self._threads < self.size:
                self._threads += 1
                name = f"agentlog-driver-{self._threads}"
                threading.Thread(target=self._work, name=name, daemon=True).start()
            else:
                self._ready.notify()
        return future

    @property
    def threads(self) -> int:
        """Driver threads started so far (never more than ``size``)."""
        return self._threads

    def _work(self) -> None:
        _local.driver = True
        while True:
            with self._ready:
                self._idle += 1
                while not self._jobs:
                    self._ready.wait()
                self._idle -= 1
                job, future = self._jobs.popleft()
            _run(job, future)


def _run(job: Callable[[], T], future: Future[T]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = job()
    except BaseException as exc:  # handed to whoever waits, whatever it is
        future.set_exception(exc)
    else:
        future.set_result(result)


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        from events import UsageError

        raise UsageError(f"${name} must be a whole number, not {raw!r}") from None
    return value if value > 0 else default


_lock = threading.Lock()
_drivers: DriverPool | None = None
_calls: threading.BoundedSemaphore | None = None
_calls_set = False


def drivers() -> DriverPool:
    """The process's driver pool (sized by ``AGENTLOG_MAX_RUNNING`` when first used)."""
    global _drivers
    with _lock:
        if _drivers is None:
            size = _env_int("AGENTLOG_MAX_RUNNING", _DEFAULT_RUNNING)
            _drivers = DriverPool(size or _DEFAULT_RUNNING)
        return _drivers


def configure_limits(*, max_running: int | None = None, max_calls: int | None = None) -> None:
    """Set the process's limits before its first workflow (the environment's otherwise).

    ``max_running`` sizes a new driver pool (threads already driving keep their work);
    ``max_calls`` bounds model calls in flight (``0`` lifts the bound).
    """
    global _drivers, _calls, _calls_set
    with _lock:
        if max_running is not None:
            _drivers = DriverPool(max_running)
        if max_calls is not None:
            _calls = threading.BoundedSemaphore(max_calls) if max_calls > 0 else None
            _calls_set = True


def _call_semaphore() -> threading.BoundedSemaphore | None:
    global _calls, _calls_set
    with _lock:
        if not _calls_set:
            limit = _env_int("AGENTLOG_MAX_CALLS", None)
            _calls = threading.BoundedSemaphore(limit) if limit else None
            _calls_set = True
        return _calls


@contextlib.contextmanager
def call_slot(timeout: float) -> Iterator[bool]:
    """Hold one of the process's model-call slots; yields False when none freed in time."""
    slots = _call_semaphore()
    if slots is None:
        yield True
        return
    if not slots.acquire(timeout=timeout):
        yield False
        return
    try:
        yield True
    finally:
        slots.release()
