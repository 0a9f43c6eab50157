"""OpenTelemetry export: every run as a GenAI trace, live or after the fact (``agentlog[otel]``).

An integration apart from the core: the projection (``spans``) is a pure function of a
run's events and needs no SDK; ``export`` sends runs to a collector or an OTLP/JSON file
and ``live`` streams a running workflow's spans, both through the OpenTelemetry SDK,
imported only when they send something.
"""

from actors.otel.content import CAPTURE_ENV, capture_content
from actors.otel.export import ExportProgress, ExportReport, RunExport, export_runs, trace_of_run
from actors.otel.live import LiveExport, LiveExporter, LiveReport, live_endpoint, live_listeners
from actors.otel.sdk import OtelMissing, require_sdk, sdk_available
from actors.otel.spans import (
    SpanData,
    SpanEvent,
    SpanLink,
    SpanStream,
    Trace,
    clean_spans,
    identity_of,
    root_span_id,
    run_trace,
    span_id_for,
    trace_id_for,
)

__all__ = [
    "CAPTURE_ENV",
    "ExportProgress",
    "ExportReport",
    "LiveExport",
    "LiveExporter",
    "LiveReport",
    "OtelMissing",
    "RunExport",
    "SpanData",
    "SpanEvent",
    "SpanLink",
    "SpanStream",
    "Trace",
    "capture_content",
    "clean_spans",
    "export_runs",
    "identity_of",
    "live_endpoint",
    "live_listeners",
    "require_sdk",
    "root_span_id",
    "run_trace",
    "sdk_available",
    "span_id_for",
    "trace_id_for",
    "trace_of_run",
]
