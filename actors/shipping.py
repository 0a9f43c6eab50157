"""Shipping a running workflow's durable events elsewhere, from a thread that never blocks it.

A :class:`Shipper` follows one run: the workflow only ever hands it durable events
(:meth:`Shipper.attach` makes it a ``LogWriter.on_append`` listener) and it puts them in
a bounded in-memory queue and wakes its daemon thread. The thread ships them with
:meth:`Shipper._ship_once`, which reads back from ``events.jsonl`` whatever the queue
lacks (it overflowed during an outage, or the run began before the shipper) without
ever reading past what it heard was durable. A failed call is logged by the
implementation and retried with capped exponential backoff; the thread ends once the
run's final event is shipped, or once released or closed.

When a run stops (it ends, parks at a gate, or is interrupted) its supervisor calls
:meth:`Shipper.release`: a healthy shipper gets up to ``flush_timeout`` seconds to ship
the rest; one that is failing or whose far end never answered yet holds nobody (it
finishes, or gives up at its next failure, on its own thread). :meth:`Shipper.close`
stops a shipper outright, giving a far end that never answered at most
:attr:`Shipper.unanswered_wait` seconds from its call's start; the process's exit gives
the shippers still at work the same bounded flush. What is left is for the
implementation's catch-up command (``agentlog export``, ``agentlog sync``).

The two implementations are :class:`actors.otel.live.LiveExporter` (OTLP spans) and
:class:`actors.convex.mirror.ConvexMirror` (Convex tables). An :class:`Integration`
makes a run's shipper; :func:`actors.integrations.integrations_from_env` builds them
from the environment for the entry points, which hand them to
``Supervisor(listeners=...)``: the core never imports an integration.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from events import Event, UnknownEvent, WorkflowCompleted, WorkflowFailed
from store import EventLog, LogError, LogWriter, resolve_log_path

__all__ = ["Integration", "ShipFailed", "Shipper"]

AnyEvent = Event | UnknownEvent
_open: weakref.WeakSet[Shipper] = weakref.WeakSet()


class ShipFailed(Exception):
    """One shipping call failed; the thread logs it (once per new ``message``) and retries."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Shipper(ABC):
    """Ships one run (a run directory or its ``events.jsonl``) from a daemon thread.

    Subclasses implement :meth:`_ship_once` (send what is due: True when something was
    sent, False when nothing was due; raise :class:`ShipFailed` on a failed call) and
    the hooks that log and report; the queue, the thread, the backoff, the flush and the
    durable limit are the base's. A shipper is also a plain event listener.
    """

    thread_name: ClassVar[str] = "agentlog-ship"
    #: What the logs call this shipper, and the logger they go to.
    label: ClassVar[str] = "shipper"
    logger: ClassVar[Any]
    #: How long a close (or the exit) waits for a far end that never answered yet.
    unanswered_wait: ClassVar[float] = 0.0

    def __init__(
        self,
        run: str | Path,
        *,
        max_queued: int,
        backoff_base: float,
        backoff_max: float,
        poll_interval: float,
        flush_timeout: float = 2.0,
    ) -> None:
        self.log = EventLog(resolve_log_path(run))
        self.flush_timeout = flush_timeout
        self._queue: deque[AnyEvent] = deque(maxlen=max_queued)
        self._backoff = (backoff_base, backoff_max)
        self._poll = poll_interval
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._final = threading.Event()  # the run's final event was heard
        self._closing = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._hurry = threading.Event()  # final, closing or stop: no more waiting for a burst
        self._seen = 0  # the last seq heard
        self._durable_limit: int | None = None  # set by attach: read nothing past it
        self._healthy = False  # until a call succeeded
        self._last_error: str | None = None
        self._call_started: float | None = None  # monotonic start of the call under way
        self._told_left_behind = False
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        _open.add(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def healthy(self) -> bool:
        """True once a call succeeded, until one fails."""
        return self._healthy

    @property
    def failing(self) -> bool:
        """True when the last call failed."""
        return self._last_error is not None

    def start(self) -> Self:
        """Start the thread (no network call happens on the caller's thread)."""
        with self._lock:
            if not self._thread.is_alive() and not self._done.is_set() and not self._stop.is_set():
                self._thread.start()
        return self

    def attach(self, writer: LogWriter) -> Callable[[], None]:
        """Listen to ``writer``'s durable appends and start; returns a function that detaches.

        From then on nothing past what was heard durable is read: the events already in
        the log when it attached, then those the writer reports synced.
        """
        with self._lock:
            self._durable_limit = max(self._seen, writer.last_seq)
            self._seen = self._durable_limit
        remove = writer.on_append(self.notify)
        self.start()
        return remove

    def notify(self, events: Sequence[AnyEvent]) -> None:
        """Queue durable, stamped events and wake the thread; never blocks on the far end."""
        if not events:
            return
        with self._lock:
            for ev in events:
                self._heard(ev)
                self._queue.append(ev)
            self._seen = max(self._seen, events[-1].seq)
            if self._durable_limit is not None:
                self._durable_limit = self._seen
        if any(isinstance(ev, WorkflowCompleted | WorkflowFailed) for ev in events):
            self._final.set()
            self._hurry.set()
        self.start()
        self._wake.set()

    def __call__(self, event: AnyEvent) -> None:
        """One durable event (a shipper is also a plain event listener)."""
        self.notify((event,))

    def _heard(self, event: AnyEvent) -> None:
        """Called under the lock for each event heard, before it is queued."""
        return None

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until the thread ended (after the final event)."""
        return self._done.wait(timeout)

    def close(self, flush_timeout: float | None = None) -> Any:
        """Stop; the thread first gets up to ``flush_timeout`` s to ship the rest.

        A failing shipper gets none, and one whose far end never answered yet at most
        :attr:`unanswered_wait` s from its call's start (or from the close). A call
        still under way after that is cut short where the implementation can, else left
        to end on its own (its daemon thread dies with the process); what is left is for
        the catch-up command.
        """
        wait = self.flush_timeout if flush_timeout is None else flush_timeout
        self._closing.set()
        self._hurry.set()
        self._wake.set()
        now = time.monotonic()
        self._drain(now + max(0.0, wait), now, self.unanswered_wait)
        with self._lock:
            self._stop.set()
            self._hurry.set()
            if self._thread.ident is None:
                self._done.set()  # never started: nothing to wait for
        self._wake.set()
        if not self._done.is_set():
            self._interrupt()
        caught_up = self._caught_up()
        if not caught_up:
            self._tell_left_behind()
        return self._report(caught_up)

    def release(self, flush_timeout: float | None = None) -> None:
        """The run stopped: ship what is left, then end (the thread ends on its own).

        Waits up to ``flush_timeout`` s while the shipper is healthy, not at all for one
        that is failing or whose far end never answered yet: that one finishes, or gives
        up at its next failure, on its own thread, never holding the caller.
        """
        wait = self.flush_timeout if flush_timeout is None else flush_timeout
        self._closing.set()
        self._hurry.set()
        with self._lock:
            if self._thread.ident is None:
                self._done.set()  # never started: it heard nothing to ship
        self._wake.set()
        now = time.monotonic()
        self._drain(now + max(0.0, wait), now, 0.0)

    # -- hooks ---------------------------------------------------------------------------

    @abstractmethod
    def _ship_once(self) -> bool:
        """Ship what is due; True when something was shipped, False when nothing was due."""

    @abstractmethod
    def _failed(self, error: ShipFailed, failures: int) -> None:
        """Log a failed call (``failures`` in a row)."""

    @abstractmethod
    def _caught_up(self) -> bool:
        """Whether nothing is left for the catch-up command."""

    @abstractmethod
    def _report(self, caught_up: bool) -> Any:
        """Where the shipper stood when closed."""

    @abstractmethod
    def _left_behind(self) -> None:
        """Log that something is left for the catch-up command."""

    def _stopped(self, error: str, *, log_unreadable: bool) -> None:
        """Log that the thread stopped on an error it cannot retry."""
        why = ": the log cannot be read" if log_unreadable else ""
        self.logger.warning(f"{self.label} stopped{why}", error=error)

    def _recovered(self) -> None:
        """Log that calls succeed again after failures."""
        return None

    def _gather(self) -> None:
        """Called before each round: an implementation may wait to batch a burst."""
        return None

    def _gives_up(self) -> bool:
        """Whether a failure ends the thread instead of a retry after backoff."""
        return self._closing.is_set()

    def _interrupt(self) -> None:
        """Called by close when the thread is still at work: cut a call short if possible."""
        return None

    def _finish(self) -> None:
        """Called on the thread when it ends."""
        return None

    # -- helpers for implementations -----------------------------------------------------

    def _read_after(self, seq: int) -> Generator[AnyEvent, None, None]:
        """The log's events after ``seq``, never past what was heard durable (closing the
        generator closes the log file at once)."""
        with self._lock:
            limit = self._durable_limit
        if not self.log.path.exists() or (limit is not None and limit <= seq):
            return
        events = self.log.read(seq + 1)
        try:
            for ev in events:
                if limit is not None and ev.seq > limit:
                    return
                yield ev
        finally:
            events.close()

    def _take_queued(self) -> list[AnyEvent]:
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
        return queued

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Around each call to the far end: a close waits for it only as long as it may."""
        self._call_started = time.monotonic()
        try:
            yield
        finally:
            self._call_started = None

    def _succeeded(self) -> None:
        self._healthy = True
        self._last_error = None

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                self._gather()
                self._wake.clear()
                try:
                    shipped = self._ship_once()
                except ShipFailed as exc:
                    if self._stop.is_set():  # closed while the call was out: say nothing
                        return
                    failures += 1
                    self._healthy = False
                    self._failed(exc, failures)
                    self._last_error = exc.message
                    if self._gives_up():
                        self._tell_left_behind()
                        return
                    self._stop.wait(self._delay(failures))
                    continue
                if failures:
                    self._recovered()
                failures = 0
                if shipped:
                    continue
                if self._closing.is_set() or self._final.is_set():
                    return  # nothing left to ship
                self._wake.wait(self._poll)
        except LogError as exc:
            self._last_error = str(exc)
            self._stopped(str(exc), log_unreadable=True)
        except Exception as exc:  # never raise on the workflow's process
            self._last_error = f"{type(exc).__name__}: {exc}"
            exiting = isinstance(exc, RuntimeError) and "interpreter shutdown" in str(exc)
            if not (self._stop.is_set() or exiting):  # at exit the HTTP stack stops under us
                self._stopped(self._last_error, log_unreadable=False)
        finally:
            try:
                self._finish()
            finally:
                self._done.set()

    def _tell_left_behind(self) -> None:
        if not self._told_left_behind:
            self._told_left_behind = True
            self._left_behind()

    def _delay(self, failures: int) -> float:
        base, cap = self._backoff
        return float(min(cap, base * 2 ** min(failures - 1, 16)))

    def _drain(self, deadline: float, began: float, patience: float) -> None:
        """Let the thread work until ``deadline`` while it is not failing; a shipper whose
        far end never answered yet, ``patience`` s from its call's start (or from
        ``began`` when no call is under way)."""
        while self._thread.is_alive() and not self.failing:  # re-checked: a failure ends it
            end = deadline
            if not self._healthy:
                since = self._call_started
                end = min(end, (began if since is None else since) + patience)
            left = end - time.monotonic()
            if left <= 0:
                return
            self._thread.join(min(0.02, left))


class Integration(ABC):
    """Makes the shipper of each run; handed to ``Supervisor(listeners=...)``.

    The supervisor asks it once per run it drives (start, resume, retry, fork, a
    decision continued) and closes the shipper when that run stops.
    """

    @abstractmethod
    def for_run(self, run_dir: Path, workflow_id: str) -> Shipper | None:
        """The shipper for the run in ``run_dir`` (``workflow_id`` when known), or None."""


def _flush_at_exit() -> None:
    """Give shippers nobody closed a bounded moment to ship their last events.

    At most 2 s in all, with the limits of :meth:`Shipper.close`.
    """
    now = time.monotonic()
    for shipper in list(_open):
        shipper._drain(now + 2.0, now, shipper.unanswered_wait)


atexit.register(_flush_at_exit)
