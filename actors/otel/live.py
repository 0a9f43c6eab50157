"""Export a running workflow's spans as they close, from a thread that never blocks it.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) set, the entry points
hand ``Supervisor`` a :class:`LiveExport`, which gives every run a :class:`LiveExporter`:
a :class:`~actors.shipping.Shipper`, as the Convex mirror is. The workflow only ever
appends the event to a bounded in-memory queue and wakes the thread; the thread folds
each event once into a :class:`~actors.otel.spans.SpanStream` and sends the spans that
closed since its last successful export, so a long run costs it linear time and memory
that holds only open attempts and unsent spans. A collector that is down or hung costs
a failed or timed-out request on that thread and a capped backoff, never the workflow's
time; events the queue dropped are read back from the log, and whatever is still unsent
when the run stops (the supervisor closes the exporter) or the process ends is what
``agentlog export RUN`` sends later (same ids, so nothing doubles).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from actors.logs import get_logger
from actors.otel.content import capture_content
from actors.otel.problems import collector_problem
from actors.otel.sdk import (
    EXTRA_HINT,
    export_spans,
    exporter,
    last_sdk_message,
    quiet_sdk_logs,
    sdk_available,
    sdk_reported_problem,
)
from actors.otel.spans import SpanData, SpanStream, identity_of
from actors.shipping import Integration, ShipFailed, Shipper
from events import Event, UnknownEvent

if TYPE_CHECKING:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

__all__ = [
    "ENDPOINT_VARS",
    "LiveExport",
    "LiveExporter",
    "LiveReport",
    "live_endpoint",
    "live_listeners",
]

#: The standard variables that switch live export on (the traces-specific one wins).
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

AnyEvent = Event | UnknownEvent
_log = get_logger("agentlog.otel")
_warned: set[str] = set()  # what was already said once in this process


class LiveReport(msgspec.Struct, frozen=True, kw_only=True):
    """Where a live exporter stood when closed; ``caught_up`` says nothing is left over."""

    workflow_id: str
    exported_spans: int
    last_seq: int
    caught_up: bool
    last_error: str | None


def live_endpoint(env: Mapping[str, str] | None = None) -> str | None:
    """The collector live export goes to, or None when it is off.

    Off unless an OTLP endpoint variable is set; ``OTEL_SDK_DISABLED=true`` or
    ``OTEL_TRACES_EXPORTER=none`` switch it off as they do for the SDK.
    """
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if "none" in env.get("OTEL_TRACES_EXPORTER", "").lower().split(","):
        return None
    for name in ENDPOINT_VARS:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def live_listeners(
    run: str | Path, env: Mapping[str, str] | None = None
) -> tuple[LiveExporter, ...]:
    """The live exporter for a run when an OTLP endpoint is configured, else nothing.

    When the endpoint is set but the ``otel`` extra is missing, one warning says so (once
    a process); so does a gRPC protocol setting, which agentlog does not speak. ``env``
    decides whether to export; the exporter reads endpoint and headers from the process
    environment, as the SDK does.
    """
    env = os.environ if env is None else env
    if live_endpoint(env) is None:
        return ()
    if not sdk_available():
        _warn_once(
            "missing",
            f"OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is missing "
            f"({EXTRA_HINT}); runs are not exported live",
        )
        return ()
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", ""
    )
    if protocol.strip().lower().startswith("grpc"):
        _warn_once(
            "grpc",
            "agentlog exports OTLP over HTTP (http/protobuf), not gRPC: point "
            "OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (usually 4318)",
        )
    return (LiveExporter(run, content=capture_content(env)),)


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        _log.warning(message)


class LiveExporter(Shipper):
    """Sends one run's spans to the collector as they close; a :class:`~actors.shipping.Shipper`.

    ``endpoint`` None uses the standard OTLP variables (endpoint and headers). Attach it
    to the run's writer (or call it with each durable event); :meth:`close` (or the
    run's final event and process exit) ends it, giving a healthy exporter up to
    ``flush_timeout`` seconds to send the rest. Events arriving within ``batch_delay``
    seconds of each other leave in one request.
    """

    thread_name = "agentlog-otel"
    label = "live trace export"
    logger = _log
    unanswered_wait = 0.5  # a first request to a collector that may be hung

    def __init__(
        self,
        run: str | Path,
        *,
        endpoint: str | None = None,
        content: bool = False,
        timeout: float = 5.0,
        max_queued: int = 10_000,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        flush_timeout: float = 2.0,
        batch_delay: float = 0.05,
    ) -> None:
        super().__init__(
            run,
            max_queued=max_queued,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            poll_interval=1.0,
            flush_timeout=flush_timeout,
        )
        self.endpoint = endpoint
        self.content = content
        self._timeout = timeout
        self._batch_delay = batch_delay
        self._first_seq: int | None = None
        self._stream: SpanStream | None = None
        self._fed = 0  # the last seq folded into the stream
        self._unsent: list[SpanData] = []  # closed, not yet accepted by the collector
        self._max_unsent = max_queued
        self._dropped = 0  # unsent spans given up on (for `agentlog export`)
        self._exported = 0
        self._workflow_id = ""
        # Built here, in the caller's thread: importing the SDK from the background thread
        # could meet an interpreter already shutting down after a short run.
        self._client: OTLPSpanExporter | None = None
        try:
            self._client = exporter(self.endpoint, self._timeout)
        except Exception as exc:  # never fail a workflow over its traces
            self._last_error = f"{type(exc).__name__}: {exc}"

    def __repr__(self) -> str:
        return f"LiveExporter({str(self.log.path)!r}, endpoint={self.endpoint!r})"

    @property
    def failing(self) -> bool:
        """True when the last export failed or the one under way is being retried."""
        return self._last_error is not None or sdk_reported_problem(self._thread.ident)

    @property
    def exported_spans(self) -> int:
        """How many spans the collector accepted so far."""
        return self._exported

    def close(self, flush_timeout: float | None = None) -> LiveReport:
        """Stop; a healthy exporter first gets up to ``flush_timeout`` s to send the rest.

        A send still under way after that is cut off: the SDK's retries end at once, and
        what is left is for ``agentlog export``.
        """
        report: LiveReport = super().close(flush_timeout)
        return report

    # -- the shipper's hooks -------------------------------------------------------------

    def _heard(self, event: AnyEvent) -> None:
        if self._first_seq is None:
            self._first_seq = event.seq

    def _run(self) -> None:
        with quiet_sdk_logs():
            super()._run()

    def _gather(self) -> None:
        if not (self._final.is_set() or self._closing.is_set()):
            self._hurry.wait(self._batch_delay)  # gather a burst into one request

    def _gives_up(self) -> bool:
        # the SDK retried already; the rest is `agentlog export`'s
        return self._closing.is_set() or self._final.is_set()

    def _ship_once(self) -> bool:
        client = self._client
        if client is None:
            if self._done.is_set() or self._stop.is_set():
                return False
            client = self._client = exporter(self.endpoint, self._timeout)
        self._take()
        if not self._unsent:
            return False
        self._send(client, self._unsent)
        return True

    def _interrupt(self) -> None:
        self._shut_client()  # cuts the SDK's retries of a send still under way

    def _finish(self) -> None:
        self._shut_client()

    def _caught_up(self) -> bool:
        return self._done.is_set() and self._last_error is None and not self._dropped

    def _left_behind(self) -> None:
        if self._seen:
            _log.info(
                "live trace export left spans behind; `agentlog export RUN` sends them",
                run=str(self.log.path.parent),
                exported_spans=self._exported,
            )

    def _report(self, caught_up: bool) -> LiveReport:
        return LiveReport(
            workflow_id=self._workflow_id,
            exported_spans=self._exported,
            last_seq=self._seen,
            caught_up=caught_up,
            last_error=self._last_error,
        )

    def _failed(self, error: ShipFailed, failures: int) -> None:
        if error.message != self._last_error:
            _log.warning(
                "live trace export failed; the workflow goes on (`agentlog export RUN` catches up)",
                workflow_id=self._workflow_id,
                error=error.message,
            )

    def _recovered(self) -> None:
        _log.info("live trace export recovered", workflow_id=self._workflow_id)

    # -- the spans -----------------------------------------------------------------------

    def _shut_client(self) -> None:
        """Shut the SDK client once, from whichever thread gets here first."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # never fail a workflow over its traces
                client.shutdown()  # type: ignore[no-untyped-call]

    def _take(self) -> None:
        """Fold the queued events, reading from the log what the queue lacks (what came
        before this exporter attached, or what a full queue dropped)."""
        for ev in self._take_queued():
            if ev.seq <= self._fed:
                continue
            if ev.seq > self._fed + 1:
                missing = self._read_after(self._fed)
                try:
                    for old in missing:
                        if old.seq >= ev.seq:
                            break
                        self._feed(old)
                finally:
                    missing.close()
            self._feed(ev)

    def _feed(self, ev: AnyEvent) -> None:
        if self._stream is None:
            head = identity_of(self.log.read())  # the configuration in force, once
            if head is None:
                return
            self._stream = SpanStream(*head, content=self.content, include_open=False)
            self._workflow_id = self._stream.workflow_id
        self._fed = ev.seq
        closed = self._stream.feed(ev)
        if self._stream.final is not None:
            closed.extend(self._stream.finish())
        first = self._first_seq or 1
        for span in closed:
            last = span.attributes.get("agentlog.seq.last", first)
            if isinstance(last, int) and last >= first:  # earlier ones: an earlier process's
                self._unsent.append(span)
        if len(self._unsent) > self._max_unsent:  # a long outage: keep the newest
            cut = len(self._unsent) - self._max_unsent
            self._dropped += cut
            del self._unsent[:cut]

    def _send(self, client: OTLPSpanExporter, spans: list[SpanData]) -> None:
        with self._calling():
            sent = export_spans(client, spans)
        if sent:
            self._exported += len(spans)
            self._unsent = []
            self._succeeded()
            return
        raise ShipFailed(
            collector_problem(self.endpoint or live_endpoint() or "", last_sdk_message())
        )


class LiveExport(Integration):
    """Gives each run a :class:`LiveExporter` when an OTLP endpoint is configured.

    ``env`` decides whether to export (default: the process environment, read when a run
    starts); see :func:`live_listeners`.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = env

    def __repr__(self) -> str:
        return "LiveExport()"

    def for_run(self, run_dir: Path, workflow_id: str) -> LiveExporter | None:
        found = live_listeners(run_dir, self.env)
        return found[0] if found else None
