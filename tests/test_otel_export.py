"""``agentlog export``: real runs sent through the SDK's OTLP exporter to a local receiver."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import msgspec
import pytest

pytest.importorskip("opentelemetry.proto", reason="needs the otel extra: pip install -e '.[dev]'")

from _loop_run import make_loop_run
from _otlp import OtlpReceiver, Span, outline
from _workflow import APPROVE, CHANGES, FAST, KEY, answer, error, scripted

from actors import Supervisor, fork
from actors.cli import main
from actors.demo import demo_model, demo_task
from actors.otel import CAPTURE_ENV
from actors.otel import export as otel_export
from events import ModelCalled, StepStarted, WorkflowStarted, decode_line, encode_line
from store import EventLog

INTERNAL, CLIENT = 1, 3  # OTLP span kinds
ERROR = 2  # OTLP status code
ROOT = "invoke_workflow planner_coder_reviewer"


@pytest.fixture(scope="module")
def demo_run(shared_demo: tuple[Path, int, str]) -> Path:
    """The bundled demo: a retry, tests run twice, a revision round."""
    run, code, _ = shared_demo
    assert code == 0
    return run


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def export(*args: str) -> int:
    return main(["export", *args])


def by_name(spans: list[Span], name: str) -> list[Span]:
    return sorted((s for s in spans if s.name == name), key=lambda s: s.start_ns)


def test_the_demo_arrives_as_one_tree_nested_as_the_workflow_ran(
    demo_run: Path, receiver: OtlpReceiver
) -> None:
    assert export(str(demo_run), "--otlp", receiver.url) == 0
    assert outline(receiver.spans) == [
        ROOT,
        "  invoke_agent planner",  # overloaded, retried
        "  invoke_agent planner",
        "    chat scripted-demo",
        "  invoke_agent coder",
        "    chat scripted-demo",
        "  invoke_agent reviewer",
        "    execute_tool run_tests",
        "    chat scripted-demo",
        "  invoke_agent coder",  # the revision round
        "    chat scripted-demo",
        "  invoke_agent reviewer",
        "    execute_tool run_tests",
        "    chat scripted-demo",
    ]


def test_the_demos_spans_carry_genai_attributes_kinds_and_status(
    demo_run: Path, receiver: OtlpReceiver
) -> None:
    export(str(demo_run), "--otlp", receiver.url)
    spans = receiver.spans
    root = by_name(spans, ROOT)[0]
    assert root.kind == INTERNAL and root.parent_id == ""
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["agentlog.verdict"] == "approve"
    assert root.attributes["agentlog.seq.first"] == 1
    assert root.resource["service.name"] == "agentlog"
    failed_plan = by_name(spans, "invoke_agent planner")[0]
    assert failed_plan.status_code == ERROR
    assert failed_plan.attributes["error.type"] == "overloaded"
    chat = by_name(spans, "chat scripted-demo")[0]
    assert chat.kind == CLIENT
    assert chat.parent_id == by_name(spans, "invoke_agent planner")[1].span_id
    assert chat.attributes["gen_ai.provider.name"] == "anthropic"
    assert chat.attributes["gen_ai.request.model"] == "scripted-demo"
    assert chat.attributes["gen_ai.response.id"].startswith("msg_scripted_")
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    tests = by_name(spans, "execute_tool run_tests")
    assert [t.attributes["agentlog.tests.passed"] for t in tests] == [False, True]
    assert all(
        t.parent_id == r.span_id
        for t, r in zip(tests, by_name(spans, "invoke_agent reviewer"), strict=True)
    )
    assert {s.trace_id for s in spans} == {root.trace_id}


def test_exporting_again_sends_the_same_ids(demo_run: Path, receiver: OtlpReceiver) -> None:
    export(str(demo_run), "--otlp", receiver.url)
    first = sorted((s.trace_id, s.span_id, s.parent_id) for s in receiver.spans)
    receiver.clear()
    export(str(demo_run), "--otlp", receiver.url)
    assert sorted((s.trace_id, s.span_id, s.parent_id) for s in receiver.spans) == first


def test_a_failed_run_with_retries_shows_each_attempt_and_the_final_error(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    model = scripted(code=[error("overloaded"), error("overloaded"), error("bad_request")])
    result = Supervisor(FAST, model=model).run("a task", tmp_path / "run")
    assert result.status == "failed"
    export(str(tmp_path / "run"), "--otlp", receiver.url)
    spans = receiver.spans
    coders = by_name(spans, "invoke_agent coder")
    assert [c.attributes["error.type"] for c in coders] == [
        "overloaded",
        "overloaded",
        "bad_request",
    ]
    assert all(c.status_code == ERROR for c in coders)
    root = by_name(spans, ROOT)[0]
    assert root.status_code == ERROR
    assert root.attributes["agentlog.status"] == "failed"
    assert root.attributes["error.type"] == "bad_request"


def test_a_revision_round_is_a_second_coder_and_reviewer(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    model = scripted(review=[answer(CHANGES), answer(APPROVE)])
    config = msgspec.structs.replace(FAST, max_revisions=1)
    Supervisor(config, model=model).run("a task", tmp_path / "run")
    export(str(tmp_path / "run"), "--otlp", receiver.url)
    agents = [
        (s.name, s.attributes["agentlog.round"], s.attributes.get("agentlog.verdict"))
        for s in sorted(receiver.spans, key=lambda s: s.start_ns)
        if s.name.startswith("invoke_agent")
    ]
    assert agents == [
        ("invoke_agent planner", 0, None),
        ("invoke_agent coder", 0, None),
        ("invoke_agent reviewer", 0, "request_changes"),
        ("invoke_agent coder", 1, None),
        ("invoke_agent reviewer", 1, "approve"),
    ]


def test_a_forks_trace_links_to_its_sources_root(
    demo_run: Path, tmp_path: Path, receiver: OtlpReceiver
) -> None:
    forked = tmp_path / "fork"
    no_tests = partial(msgspec.structs.replace, run_tests=False)  # the links, not pytest
    fork(demo_run, at=9, new_run_dir=forked, overrides=no_tests, model=demo_model())
    export(str(demo_run), str(forked), "--otlp", receiver.url)
    roots = by_name(receiver.spans, ROOT)
    assert len(roots) == 2 and roots[0].trace_id != roots[1].trace_id
    source, child = sorted(roots, key=lambda r: "agentlog.fork.at_seq" in r.attributes)
    assert child.links == ((source.trace_id, source.span_id, {"agentlog.fork.at_seq": 9}),)
    assert (
        child.attributes["agentlog.fork.source_workflow_id"]
        == source.attributes["agentlog.workflow.id"]
    )
    assert child.attributes["agentlog.seq.first"] == 10  # its Forked event


def test_a_file_export_is_otlp_json_with_the_same_hex_ids(
    demo_run: Path, tmp_path: Path, receiver: OtlpReceiver
) -> None:
    out = tmp_path / "traces.json"
    assert export(str(demo_run), "--file", str(out)) == 0
    export(str(demo_run), "--otlp", receiver.url)
    (line,) = out.read_text().splitlines()
    request = json.loads(line)
    spans = [s for rs in request["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert {s["spanId"] for s in spans} == {s.span_id for s in receiver.spans}
    assert {s["traceId"] for s in spans} == {s.trace_id for s in receiver.spans}
    assert all(s["kind"] in (INTERNAL, CLIENT) for s in spans)


def test_a_long_run_leaves_in_batches_that_add_up_to_one_trace(
    demo_run: Path, tmp_path: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    export(str(demo_run), "--otlp", receiver.url)
    whole = sorted((s.trace_id, s.span_id, s.parent_id) for s in receiver.spans)
    receiver.clear()
    monkeypatch.setattr(otel_export, "BATCH_SPANS", 3)
    out = tmp_path / "traces.json"
    assert export(str(demo_run), "--file", str(out)) == 0
    export(str(demo_run), "--otlp", receiver.url)
    assert len(receiver.bodies) == len(out.read_text().splitlines()) == -(-len(whole) // 3)
    assert sorted((s.trace_id, s.span_id, s.parent_id) for s in receiver.spans) == whole


def test_the_json_report_names_each_runs_trace(
    demo_run: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    export(str(demo_run), "--otlp", receiver.url, "--json")
    report = json.loads(capsys.readouterr().out)
    (run,) = report["runs"]
    assert run["spans"] == 14 and run["error"] is None
    assert run["trace_id"] == receiver.spans[0].trace_id


def test_message_content_is_off_by_default(demo_run: Path, receiver: OtlpReceiver) -> None:
    export(str(demo_run), "--otlp", receiver.url)
    assert not any("gen_ai.output.messages" in s.attributes for s in receiver.spans)
    assert not any("gen_ai.input.messages" in s.attributes for s in receiver.spans)


def test_message_content_is_sent_when_asked(
    demo_run: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "true")
    export(str(demo_run), "--otlp", receiver.url)
    chats = by_name(receiver.spans, "chat scripted-demo")
    parts = json.loads(chats[0].attributes["gen_ai.output.messages"])[0]["parts"]
    assert parts[0]["type"] == "tool_call" and parts[0]["name"] == "submit_plan"
    assert demo_task() in by_name(receiver.spans, ROOT)[0].attributes["gen_ai.input.messages"]


def test_no_secret_reaches_the_collector(
    tmp_path: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even from a log that holds one (written before the scrubber knew the key)."""
    run = tmp_path / "leaky"
    with EventLog(run).writer() as writer:
        writer.append(WorkflowStarted(workflow_id="wf-leaky", task=f"use {KEY}"))
        writer.append(StepStarted(workflow_id="wf-leaky", step="plan", attempt=1))
        writer.append(
            ModelCalled(
                workflow_id="wf-leaky",
                step="plan",
                attempt=1,
                request_digest="d",
                model="claude-x",
                content=({"type": "text", "text": f"here: {KEY}"},),
                stop_reason="end_turn",
            )
        )
    monkeypatch.setenv(CAPTURE_ENV, "true")
    export(str(run), "--otlp", receiver.url)
    assert receiver.bodies and not any(KEY.encode() in body for body in receiver.bodies)


def test_a_collector_that_refuses_is_exit_1_naming_the_run(
    demo_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with OtlpReceiver(mode="refuse") as refusing:
        assert export(str(demo_run), "--otlp", refusing.url, "--timeout", "0.5") == 1
    out, err = capsys.readouterr()
    assert f"{demo_run}:" in out and "FAILED" in out
    assert err.strip().splitlines() == ["agentlog: 1 run not exported"]


def test_no_destination_is_a_usage_error(
    demo_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert export(str(demo_run)) == 2
    assert "--otlp URL" in capsys.readouterr().err


def test_a_missing_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(str(tmp_path / "nope"), "--file", str(tmp_path / "x.json")) == 2
    assert "no events.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def hide_opentelemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the extra look uninstalled for this test (the modules are restored after)."""
    for name in [m for m in sys.modules if m == "opentelemetry" or m.startswith("opentelemetry.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # type: ignore[arg-type]


def test_without_the_extra_export_says_so_in_one_line(
    demo_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hide_opentelemetry(monkeypatch)
    assert export(str(demo_run), "--file", str(tmp_path / "x.json")) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "agentlog: OpenTelemetry export needs the otel extra: pip install 'agentlog[otel]'"
    ]


def test_an_otlp_address_that_is_no_url_is_a_usage_error(
    demo_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(str(demo_run), "--otlp", "localhost:4318") == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_a_file_that_cannot_be_written_is_one_line_naming_it(
    demo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").mkdir()
    assert export(str(demo_run), "--file", str(tmp_path / "taken")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "taken: cannot write here" in err[0]
    assert list((tmp_path).iterdir()) == [tmp_path / "taken"]  # no temp file left


def test_the_standard_headers_variable_reaches_the_collector(
    demo_run: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-token=abc123")
    export(str(demo_run), "--otlp", receiver.url)
    assert receiver.headers[0]["x-collector-token"] == "abc123"


def test_a_usage_count_beyond_int64_is_clamped_not_a_failed_export(
    tmp_path: Path, receiver: OtlpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    Supervisor(FAST, model=scripted()).run("a task", run)
    log = run / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    call = next(i for i, line in enumerate(lines) if b'"ModelCalled"' in line)
    ev = decode_line(lines[call])
    assert isinstance(ev, ModelCalled)
    huge = msgspec.structs.replace(ev.usage, output_tokens=(1 << 63) + 5)
    lines[call] = encode_line(msgspec.structs.replace(ev, usage=huge))
    log.write_bytes(b"".join(lines))  # a sealed log someone else wrote
    assert export(str(run), "--otlp", receiver.url) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and ": ok" in out
    chats = [s for s in receiver.spans if "gen_ai.usage.output_tokens" in s.attributes]
    assert max(s.attributes["gen_ai.usage.output_tokens"] for s in chats) == (1 << 63) - 1


def test_an_unreachable_collector_is_one_line_of_our_own(
    demo_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert export(str(demo_run), "--otlp", url, "--timeout", "1") == 1
    out, err = capsys.readouterr()
    assert out.endswith(f"FAILED: cannot reach the collector at {url}: connection refused\n")
    assert err == "agentlog: 1 run not exported\n"
    assert "HTTPConnectionPool" not in out + err


@pytest.mark.parametrize(
    ("sdk_message", "line"),
    [
        (
            "Transient error HTTPConnectionPool(host='c', port=4318): Max retries exceeded with "
            "url: /v1/traces (Caused by NewConnectionError(\"HTTPConnection(host='c', port=4318):"
            ' Failed to establish a new connection: [Errno 111] Connection refused")) '
            "encountered while exporting span batch, retrying in 1.00s.",
            "cannot reach the collector at U: connection refused",
        ),
        (
            "Failed to export span batch code: 401, reason: Unauthorized",
            "the collector at U refused the spans: HTTP 401 Unauthorized",
        ),
        (
            "Transient error Service Unavailable encountered while exporting span batch, "
            "retrying in 1.00s.",
            "the collector at U refused the spans: Service Unavailable",
        ),
    ],
    ids=["refused", "http-401", "http-503"],
)
def test_the_sdks_report_of_a_failure_becomes_our_line(sdk_message: str, line: str) -> None:
    from actors.otel.problems import collector_problem

    assert collector_problem("U", sdk_message) == line


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scripted agent loop: read, edit, tests fail, edit, tests pass, submit."""
    base = tmp_path_factory.mktemp("otel-loop")
    return make_loop_run(base / "run", base / "workspace")


def test_each_loop_tool_call_arrives_as_an_execute_tool_span_under_its_agent(
    loop_run: Path, receiver: OtlpReceiver
) -> None:
    assert export(str(loop_run), "--otlp", receiver.url) == 0
    lines = outline(receiver.spans)
    coder = lines.index("  invoke_agent coder")
    tools = [line.strip() for line in lines[coder + 1 :] if line.startswith("    execute_tool")]
    assert tools[:6] == [
        "execute_tool read_file", "execute_tool edit_file", "execute_tool run_command",
        "execute_tool edit_file", "execute_tool run_command", "execute_tool submit",
    ]  # fmt: skip
    agent = by_name(receiver.spans, "invoke_agent coder")[0]
    run = by_name(receiver.spans, "execute_tool run_command")[0]
    assert run.parent_id == agent.span_id and run.kind == INTERNAL
    assert run.attributes["gen_ai.tool.name"] == "run_command"
    assert run.attributes["gen_ai.tool.call.id"].startswith("toolu_")
    assert run.attributes["gen_ai.tool.type"] == "function"
    assert "gen_ai.tool.call.arguments" not in run.attributes
    assert "gen_ai.tool.call.result" not in run.attributes


def test_a_loop_tool_calls_arguments_and_result_are_sent_when_asked(
    loop_run: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_ENV, "true")
    export(str(loop_run), "--otlp", receiver.url)
    run = by_name(receiver.spans, "execute_tool run_command")[0]
    assert json.loads(run.attributes["gen_ai.tool.call.arguments"]) == {
        "command": "python3 -m unittest -q"
    }
    assert "FAILED (failures=1)" in run.attributes["gen_ai.tool.call.result"]
