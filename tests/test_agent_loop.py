"""The Coder as a tool loop, through the real SDK against the fake Messages API's rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _repo import PLAN_APP, make_repo, needs_git
from _workflow import KEY, kinds, of_type
from fake_anthropic import FakeAnthropic

from actors import Supervisor, WorkflowConfig
from actors.models import AnthropicModel
from actors.replaying import replay
from events import (
    BudgetReached,
    CodeProduced,
    ModelCalled,
    StepFailed,
    ToolCalled,
    ToolResulted,
    WorkflowFailed,
)
from store import EventLog, ObjectStore
from store.worktree import working_copy_at

pytestmark = needs_git

MODEL = "claude-sonnet-5-5"  # a strict model: no forced tool choice
LOOP = WorkflowConfig(agent_loop=True, backoff_base=0, step_timeout=120, max_retries=0)
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
APPROVE = {"verdict": "approve", "summary": "Fine."}


def claude(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel(MODEL, api_key=KEY, base_url=server.url)


def queue_loop(server: FakeAnthropic) -> None:
    """Plan; search and read together; edit; tests fail; fix the test; tests pass; submit."""
    server.reply_tool_use(PLAN_APP)
    server.reply_tool_calls(
        [("search", {"pattern": "hello"}), ("read_file", {"path": "src/app.py"})],
        thinking="Where does the greeting come from?",
    )
    edit = {"path": "src/app.py", "old_text": '"hello "', "new_text": '"hi "'}
    server.reply_tool_use(edit, name="edit_file", thinking="Change the word.")
    server.reply_tool_use({"command": PYTEST}, name="run_command")
    fix = {"path": "tests/test_app.py", "old_text": "'hello x'", "new_text": "'hi x'"}
    server.reply_tool_use(fix, name="edit_file")
    server.reply_tool_use({"command": PYTEST}, name="run_command")
    server.reply_tool_use({"summary": "greet says hi; its test too"}, name="submit")
    server.reply_tool_use(APPROVE)


def run_loop(server: FakeAnthropic, tmp_path: Path, config: WorkflowConfig = LOOP) -> Path:
    run = tmp_path / "run"
    repo = make_repo(tmp_path / "repo")
    Supervisor(config, model=claude(server)).run("greet with hi", run, workspace=repo)
    return run


def test_the_coder_searches_edits_runs_the_tests_fixes_and_submits(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    assert kinds(run)[-1] == "WorkflowCompleted"
    calls = of_type(run, ToolCalled)
    assert [c.name for c in calls] == [
        "search", "read_file", "edit_file", "run_command", "edit_file", "run_command", "submit"
    ]  # fmt: skip
    results = {r.call_id: r for r in of_type(run, ToolResulted)}
    commands = [results[c.call_id] for c in calls if c.name == "run_command"]
    assert [r.exit_code for r in commands] == [1, 0]
    assert "1 failed" in commands[0].output and "1 passed" in commands[1].output
    assert "src/app.py:2:" in results[calls[0].call_id].output
    code = of_type(run, CodeProduced)[0]
    assert code.by_tools and code.code.notes == "greet says hi; its test too"
    assert (run / "files" / "src" / "app.py").read_text().count('"hi "') == 1
    assert "'hi x'" in (run / "files" / "tests" / "test_app.py").read_text()


def test_each_model_turn_is_recorded_and_answers_every_tool_use_of_the_last(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    turns = [ev for ev in of_type(run, ModelCalled) if ev.step == "code"]
    assert len(turns) == 6
    second = fake_anthropic.requests[2].body  # the Coder's second turn
    answered = second["messages"][-1]["content"]
    assert [b["type"] for b in answered] == ["tool_result", "tool_result"]  # together
    assert second["messages"][-2]["content"][0]["type"] == "thinking"  # passed back


def test_a_loop_turn_caches_tools_system_and_the_conversation_so_far(
    tmp_path: Path,
) -> None:
    with FakeAnthropic(measure_usage=True) as server:
        queue_loop(server)
        run = run_loop(server, tmp_path)
        bodies = [r.body for r in server.requests[1:7]]
    assert "cache_control" in bodies[0]["tools"][-1]
    assert "cache_control" in bodies[0]["messages"][-1]["content"][-1]
    turns = [ev for ev in of_type(run, ModelCalled) if ev.step == "code"]
    assert all(t.usage.cache_read_input_tokens > 0 for t in turns[1:])


def test_the_working_copy_mid_loop_is_the_projection_of_the_edits_so_far(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    first_edit = next(r for r in of_type(run, ToolResulted) if r.name == "edit_file")
    events = list(EventLog(run).read())
    tree = working_copy_at(events, ObjectStore(run), first_edit.seq)
    assert '"hi "' in tree.text("src/app.py") and "'hello x'" in tree.text("tests/test_app.py")


def test_bad_tool_use_is_an_error_result_and_the_loop_goes_on(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP)
    fake_anthropic.reply_tool_calls(
        [("read_file", {"path": "nope.py"}), ("teleport", {}), ("search", {"pattern": "("})]
    )
    fake_anthropic.reply_tool_use({"summary": "nothing"}, name="submit")
    fake_anthropic.reply_tool_use(APPROVE)
    run = run_loop(fake_anthropic, tmp_path)
    results = of_type(run, ToolResulted)[:3]
    assert [r.is_error for r in results] == [True, True, True]
    assert "no such file" in results[0].output and "no tool named" in results[1].output
    assert kinds(run)[-1] == "WorkflowCompleted"


def test_a_replay_serves_turns_and_command_results_and_runs_nothing(
    fake_anthropic: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    import actors.loop.coder as coder

    def no_commands(*_: Any, **__: Any) -> Any:
        raise AssertionError("a replay ran a command")

    monkeypatch.setattr(coder, "run_command", no_commands)
    report = replay(run)
    assert report.ok, report.verdict


def test_the_turn_budget_ends_the_step_with_its_own_failure_not_retried(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP)
    for _ in range(2):
        fake_anthropic.reply_tool_use({"path": ""}, name="list_files")
    config = msgspec.structs.replace(LOOP, max_turns=2, max_retries=3)
    run = run_loop(fake_anthropic, tmp_path, config)
    reached = of_type(run, BudgetReached)
    assert [(b.budget, b.limit, b.used) for b in reached] == [("turns", 2.0, 2.0)]
    failed = of_type(run, StepFailed)
    assert [(f.error_kind, f.retryable) for f in failed] == [("budget", False)]
    assert of_type(run, WorkflowFailed)[0].step == "code"
