"""The API key never reaches the log, the artifacts, the files or a log message."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import structlog
from _workflow import APPROVE, CODE, FAST, KEY, PLAN, kinds, scripted
from fake_anthropic import FakeAnthropic

from actors import Supervisor
from actors.logs import configure_logging
from actors.models import AnthropicModel, ModelRequest, ModelResponse

ONE_SHOT = msgspec.structs.replace(FAST, max_retries=0)


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """structlog at debug level into a buffer; the key is in the environment too."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    buffer = io.StringIO()
    configure_logging("json", "debug", stream=buffer)
    yield buffer
    structlog.reset_defaults()


def everything_written(run_dir: Path) -> str:
    """All bytes of every file of the run (log, artifacts, files/), as text."""
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in run_dir.rglob("*") if p.is_file()
    )


def claude(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel("claude-sonnet-5-5", api_key=KEY, base_url=server.url)


def test_key_is_absent_after_a_401_that_echoes_it(
    fake_anthropic: FakeAnthropic, run_dir: Path, captured_logs: io.StringIO
) -> None:
    fake_anthropic.reply_error(401, "authentication_error", f"invalid x-api-key {KEY}")
    Supervisor(ONE_SHOT, model=claude(fake_anthropic)).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowFailed"
    assert "redacted" in (run_dir / "events.jsonl").read_text()
    assert KEY not in everything_written(run_dir)
    assert KEY not in captured_logs.getvalue()


def test_key_is_absent_after_a_successful_run(
    fake_anthropic: FakeAnthropic, run_dir: Path, captured_logs: io.StringIO
) -> None:
    for tool_input in (PLAN, CODE, APPROVE):
        fake_anthropic.reply_tool_use(tool_input)
    Supervisor(FAST, model=claude(fake_anthropic)).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    assert FakeAnthropic.sent_key(fake_anthropic.requests[0]) == KEY  # it was used
    assert KEY not in everything_written(run_dir)
    assert KEY not in captured_logs.getvalue()


class LeakyCrash:
    """A model with a bug whose exception message carries the key."""

    name = "leaky"

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        raise RuntimeError(f"connect failed with headers {{'x-api-key': '{KEY}'}}")


def test_key_in_a_crashing_agents_exception_is_not_recorded(
    run_dir: Path, captured_logs: io.StringIO
) -> None:
    Supervisor(ONE_SHOT, model=LeakyCrash()).run("task", run_dir)
    assert kinds(run_dir)[-1] == "WorkflowFailed"
    assert KEY not in everything_written(run_dir)
    assert KEY not in captured_logs.getvalue()


def test_key_in_a_scripted_error_message_is_not_recorded(
    run_dir: Path, captured_logs: io.StringIO
) -> None:
    model = scripted(plan=[{"error": {"kind": "auth", "message": f"bad key {KEY}"}}])
    Supervisor(ONE_SHOT, model=model).run("task", run_dir)
    assert KEY not in everything_written(run_dir)


def test_a_key_pasted_into_the_task_or_echoed_by_the_model_is_masked(
    run_dir: Path, captured_logs: io.StringIO
) -> None:
    leaky_code = {
        "files": [{"path": "config.py", "content": f"API_KEY = '{KEY}'\n"}],
        "notes": f"hard-coded {KEY} as asked",
    }
    model = scripted(code=[{"tool_input": leaky_code}])
    result = Supervisor(FAST, model=model).run(f"use the key {KEY} in config.py", run_dir)
    assert result.status == "completed"
    assert KEY not in everything_written(run_dir)
    assert "[redacted]" in (run_dir / "files" / "config.py").read_text()
