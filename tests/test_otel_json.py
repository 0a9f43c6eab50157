"""An OTLP/JSON file export is byte for byte the SDK's own encoding of the same spans.

``agentlog export --file`` writes OTLP/JSON text directly from span data; the reference
is the path it replaced: the SDK's ``ReadableSpan``s, its OTLP encoder ``encode_spans``,
protobuf's ``MessageToDict`` (integer enums), ids from base64 to hex, ``json.dumps`` with
sorted keys. Every value a span can carry, and real runs, must print the same bytes.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import sys
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _loop_run import make_loop_run

from actors import fork
from actors.demo import demo_model
from actors.otel import SpanData, SpanEvent, SpanLink, trace_of_run
from actors.otel.otlp_json import otlp_json_line
from actors.otel.sdk import readable_spans
from actors.otel.spans import AttrValue

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1-demo"
_IDS = frozenset({"traceId", "spanId", "parentSpanId"})


def _hex_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex() if key in _IDS else _hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(item) for item in value]
    return value


def sdk_line(spans: list[SpanData]) -> str:
    """The line the SDK path prints for ``spans`` (what export wrote before)."""
    request = MessageToDict(encode_spans(readable_spans(spans)), use_integers_for_enums=True)
    return json.dumps(_hex_ids(request), sort_keys=True)


def span(**fields: Any) -> SpanData:
    base: dict[str, Any] = {
        "name": "chat m",
        "trace_id": 0x0123456789ABCDEF0123456789ABCDEF,
        "span_id": 0x0011223344556677,
        "parent_id": 0x8899AABBCCDDEEFF,
        "kind": "client",
        "start_ns": 1_700_000_000_000_000_000,
        "end_ns": 1_700_000_000_500_000_000,
        "attributes": {"gen_ai.operation.name": "chat"},
    }
    return SpanData(**{**base, **fields})


VALUES: dict[str, AttrValue] = {
    "text": "plain",
    "empty": "",
    "unicode": "naïve — 日本語 🎉 \u2028",
    "escapes": 'quote " backslash \\ tab \t newline \n nul \x00 del \x7f',
    "true": True,
    "false": False,
    "zero": 0,
    "int": 42,
    "negative": -7,
    "beyond int64": 1 << 70,
    "below int64": -(1 << 70),
    "float": 0.1,
    "float zero": 0.0,
    "negative zero": -0.0,
    "whole float": 3.0,
    "huge": 1e300,
    "tiny": 5e-324,
    "nan": math.nan,
    "infinity": math.inf,
    "minus infinity": -math.inf,
    "empty tuple": (),
    "tuple": ("tool_use", "", "é"),
    "": "an empty key",
}


def test_every_attribute_value_prints_as_the_sdk_prints_it() -> None:
    spans = [span(attributes={key: value}) for key, value in VALUES.items()]
    spans += [span(attributes={"one key": value}) for value in VALUES.values()]
    spans.append(span(attributes=dict(VALUES)))
    assert otlp_json_line(spans) == sdk_line(spans)


@pytest.mark.parametrize(
    "fields",
    [
        {"parent_id": None, "kind": "internal"},
        {"status": "ok"},
        {"status": "error", "status_message": "overloaded: try again ✗"},
        {"status": "error"},
        {"status": "unset", "status_message": "ignored unless an error"},
        {"name": "", "attributes": {}},
        {"start_ns": 0, "end_ns": 0},
        {"events": (SpanEvent(name="agentlog.step_skipped", time_ns=5, attributes=VALUES),)},
        {"events": (SpanEvent(name="", time_ns=0), SpanEvent(name="e", time_ns=1))},
        {"links": (SpanLink(trace_id=1, span_id=2, attributes={"agentlog.fork.at_seq": 9}),)},
        {"links": (SpanLink(trace_id=(1 << 128) - 1, span_id=(1 << 64) - 1),)},
    ],
    ids=repr,
)
def test_every_span_field_prints_as_the_sdk_prints_it(fields: dict[str, Any]) -> None:
    spans = [span(**fields)]
    assert otlp_json_line(spans) == sdk_line(spans)


def test_an_empty_batch_prints_as_the_sdk_prints_it() -> None:
    assert otlp_json_line([]) == sdk_line([]) == "{}"


def test_real_runs_print_as_the_sdk_prints_them(
    shared_demo: tuple[Path, int, str], tmp_path: Path
) -> None:
    """The demo (a retry, tests twice, a revision), with and without content, its fork
    (a link), a loop run (tool calls, thinking) and the v1 fixture log."""
    demo, _, _ = shared_demo
    forked = tmp_path / "fork"
    no_tests = partial(msgspec.structs.replace, run_tests=False)  # the link, not pytest
    fork(demo, at=9, new_run_dir=forked, overrides=no_tests, model=demo_model())
    loop = make_loop_run(tmp_path / "loop", tmp_path / "workspace")
    v1 = tmp_path / "v1"
    shutil.copytree(FIXTURE, v1)
    for run in (demo, forked, loop, v1):
        for content in (False, True):
            spans = list(trace_of_run(run, content=content).spans)
            assert len(spans) > 1
            assert otlp_json_line(spans) == sdk_line(spans), (run, content)
