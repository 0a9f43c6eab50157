"""Mirror a running workflow's log to Convex from a daemon thread that never blocks it.

:class:`ConvexMirror` is a :class:`~actors.shipping.Shipper` (the base it shares with the
live OTel exporter): the workflow only ever hands it durable events, which it puts in a
bounded in-memory queue before waking the thread. The thread asks Convex for the run's
last mirrored ``seq`` (checked against the log, see :mod:`actors.convex.cursor`) and
sends the events after it, in order, in batches to ``mirror:apply``. Anything the queue
does not hold (it overflowed during an outage, or the run began before the mirror) is
read back from ``events.jsonl``, so an outage costs no memory beyond the queue's bound and catch-up
resumes from what Convex itself recorded. Failures are logged (logger
``agentlog.convex``) and retried with capped exponential backoff.

:meth:`close` gives a healthy mirror a short bounded flush; a failing or still
unconnected one is left at once, and ``agentlog sync RUN`` catches the rest up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from actors.convex.cursor import checked_cursor, seq_of
from actors.convex.errors import ConvexCallError
from actors.convex.rows import APPLY, batch_payload
from actors.logs import get_logger
from actors.shipping import Integration, ShipFailed, Shipper
from events import Event, UnknownEvent
from store.projections import workflow_state

if TYPE_CHECKING:
    from actors.convex.client import ConvexCalls

__all__ = ["ENV_DEPLOY_KEY", "ENV_URL", "ConvexMirror", "ConvexMirroring", "MirrorReport"]

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


class _CallFailed(ShipFailed):
    """A failed Convex call, as the shipper's thread retries it."""

    def __init__(self, call: ConvexCallError) -> None:
        super().__init__(call.message)
        self.call = call


class ConvexMirror(Shipper):
    """Mirrors one run (a run directory or its ``events.jsonl``) to the deployment at ``url``.

    Use :meth:`from_env` to get one only when ``CONVEX_URL`` is set; :meth:`attach` it
    to the run's writer, and :meth:`close` it when the workflow ends. A
    :class:`~actors.shipping.Shipper`, as the live OTel exporter is.
    """

    thread_name = "agentlog-convex"
    label = "convex mirror"
    logger = _log

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
        super().__init__(
            run,
            max_queued=max_queued,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            poll_interval=poll_interval,
        )
        self.url = url
        self._client_options: dict[str, Any] = {
            "deploy_key": deploy_key,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        self._batch_size = batch_size
        self._workflow_id = workflow_id
        self._mirrored = 0
        self._cursor: int | None = None  # where Convex stands, once asked
        self._calls: ConvexCalls | None = None

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

    @property
    def mirrored_seq(self) -> int:
        """The last seq Convex confirmed for this run."""
        return self._mirrored

    def close(self, flush_timeout: float | None = None) -> MirrorReport:
        """Stop mirroring; a healthy mirror first gets up to ``flush_timeout`` s to catch up."""
        report: MirrorReport = super().close(flush_timeout)
        return report

    def wait_caught_up(self, seq: int, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until Convex confirmed ``seq``; for tools and tests."""
        deadline = time.monotonic() + timeout
        while self._mirrored < seq:
            if time.monotonic() >= deadline or self._done.is_set():
                return self._mirrored >= seq
            time.sleep(0.01)
        return True

    # -- the shipper's hooks -------------------------------------------------------------

    def _ship_once(self) -> bool:
        if self._calls is None:
            from actors.convex.client import ConvexCalls  # the HTTP stack loads on this thread

            self._calls = ConvexCalls(self.url, **self._client_options)
        if not self._workflow_id and not self._learn_workflow_id():
            return False
        try:
            if self._cursor is None:
                with self._calling():
                    self._cursor = checked_cursor(self._calls, self.log, self._workflow_id)
                self._confirmed(self._cursor)
            batch = self._next_batch(self._cursor)
            if not batch:
                return False
            with self._calling():
                result = self._calls.mutation(APPLY, batch_payload(self._workflow_id, batch))
            self._cursor = seq_of(APPLY, result)
            self._confirmed(self._cursor)
            return True
        except ConvexCallError as exc:
            self._cursor = None  # asked again after the backoff
            raise _CallFailed(exc) from None

    def _caught_up(self) -> bool:
        return self._mirrored >= self._seen

    def _report(self, caught_up: bool) -> MirrorReport:
        return MirrorReport(
            workflow_id=self._workflow_id,
            mirrored_seq=self._mirrored,
            last_seq=self._seen,
            caught_up=caught_up,
            last_error=self._last_error,
        )

    def _left_behind(self) -> None:
        _log.info(
            "convex mirror left events behind; `agentlog sync RUN` catches them up",
            run=str(self.log.path.parent),
            mirrored_seq=self._mirrored,
            last_seq=self._seen,
        )

    def _failed(self, error: ShipFailed, failures: int) -> None:
        if failures == 1 or error.message != self._last_error:
            call = error.call if isinstance(error, _CallFailed) else None
            _log.warning(
                "convex call failed; the workflow goes on and mirroring will retry",
                url=self.url,
                function=call.function if call else None,
                error=error.message,
                code=(call.code if call else "") or None,
                workflow_id=self._workflow_id,
                mirrored_seq=self._mirrored,
            )

    def _recovered(self) -> None:
        _log.info("convex mirror recovered", url=self.url, mirrored_seq=self._mirrored)

    # -- the rows ------------------------------------------------------------------------

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
        events = self._read_after(cursor)
        try:
            return list(islice(events, self._batch_size))
        finally:
            events.close()

    def _confirmed(self, seq: int) -> None:
        self._mirrored = seq
        self._seen = max(self._seen, seq)
        self._succeeded()


class ConvexMirroring(Integration):
    """Gives each run a :class:`ConvexMirror` when ``CONVEX_URL`` is set (``env``: default
    the process environment, read when a run starts)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env

    def __repr__(self) -> str:
        return "ConvexMirroring()"

    def for_run(self, run_dir: Path, workflow_id: str) -> ConvexMirror | None:
        return ConvexMirror.from_env(run_dir, self.env, workflow_id=workflow_id)
