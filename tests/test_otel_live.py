"""Live export: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave while the workflow runs."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

pytest.importorskip("opentelemetry.proto", reason="needs the otel extra: pip install -e '.[dev]'")

import structlog
from _otlp import OtlpReceiver, Span, outline
from _workflow import APPROVE, CODE, FAST, PLAN, answer, scripted

import actors.otel.live as live
import actors.shipping as shipping
from actors import Supervisor
from actors.integrations import integrations_from_env
from actors.logs import configure_logging
from actors.models import ModelRequest, ModelResponse
from actors.otel import export_runs, live_endpoint

ROOT = "invoke_workflow planner_coder_reviewer"
CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]


def has(name: str) -> object:
    return lambda spans: any(s.name == name for s in spans)


def ids(spans: list[Span]) -> set[tuple[str, str, str]]:
    return {(s.trace_id, s.span_id, s.parent_id) for s in spans}


@pytest.fixture(autouse=True, scope="module")
def no_exporter_speaks_after_this_module() -> Iterator[None]:
    """Runs here leave live exporters retrying a dead collector in the background (a run's
    end gives them a moment; only ``close`` cuts their retries off). Close them when the
    module ends and send what they still log nowhere, so no warning of theirs lands in
    the output a later test captures and compares."""
    yield
    for exporter in list(shipping._open):
        exporter.close(flush_timeout=0)
    live._log = structlog.wrap_logger(structlog.ReturnLogger())


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.url)
        yield r


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("json", "warning", stream=buffer)
    yield buffer
    structlog.reset_defaults()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WaitsForCoderSpan:
    """A model that, before the review, waits (bounded) for the Coder's span to arrive."""

    def __init__(self, receiver: OtlpReceiver) -> None:
        self.inner = scripted()
        self.name = self.inner.name
        self.receiver = receiver
        self.seen_before_review = False

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        if request.step == "review":
            self.seen_before_review = self.receiver.wait_for(has("invoke_agent coder"), 10.0)
        return self.inner.call(request, timeout=timeout)


def test_spans_arrive_while_the_workflow_is_still_running(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    model = WaitsForCoderSpan(receiver)
    result = Supervisor(FAST, model=model, listeners=integrations_from_env()).run(
        "a task", tmp_path / "run"
    )
    assert result.status == "completed"
    assert model.seen_before_review
    assert receiver.wait_for(has(ROOT))


def test_a_live_run_sends_the_same_trace_an_export_would(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    Supervisor(FAST, model=scripted(), listeners=integrations_from_env()).run(
        "a task", tmp_path / "run"
    )
    assert receiver.wait_for(has(ROOT))
    live_spans = list(receiver.unique().values())
    receiver.clear()
    export_runs([tmp_path / "run"], otlp=receiver.url)
    assert ids(live_spans) == ids(receiver.spans)
    assert len(receiver.spans) == 7  # the root, 3 attempts, 3 model calls: nothing twice
    assert len(live_spans) == len(receiver.spans)


def test_a_dead_collector_costs_the_workflow_nothing_and_export_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    supervisor = Supervisor(FAST, model=scripted(), listeners=integrations_from_env())
    result = supervisor.run("a task", tmp_path / "run")
    assert result.status == "completed" and result.verdict == "approve"
    with OtlpReceiver() as later:
        report = export_runs([tmp_path / "run"], otlp=later.url)
        assert report.ok and report.runs[0].spans == 7
        assert later.wait_for(has(ROOT))


def test_a_hung_collector_costs_the_workflow_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OtlpReceiver(mode="hang") as hung:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hung.url)
        supervisor = Supervisor(FAST, model=scripted(), listeners=integrations_from_env())
        result = supervisor.run("a task", tmp_path / "run")
        assert result.status == "completed"
        assert hung.spans == []


def test_closing_a_live_exporter_that_never_reached_its_collector_returns_at_once(
    tmp_path: Path,
) -> None:
    with OtlpReceiver(mode="hang") as hung:
        exporter = live.LiveExporter(tmp_path / "run", endpoint=hung.url, timeout=30.0)
        Supervisor(FAST, model=scripted(), listeners=[exporter]).run("a task", tmp_path / "run")
        report = exporter.close(flush_timeout=30.0)
        assert not report.caught_up and report.exported_spans == 0


def test_closing_cuts_off_the_retries_of_a_send_under_way(tmp_path: Path) -> None:
    # The collector answers 503, which the SDK retries with backoff for up to the
    # exporter's 30 s timeout; closing ends them instead of leaving them to run on.
    with OtlpReceiver(mode="refuse") as refusing:
        exporter = live.LiveExporter(tmp_path / "run", endpoint=refusing.url, timeout=30.0)
        Supervisor(FAST, model=scripted(), listeners=[exporter]).run("a task", tmp_path / "run")
        exporter.close(flush_timeout=0)
        assert exporter.wait_idle(10.0)


def test_a_healthy_live_exporter_reports_it_caught_up(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    exporter = live.LiveExporter(tmp_path / "run", endpoint=receiver.url)
    Supervisor(FAST, model=scripted(), listeners=[exporter]).run("a task", tmp_path / "run")
    assert exporter.wait_idle(20.0)
    report = exporter.close()
    assert report.caught_up and report.exported_spans == 7
    assert report.last_error is None


def test_live_export_is_off_without_an_endpoint() -> None:
    assert live_endpoint({}) is None
    assert live_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == "http://c:4318"
    assert live_endpoint({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/v1/traces"}) == (
        "http://t/v1/traces"
    )
    on = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    assert live_endpoint({**on, "OTEL_SDK_DISABLED": "true"}) is None
    assert live_endpoint({**on, "OTEL_TRACES_EXPORTER": "none"}) is None


def test_without_the_extra_a_run_warns_once_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    for name in [m for m in sys.modules if m == "opentelemetry" or m.startswith("opentelemetry.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # type: ignore[arg-type]
    monkeypatch.setattr(live, "_warned", set())
    supervisor = Supervisor(FAST, model=scripted(), listeners=integrations_from_env())
    assert supervisor.run("a task", tmp_path / "one").status == "completed"
    assert supervisor.run("a task", tmp_path / "two").status == "completed"
    warnings = [line for line in logs.getvalue().splitlines() if "otel extra" in line]
    assert len(warnings) == 1
    assert "pip install 'agentlog[otel]'" in warnings[0]


def test_agentlog_run_delivers_the_whole_trace_before_the_process_exits(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({"plan": [answer(PLAN)], "code": [answer(CODE)], "review": [answer(APPROVE)]})
    )
    with OtlpReceiver() as r:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": r.url}
        done = subprocess.run(
            [*CLI, "run", "a task", "--run-dir", str(tmp_path / "run"), "--script", str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert outline(list(r.unique().values())) == [
            ROOT,
            "  invoke_agent planner",
            "    chat scripted",
            "  invoke_agent coder",
            "    chat scripted",
            "  invoke_agent reviewer",
            "    chat scripted",
        ]


def test_a_resumed_run_exports_what_closes_after_the_resume_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    Supervisor(FAST, model=scripted()).run("a task", tmp_path / "whole")
    lines = (tmp_path / "whole" / "events.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "killed").mkdir()
    (tmp_path / "killed" / "events.jsonl").write_bytes(b"".join(lines[:7]))  # code done
    with OtlpReceiver() as r:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.url)
        result = Supervisor.resume(
            tmp_path / "killed", model=scripted(), listeners=integrations_from_env()
        )
        assert result.status == "completed"
        assert r.wait_for(has(ROOT))
        assert outline(list(r.unique().values())) == [
            ROOT,
            "  invoke_agent reviewer",
            "    chat scripted",
        ]


def test_a_grpc_protocol_setting_is_warned_about_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO
) -> None:
    monkeypatch.setattr(live, "_warned", set())
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert len(live.live_listeners(tmp_path / "a", env)) == 1
    assert len(live.live_listeners(tmp_path / "b", env)) == 1
    warnings = [line for line in logs.getvalue().splitlines() if "not gRPC" in line]
    assert len(warnings) == 1


def test_a_retried_run_exports_the_attempts_after_the_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    failing = scripted(code=[{"error": {"kind": "auth"}}])  # not retryable: the run fails
    assert Supervisor(FAST, model=failing).run("a task", tmp_path / "run").status == "failed"
    with OtlpReceiver() as r:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.url)
        result = Supervisor.retry(
            tmp_path / "run", model=scripted(), listeners=integrations_from_env()
        )
        assert result.status == "completed"
        assert r.wait_for(has(ROOT))
        spans = list(r.unique().values())
        assert outline(spans) == [
            ROOT,
            "  invoke_agent coder",
            "    chat scripted",
            "  invoke_agent reviewer",
            "    chat scripted",
        ]
        root = next(s for s in spans if s.name == ROOT)
        assert root.attributes["agentlog.status"] == "completed"


def test_a_run_parked_at_a_gate_leaves_no_exporter_behind(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    # A parked run has no final event: its exporter used to run on until the process
    # exited, which then waited 2 s for it (`agentlog run` to a gate, in every process
    # that parks runs). The supervisor now closes it when the run stops.
    gate = msgspec.structs.replace(FAST, approve=("plan",))
    run = tmp_path / "run"
    result = Supervisor(gate, model=scripted(), listeners=integrations_from_env()).run(
        "a task", run
    )
    assert result.waiting
    assert receiver.wait_for(has("invoke_agent planner"))
    exporters = [s for s in list(shipping._open) if s.log.path.parent == run]
    assert len(exporters) == 1
    assert exporters[0].wait_idle(10.0)
