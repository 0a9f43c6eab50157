"""OTLP/JSON straight from span data, for ``agentlog export --file``.

A batch of spans becomes, byte for byte, the line the SDK path gives (the SDK's OTLP
encoder ``encode_spans``, protobuf's ``MessageToDict`` with integer enums, the ids turned
from base64 into the hex OTLP/JSON asks for, then ``json.dumps`` with sorted keys), but
written directly as text: that path built a protobuf message per span and walked it back
into dicts, four fifths of a file export's time. ``tests/test_otel_json.py`` checks the
two agree on every kind of value a span can carry.

The mapping, as protobuf's JSON printer applies it to the OTLP messages: 64-bit integers
(times, ``intValue``) are strings; a field holding its default (an empty string, a zero
time, an empty list) is left out, except inside ``AnyValue``'s oneof; a double that is not
finite is ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``; the span kind and the status code
are integers. The text is what ``json.dumps`` prints (``", "`` and ``": "``, non-ASCII
escaped, keys in sorted order: each object below is written with its keys sorted).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii as _text

from actors.otel.sdk import SCOPE, agentlog_version, encodable, sdk_resource
from actors.otel.spans import SpanData

__all__ = ["otlp_json_line"]

#: ``Span.SpanKind``: SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT.
_KIND = {"internal": "1", "client": "3"}
#: ``Span.status`` (``Status.StatusCode``: UNSET, OK, ERROR; an error's message added).
_STATUS = {"unset": "{}", "ok": '{"code": 1}', "error": '{"code": 2}'}
#: ``SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK``: the SDK says the parent (or the
#: link's target) is not remote, on every span and link.
_FLAGS = '"flags": 256'
_NOT_FINITE = {math.inf: '"Infinity"', -math.inf: '"-Infinity"'}
#: Attribute texts already written (most repeat from span to span), up to a bound; by
#: key and value, for strings only (as keys ``1 == True == 1.0`` and ``0.0 == -0.0``).
_PAIRS: dict[tuple[str, str], str] = {}
_PAIRS_MAX = 50_000


def _value(value: object) -> str:
    """An ``AnyValue`` (as the SDK's ``_encode_value``: bool before int, a sequence is
    an array, a mapping a key-value list)."""
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return '{"boolValue": true}' if value else '{"boolValue": false}'
    if isinstance(value, str):
        return '{"stringValue": ' + _text(value) + "}"
    if isinstance(value, int):
        return '{"intValue": "' + int.__repr__(value) + '"}'
    if isinstance(value, float):
        if math.isfinite(value):
            return '{"doubleValue": ' + float.__repr__(value) + "}"
        return '{"doubleValue": ' + ('"NaN"' if math.isnan(value) else _NOT_FINITE[value]) + "}"
    if isinstance(value, bytes):
        return '{"bytesValue": "' + base64.b64encode(value).decode() + '"}'
    if isinstance(value, Sequence):
        values = ", ".join(_value(item) for item in value)
        return '{"arrayValue": ' + ('{"values": [' + values + "]}" if values else "{}") + "}"
    if isinstance(value, Mapping):
        pairs = ", ".join(_pair(str(k), v) for k, v in value.items())
        return '{"kvlistValue": ' + ('{"values": [' + pairs + "]}" if pairs else "{}") + "}"
    raise TypeError(f"an attribute cannot hold {type(value).__name__}")


def _pair(key: str, value: object) -> str:
    """A ``KeyValue``."""
    if key:
        return '{"key": ' + _text(key) + ', "value": ' + _value(value) + "}"
    return '{"value": ' + _value(value) + "}"


def _attributes(attributes: Mapping[str, object]) -> str:
    """``"attributes": [...]``, or "" for none (the field then is left out)."""
    if not attributes:
        return ""
    pairs = []
    for key, value in attributes.items():
        if type(value) is not str:
            pairs.append(_pair(key, value))
            continue
        text = _PAIRS.get((key, value))
        if text is None:
            if len(_PAIRS) >= _PAIRS_MAX:
                _PAIRS.clear()
            text = _PAIRS[(key, value)] = _pair(key, value)
        pairs.append(text)
    return '"attributes": [' + ", ".join(pairs) + "]"


def _object(*fields: str) -> str:
    """``{...}`` of the fields given (in sorted order), the empty ones left out."""
    return "{" + ", ".join(field for field in fields if field) + "}"


def _nanos(name: str, ns: int) -> str:
    return f'"{name}": "{ns}"' if ns else ""


def _span(span: SpanData) -> str:
    status = _STATUS[span.status]
    if span.status == "error" and span.status_message:
        status = '{"code": 2, "message": ' + _text(span.status_message) + "}"
    events = ", ".join(
        _object(
            _attributes(encodable(ev.attributes)),
            '"name": ' + _text(ev.name) if ev.name else "",
            _nanos("timeUnixNano", ev.time_ns),
        )
        for ev in span.events
    )
    links = ", ".join(
        _object(
            _attributes(encodable(link.attributes)),
            _FLAGS,
            f'"spanId": "{link.span_id:016x}"',
            f'"traceId": "{link.trace_id:032x}"',
        )
        for link in span.links
    )
    return _object(
        _attributes(encodable(span.attributes)),
        _nanos("endTimeUnixNano", span.end_ns),
        '"events": [' + events + "]" if events else "",
        _FLAGS,
        '"kind": ' + _KIND[span.kind],
        '"links": [' + links + "]" if links else "",
        '"name": ' + _text(span.name) if span.name else "",
        f'"parentSpanId": "{span.parent_id:016x}"' if span.parent_id else "",
        f'"spanId": "{span.span_id:016x}"',
        _nanos("startTimeUnixNano", span.start_ns),
        '"status": ' + status,
        f'"traceId": "{span.trace_id:032x}"',
    )


def otlp_json_line(spans: Sequence[SpanData]) -> str:
    """``spans`` as one ``ExportTraceServiceRequest`` in the OTLP/JSON encoding: one line
    of a file the Collector's ``otlpjsonfile`` receiver reads."""
    if not spans:
        return "{}"
    resource = sdk_resource()
    scope = _object(
        '"name": ' + _text(SCOPE) if SCOPE else "",
        '"version": ' + _text(agentlog_version()) if agentlog_version() else "",
    )
    resource_spans = _object(
        '"resource": ' + _object(_attributes(resource.attributes)),
        '"schemaUrl": ' + _text(resource.schema_url) if resource.schema_url else "",
        '"scopeSpans": [{"scope": '
        + scope
        + ', "spans": ['
        + ", ".join(_span(span) for span in spans)
        + "]}]",
    )
    return '{"resourceSpans": [' + resource_spans + "]}"
