"""``--max-tokens N`` on ``run`` and ``fork``: what the message of a cut-off answer tells to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from _workflow import APPROVE, CODE, KEY, PLAN, of_type
from fake_anthropic import FakeAnthropic

from actors.cli import main
from events import Forked, StepFailed, WorkflowCompleted, WorkflowStarted


@pytest.fixture(autouse=True)
def claude_env(fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK talks to the fake API with a fake key; no script, no Convex."""
    for name in ("ANTHROPIC_AUTH_TOKEN", "AGENTLOG_SCRIPT", "CONVEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.url)


def queue_happy(server: FakeAnthropic) -> None:
    for tool_input in (PLAN, CODE, APPROVE):
        server.reply_tool_use(tool_input)


def test_run_sends_and_records_the_max_tokens_given(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    queue_happy(fake_anthropic)
    assert main(["run", "greet", "--run-dir", str(run_dir), "--max-tokens", "777"]) == 0
    assert [r.body["max_tokens"] for r in fake_anthropic.requests] == [777, 777, 777]
    assert of_type(run_dir, WorkflowStarted)[0].config.max_tokens == 777


def test_fork_after_a_cut_off_answer_continues_with_the_raised_max_tokens(
    fake_anthropic: FakeAnthropic, run_dir: Path, tmp_path: Path
) -> None:
    fake_anthropic.reply_fixture("max_tokens_truncated_tool_input")
    assert main(["run", "greet", "--run-dir", str(run_dir), "--max-tokens", "64"]) == 1
    assert "--max-tokens" in of_type(run_dir, StepFailed)[0].message
    queue_happy(fake_anthropic)
    forked = tmp_path / "fork"
    args = ["fork", str(run_dir), "--at", "1", "--run-dir", str(forked), "--max-tokens", "9000"]
    assert main(args) == 0
    assert [r.body["max_tokens"] for r in fake_anthropic.requests[1:]] == [9000, 9000, 9000]
    assert of_type(forked, Forked)[0].config.max_tokens == 9000
    assert of_type(forked, WorkflowCompleted)[0].verdict == "approve"


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_max_tokens_below_one_is_a_usage_error(
    fake_anthropic: FakeAnthropic, run_dir: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "greet", "--run-dir", str(run_dir), "--max-tokens", value]) == 2
    assert "--max-tokens" in capsys.readouterr().err
    assert fake_anthropic.requests == []


def test_a_max_tokens_that_is_no_number_is_a_usage_error(run_dir: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "greet", "--run-dir", str(run_dir), "--max-tokens", "many"])
    assert info.value.code == 2


def test_run_and_fork_help_show_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("run", "fork"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--max-tokens N" in capsys.readouterr().out
