"""An OTLP/HTTP trace receiver on 127.0.0.1 for tests: decodes the real protobuf.

``OtlpReceiver`` accepts ``POST /v1/traces`` bodies as ``ExportTraceServiceRequest``
(opentelemetry-proto), keeps every span in a plain form tests can assert on, and answers
like a collector. ``mode`` makes it refuse (503) or hang (accept, never answer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

Mode = Literal["ok", "refuse", "hang"]


def plain(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value (arrays as tuples)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(plain(v) for v in value.array_value.values)
    if kind is None:
        return None
    return getattr(value, kind)


@dataclass(frozen=True)
class Span:
    """One received span: ids in hex, attributes as a dict."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    links: tuple[tuple[str, str, dict[str, Any]], ...]
    events: tuple[tuple[str, dict[str, Any]], ...]
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def operation(self) -> str:
        return str(self.attributes.get("gen_ai.operation.name", ""))


def decode(body: bytes) -> list[Span]:
    """Every span of an OTLP/HTTP protobuf request body."""
    request = ExportTraceServiceRequest.FromString(body)
    spans: list[Span] = []
    for rs in request.resource_spans:
        resource = {kv.key: plain(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(
                    Span(
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(),
                        kind=s.kind,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes={kv.key: plain(kv.value) for kv in s.attributes},
                        status_code=s.status.code,
                        status_message=s.status.message,
                        links=tuple(
                            (
                                link.trace_id.hex(),
                                link.span_id.hex(),
                                {kv.key: plain(kv.value) for kv in link.attributes},
                            )
                            for link in s.links
                        ),
                        events=tuple(
                            (ev.name, {kv.key: plain(kv.value) for kv in ev.attributes})
                            for ev in s.events
                        ),
                        resource=resource,
                    )
                )
    return spans


class OtlpReceiver:
    """A collector stand-in; use as a context manager. ``url`` is its base address."""

    def __init__(self, mode: Mode = "ok") -> None:
        self.mode: Mode = mode
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.mode == "hang":
                    receiver._release.wait(60)
                    return
                if receiver.mode == "refuse":
                    self.send_response(503)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.bodies.append(body)
                    receiver.headers.append(dict(self.headers))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def spans(self) -> list[Span]:
        with self._lock:
            bodies = list(self.bodies)
        return [span for body in bodies for span in decode(body)]

    def unique(self) -> dict[str, Span]:
        """The received spans by span id (a re-sent span counts once)."""
        return {span.span_id: span for span in self.spans}

    def clear(self) -> None:
        with self._lock:
            self.bodies.clear()

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        """Poll until ``predicate(spans)`` holds; False after ``timeout`` (not a timing check)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.spans):
                return True
            time.sleep(0.02)
        return predicate(self.spans)


def tree(spans: list[Span]) -> Iterator[tuple[int, Span]]:
    """Depth-first (depth, span) pairs from the root, children in start order."""
    by_parent: dict[str, list[Span]] = {}
    for span in spans:
        by_parent.setdefault(span.parent_id, []).append(span)

    def walk(parent: str, depth: int) -> Iterator[tuple[int, Span]]:
        for child in sorted(by_parent.get(parent, []), key=lambda s: (s.start_ns, s.end_ns)):
            yield depth, child
            yield from walk(child.span_id, depth + 1)

    yield from walk("", 0)


def outline(spans: list[Span]) -> list[str]:
    """The span tree as indented names, for readable assertions."""
    return ["  " * depth + span.name for depth, span in tree(spans)]
