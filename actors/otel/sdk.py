"""The bridge to the OpenTelemetry SDK (the optional ``otel`` extra): span data -> OTLP.

Span data becomes the SDK's ``ReadableSpan`` with the ids, times and status the
projection chose, and leaves through the SDK's own OTLP/HTTP protobuf exporter (OTLP JSON
files are written by :mod:`actors.otel.otlp_json`, which shares this module's resource,
scope and attribute clamping). Nothing here runs unless the extra is installed;
:func:`require_sdk` says so in one line when it is not.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from actors.otel.spans import AttrValue, SpanData
from events import EXIT_USAGE, AgentlogError

if TYPE_CHECKING:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "EXTRA_HINT",
    "SCOPE",
    "OtelMissing",
    "agentlog_version",
    "encodable",
    "export_spans",
    "exporter",
    "last_sdk_message",
    "quiet_sdk_logs",
    "readable_spans",
    "require_sdk",
    "sdk_available",
    "sdk_reported_problem",
    "sdk_resource",
    "traces_endpoint",
]

EXTRA_HINT = "pip install 'agentlog[otel]'"
_MODULES = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
SCOPE = "agentlog"


class OtelMissing(AgentlogError):
    """The ``otel`` extra is not installed (exit 2: the user can fix it)."""

    exit_code = EXIT_USAGE

    def __init__(self) -> None:
        super().__init__(f"OpenTelemetry export needs the otel extra: {EXTRA_HINT}")


def sdk_available() -> bool:
    """Whether the OpenTelemetry SDK and its OTLP/HTTP exporter can be imported."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in _MODULES)
    except ModuleNotFoundError:  # a parent package is missing
        return False


def require_sdk() -> None:
    """Raise :class:`OtelMissing` unless the extra is installed."""
    if not sdk_available():
        raise OtelMissing()


@cache
def agentlog_version() -> str:
    """The installed agentlog's version (the resource's and the scope's), "0" if none."""
    from importlib import metadata

    try:
        return metadata.version("agentlog")
    except metadata.PackageNotFoundError:
        return "0"


@cache
def sdk_resource() -> Resource:
    """This process's resource, made once (the SDK builds it on a thread pool, which is
    closed by the time an exporting thread flushes at interpreter exit)."""
    from opentelemetry.sdk.resources import Resource

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, take precedence.
    return Resource.create({"service.name": "agentlog", "service.version": agentlog_version()})


_INT64 = (-(1 << 63), (1 << 63) - 1)


def encodable(attributes: dict[str, AttrValue]) -> dict[str, AttrValue]:
    """``attributes`` as OTLP can carry them: an integer beyond int64 (a hostile or broken
    log's usage count) is clamped to the range, where the SDK's encoder would raise."""
    low, high = _INT64
    return {
        k: max(low, min(high, v)) if type(v) is int and not low <= v <= high else v
        for k, v in attributes.items()
    }


def _readable(span: SpanData, resource: Resource) -> ReadableSpan:
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

    def context(trace_id: int, span_id: int) -> SpanContext:
        return SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))

    status = {
        "unset": Status(StatusCode.UNSET),
        "ok": Status(StatusCode.OK),
        "error": Status(StatusCode.ERROR, span.status_message or None),
    }[span.status]
    return ReadableSpan(
        name=span.name,
        context=context(span.trace_id, span.span_id),
        parent=context(span.trace_id, span.parent_id) if span.parent_id else None,
        resource=resource,
        attributes=encodable(span.attributes),
        events=[
            Event(name=ev.name, attributes=encodable(ev.attributes), timestamp=ev.time_ns)
            for ev in span.events
        ],
        links=[
            Link(context(link.trace_id, link.span_id), attributes=encodable(link.attributes))
            for link in span.links
        ],
        kind=SpanKind.CLIENT if span.kind == "client" else SpanKind.INTERNAL,
        status=status,
        start_time=span.start_ns,
        end_time=span.end_ns,
        instrumentation_scope=InstrumentationScope(SCOPE, agentlog_version()),
    )


def readable_spans(spans: Iterable[SpanData]) -> list[ReadableSpan]:
    """The SDK's form of ``spans`` (one resource for all: this agentlog process)."""
    resource = sdk_resource()
    return [_readable(span, resource) for span in spans]


def traces_endpoint(url: str) -> str:
    """The traces URL for ``url``: a bare collector address gets ``/v1/traces``."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + "/v1/traces"
    return url


def exporter(endpoint: str | None, timeout: float) -> OTLPSpanExporter:
    """The SDK's OTLP/HTTP protobuf exporter; ``endpoint`` None reads the standard env vars.

    ``timeout`` bounds one export, retries included. Headers come from
    ``OTEL_EXPORTER_OTLP_HEADERS`` / ``OTEL_EXPORTER_OTLP_TRACES_HEADERS``.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    sdk_resource()  # now, while the interpreter is sure to be up
    return OTLPSpanExporter(
        endpoint=traces_endpoint(endpoint) if endpoint else None, timeout=timeout
    )


class _OwnThreads(logging.Filter):
    """Drops the SDK exporter's own log records emitted on agentlog's export threads."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()
        self.last: dict[int, str] = {}  # thread -> first message since taken

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread not in self.threads:
            return True
        if record.levelno >= logging.WARNING and record.thread not in self.last:
            try:  # the first record names the cause; later ones only count retries
                message = record.getMessage()
            except Exception:  # a record that cannot format is no reason to fail
                message = str(record.msg)
            self.last[record.thread] = message[:300]
        return False


_FILTER = _OwnThreads()
_FILTER_LOCK = threading.Lock()
#: Loggers the exporter reports through (a logger's filter does not see its children's).
_SDK_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.common._internal",
    "opentelemetry.exporter.otlp.proto.common._internal.trace_encoder",
)


@contextmanager
def quiet_sdk_logs() -> Iterator[None]:
    """Silence the SDK exporter's retry/failure records on the calling thread, meanwhile.

    agentlog reports export failures itself (once, through structlog); the SDK would
    print a line per failed batch to stderr. Other threads' records are untouched.
    """
    ident = threading.get_ident()
    with _FILTER_LOCK:
        if not _FILTER.threads:
            for name in _SDK_LOGGERS:
                logging.getLogger(name).addFilter(_FILTER)
        _FILTER.threads.add(ident)
    try:
        yield
    finally:
        with _FILTER_LOCK:
            _FILTER.threads.discard(ident)
            _FILTER.last.pop(ident, None)


def sdk_reported_problem(thread: int | None) -> bool:
    """Whether the SDK reported a problem on ``thread`` that was not taken yet (a retry)."""
    with _FILTER_LOCK:
        return thread in _FILTER.last


def last_sdk_message() -> str | None:
    """The first problem the SDK reported on this (quieted) thread since the last call."""
    with _FILTER_LOCK:
        return _FILTER.last.pop(threading.get_ident(), None)


def sent_ok(result: object) -> bool:
    """Whether an exporter's result is SUCCESS."""
    from opentelemetry.sdk.trace.export import SpanExportResult

    return result is SpanExportResult.SUCCESS


def export_spans(client: OTLPSpanExporter, spans: Sequence[SpanData]) -> bool:
    """Send ``spans`` with ``client``; True when the collector accepted them."""
    if not spans:
        return True
    last_sdk_message()  # forget what an earlier export reported
    return sent_ok(client.export(readable_spans(spans)))
