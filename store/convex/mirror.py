"""Mirror a running workflow's log to Convex from a daemon thread that never blocks it.

The workflow only ever calls :meth:`ConvexMirror.notify` (as a ``LogWriter.on_append``
listener, so it hears only durable events): it puts them in a bounded in-memory queue
and wakes the thread. The thread asks Convex for the run's last mirrored ``seq``
(checked against the log, see :mod:`store.convex.cursor`) and sends the events after
it, in order, in batches to ``mirror:apply``. Anything the queue does not hold (it
overflowed during an outage, or the run began before the mirror) is read back from
``events.jsonl``, so an outage costs no memory beyond the queue's bound and catch-up
resumes from what Convex itself recorded. Failures are logged (logger
``agentlog.convex``) and retried with capped exponential backoff.

:meth:`close` gives a healthy mirror a short bounded flush; a failing or still
unconnected one is left at once, and ``agentlog sync RUN`` catches the rest up.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice, takewhile
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from events import Event, UnknownEvent
from store._logging import get_logger
from store.convex.cursor import checked_cursor, seq_of
from store.convex.errors import ConvexCallError
from store.convex.rows import APPLY, batch_payload
from store.errors import LogError
from store.log import EventLog, LogWriter, resolve_log_path
from store.projections import workflow_state

__all__ = ["ENV_DEPLOY_KEY", "ENV_URL", "ConvexMirror", "MirrorReport"]

ENV_URL = "CONVEX_URL"
ENV_DEPLOY_KEY = "CONVEX_DEPLOY_KEY"

AnyEvent = Event | UnknownEvent
_log = get_logger("agentlog.convex")


class MirrorReport(msgspec.Struct, frozen=True, kw_only=True):
    """Where a mirror stood when it was closed.

    ``mirrored_seq`` is the last seq Convex confirmed, ``last_seq`` the last one the
    mirror saw appended; ``caught_up`` says nothing is left for ``agentlog sync``.
    """

    workflow_id: str
    mirrored_seq: int
    last_seq: int
    caught_up: bool
    last_error: str | None


class ConvexMirror:
    """Mirrors one run (a run directory or its ``events.jsonl``) to the deployment at ``url``.

    Use :meth:`from_env` to get one only when ``CONVEX_URL`` is set; :meth:`attach` it
    to the run's writer, and :meth:`close` it when the workflow ends.
    """

    def __init__(
        self,
        run: str | Path,
        *,
        url: str,
        deploy_key: str | None = None,
        batch_size: int = 200,
        max_queued: int = 10_000,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        backoff_base: float = 0.25,
        backoff_max: float = 15.0,
        poll_interval: float = 1.0,
        workflow_id: str = "",
    ) -> None:
        self.log = EventLog(resolve_log_path(run))
        self.url = url
        self._client_options: dict[str, Any] = {
            "deploy_key": deploy_key,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        self._batch_size = batch_size
        self._backoff = (backoff_base, backoff_max)
        self._poll = poll_interval
        self._queue: deque[AnyEvent] = deque(maxlen=max_queued)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._workflow_id = workflow_id
        self._mirrored = 0
        self._seen = 0
        self._durable_limit: int | None = None  # set by attach: send nothing past it
        self._healthy = False
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="agentlog-convex", daemon=True)

    @classmethod
    def from_env(
        cls, run: str | Path, env: Mapping[str, str] | None = None, **options: Any
    ) -> ConvexMirror | None:
        """A mirror configured from ``CONVEX_URL`` and ``CONVEX_DEPLOY_KEY``; None when unset."""
        env = os.environ if env is None else env
        url = env.get(ENV_URL, "").strip()
        if not url:
            return None
        key = env.get(ENV_DEPLOY_KEY, "").strip() or None
        return cls(run, url=url, deploy_key=key, **options)

    def __repr__(self) -> str:
        return f"ConvexMirror({str(self.log.path)!r}, url={self.url!r})"

    def __enter__(self) -> ConvexMirror:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def mirrored_seq(self) -> int:
        """The last seq Convex confirmed for this run."""
        return self._mirrored

    @property
    def healthy(self) -> bool:
        """Whether the last Convex call succeeded."""
        return self._healthy

    def start(self) -> ConvexMirror:
        """Start the mirroring thread (no network call happens on the caller's thread)."""
        if not self._thread.is_alive() and not self._done.is_set():
            self._thread.start()
        return self

    def attach(self, writer: LogWriter) -> Callable[[], None]:
        """Listen to ``writer``'s appends and start; returns a function that detaches.

        From then on the mirror sends nothing past what it heard was durable: the events
        already in the log when it attached, then those the writer reports synced (a
        catch-up read from ``events.jsonl`` stops there too, leaving out lines written
        but not yet synced).
        """
        with self._lock:
            self._durable_limit = max(self._seen, writer.last_seq)
            self._seen = self._durable_limit
        remove = writer.on_append(self.notify)
        self.start()
        return remove

    def notify(self, events: Sequence[AnyEvent]) -> None:
        """Queue durable, stamped events and wake the thread; never blocks on Convex."""
        if not events:
            return
        with self._lock:
            self._queue.extend(events)
            self._seen = max(self._seen, events[-1].seq)
            if self._durable_limit is not None:
                self._durable_limit = self._seen
        self._wake.set()

    def close(self, flush_timeout: float = 2.0) -> MirrorReport:
        """Stop mirroring; a healthy mirror first gets up to ``flush_timeout`` s to catch up."""
        self._closing.set()
        self._wake.set()
        if self._thread.is_alive() and self._healthy:
            self._thread.join(max(0.0, flush_timeout))
        self._stop.set()
        self._wake.set()
        report = MirrorReport(
            workflow_id=self._workflow_id,
            mirrored_seq=self._mirrored,
            last_seq=self._seen,
            caught_up=self._mirrored >= self._seen,
            last_error=self._last_error,
        )
        if not report.caught_up:
            _log.info(
                "convex mirror left events behind; `agentlog sync RUN` catches them up",
                run=str(self.log.path.parent),
                mirrored_seq=report.mirrored_seq,
                last_seq=report.last_seq,
            )
        return report

    def wait_caught_up(self, seq: int, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until Convex confirmed ``seq``; for tools and tests."""
        deadline = time.monotonic() + timeout
        while self._mirrored < seq:
            if time.monotonic() >= deadline or self._done.is_set():
                return self._mirrored >= seq
            time.sleep(0.01)
        return True

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        from store.convex.client import ConvexCalls  # the HTTP stack loads on this thread

        calls = ConvexCalls(self.url, **self._client_options)
        failures = 0
        cursor: int | None = None
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    if not self._workflow_id and not self._learn_workflow_id():
                        if self._closing.is_set():
                            return
                        self._wake.wait(self._poll)
                        continue
                    if cursor is None:
                        cursor = checked_cursor(calls, self.log, self._workflow_id)
                        self._confirmed(cursor, failures)
                        failures = 0
                    batch = self._next_batch(cursor)
                    if not batch:
                        if self._closing.is_set():
                            return
                        self._wake.wait(self._poll)
                        continue
                    result = calls.mutation(APPLY, batch_payload(self._workflow_id, batch))
                    cursor = seq_of(APPLY, result)
                    self._confirmed(cursor, failures)
                    failures = 0
                except ConvexCallError as exc:
                    if self._stop.is_set():  # closed while the call was out: say nothing
                        return
                    cursor = None
                    failures += 1
                    self._failed(exc, failures)
                    if self._closing.is_set():
                        return
                    self._stop.wait(self._delay(failures))
        except LogError as exc:
            self._last_error = str(exc)
            _log.warning("convex mirror stopped: the log cannot be read", error=str(exc))
        finally:
            self._done.set()

    def _learn_workflow_id(self) -> bool:
        """The workflow id in force (a fork's own, not its source's), from the log's fold."""
        if self.log.path.exists():
            self._workflow_id = workflow_state(self.log.read()).workflow_id
        return bool(self._workflow_id)

    def _next_batch(self, cursor: int) -> list[AnyEvent]:
        """The events after ``cursor``, from the queue when it holds them, else from the log."""
        with self._lock:
            while self._queue and self._queue[0].seq <= cursor:
                self._queue.popleft()
            if self._queue and self._queue[0].seq == cursor + 1:
                return list(islice(self._queue, self._batch_size))
            limit = self._durable_limit
        if not self.log.path.exists() or (limit is not None and limit <= cursor):
            return []
        events: Iterator[AnyEvent] = self.log.read(cursor + 1)
        if limit is not None:
            events = takewhile(lambda ev: ev.seq <= limit, events)
        return list(islice(events, self._batch_size))

    def _confirmed(self, seq: int, failures: int) -> None:
        self._mirrored = seq
        self._seen = max(self._seen, seq)
        if failures:
            _log.info("convex mirror recovered", url=self.url, mirrored_seq=seq)
        self._healthy = True
        self._last_error = None

    def _failed(self, exc: ConvexCallError, failures: int) -> None:
        self._healthy = False
        changed = exc.message != self._last_error
        self._last_error = exc.message
        if failures == 1 or changed:
            _log.warning(
                "convex call failed; the workflow goes on and mirroring will retry",
                url=self.url,
                function=exc.function,
                error=exc.message,
                code=exc.code or None,
                workflow_id=self._workflow_id,
                mirrored_seq=self._mirrored,
            )

    def _delay(self, failures: int) -> float:
        base, cap = self._backoff
        return float(min(cap, base * 2 ** min(failures - 1, 16)))
