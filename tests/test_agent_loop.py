"""The Coder as a tool loop, through the real SDK against the fake Messages API's rules."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest
from _cli import cli, write_script
from _repo import PLAN_APP, git, make_repo, needs_git
from _workflow import KEY, kinds, of_type
from fake_anthropic import FakeAnthropic

from actors import Supervisor, WorkflowConfig, forking
from actors.models import AnthropicModel
from actors.pricing import price_for, usage_cost
from actors.replaying import replay
from events import (
    BudgetReached,
    ChangeSet,
    CodeProduced,
    ContextElided,
    ModelCalled,
    PlanProduced,
    RetryRequested,
    ReviewProduced,
    StepFailed,
    ToolCalled,
    ToolResulted,
    WorkflowFailed,
    WorkflowStarted,
)
from store import EventLog, ObjectStore, workflow_state
from store.worktree import working_copy_at

pytestmark = needs_git
E = TypeVar("E")

MODEL = "claude-sonnet-5-5"  # a strict model: no forced tool choice
LOOP = WorkflowConfig(agent_loop=True, backoff_base=0, step_timeout=120, max_retries=0)
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
APPROVE = {"verdict": "approve", "summary": "Fine."}


def coder(run: Path, kind: type[E]) -> list[E]:
    """The Coder's events of type ``kind``."""
    return [ev for ev in of_type(run, kind) if getattr(ev, "step", "code") == "code"]


def claude(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel(MODEL, api_key=KEY, base_url=server.url)


def queue_loop(server: FakeAnthropic) -> None:
    """Plan; search and read together; edit; tests fail; fix the test; tests pass; submit."""
    server.reply_tool_use(PLAN_APP, name="submit")
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
    server.reply_tool_use(APPROVE, name="submit")


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
    calls = coder(run, ToolCalled)
    assert [c.name for c in calls] == [
        "search", "read_file", "edit_file", "run_command", "edit_file", "run_command", "submit"
    ]  # fmt: skip
    results = {r.call_id: r for r in coder(run, ToolResulted)}
    commands = [results[c.call_id] for c in calls if c.name == "run_command"]
    assert [r.exit_code for r in commands] == [1, 0]
    assert not any(r.interrupted for r in results.values())
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
    turns = [ev for ev in coder(run, ModelCalled)]
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
    turns = [ev for ev in coder(run, ModelCalled)]
    assert all(t.usage.cache_read_input_tokens > 0 for t in turns[1:])


def test_the_working_copy_mid_loop_is_the_projection_of_the_edits_so_far(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    first_edit = next(r for r in coder(run, ToolResulted) if r.name == "edit_file")
    events = list(EventLog(run).read())
    tree = working_copy_at(events, ObjectStore(run), first_edit.seq)
    assert '"hi "' in tree.text("src/app.py") and "'hello x'" in tree.text("tests/test_app.py")


def test_bad_tool_use_is_an_error_result_and_the_loop_goes_on(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_tool_calls(
        [("read_file", {"path": "nope.py"}), ("teleport", {}), ("search", {"pattern": "("})]
    )
    fake_anthropic.reply_tool_use({"summary": "nothing"}, name="submit")
    fake_anthropic.reply_tool_use(APPROVE, name="submit")
    run = run_loop(fake_anthropic, tmp_path)
    results = coder(run, ToolResulted)[:3]
    assert [r.is_error for r in results] == [True, True, True]
    assert "no such file" in results[0].output and "no tool named" in results[1].output
    assert kinds(run)[-1] == "WorkflowCompleted"


def test_a_replay_serves_turns_and_command_results_and_runs_nothing(
    fake_anthropic: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    import actors.loop.run as coder

    def no_commands(*_: Any, **__: Any) -> Any:
        raise AssertionError("a replay ran a command")

    monkeypatch.setattr(coder, "run_command", no_commands)
    report = replay(run)
    assert report.ok, report.verdict


def test_the_turn_budget_ends_the_step_with_its_own_failure_not_retried(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    for _ in range(2):
        fake_anthropic.reply_tool_use({"path": ""}, name="list_files")
    config = msgspec.structs.replace(LOOP, max_turns=2, max_retries=3)
    run = run_loop(fake_anthropic, tmp_path, config)
    reached = of_type(run, BudgetReached)
    assert [(b.budget, b.limit, b.used) for b in reached] == [("turns", 2.0, 2.0)]
    failed = of_type(run, StepFailed)
    assert [(f.error_kind, f.retryable) for f in failed] == [("budget", False)]
    assert of_type(run, WorkflowFailed)[0].step == "code"


CHILD = """
import sys
from actors import Supervisor, WorkflowConfig
from actors.models import AnthropicModel
url, key, run, repo, model = sys.argv[1:6]
config = WorkflowConfig(agent_loop=True, backoff_base=0, max_retries=0, command_timeout=3)
Supervisor(config, model=AnthropicModel(model, api_key=key, base_url=url)).run(
    "greet with hi", run, workspace=repo
)
"""


def _running(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        try:
            if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                return True
        except OSError:
            continue
    return False


def test_a_kill_during_a_command_resumes_without_asking_a_turn_again(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    server = fake_anthropic
    server.reply_tool_use(PLAN_APP, name="submit")
    server.reply_tool_use({"command": "sleep 987"}, name="run_command")
    server.reply_tool_use({"summary": "nothing to change"}, name="submit")
    server.reply_tool_use(APPROVE, name="submit")
    run, repo = tmp_path / "run", make_repo(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, server.url, KEY, str(run), str(repo), MODEL], env=env
    )
    try:
        for _ in range(600):  # until the command runs (at most a minute)
            if _running("sleep 987") or child.poll() is not None:
                break
            time.sleep(0.1)
        assert _running("sleep 987")
    finally:
        child.kill()
        child.wait()
    assert kinds(run)[-1] == "ToolCalled"  # the call is recorded, its result is not
    Supervisor.resume(run, model=claude(server))
    assert kinds(run)[-1] == "WorkflowCompleted"
    assert len(server.requests) == 4  # no turn asked twice
    assert len([ev for ev in coder(run, ModelCalled)]) == 2
    command = [r for r in coder(run, ToolResulted) if r.name == "run_command"]
    assert len(command) == 1 and command[0].timed_out and command[0].interrupted
    assert len([c for c in coder(run, ToolCalled) if c.name == "run_command"]) == 1


def test_a_call_cut_by_max_tokens_is_answered_as_an_error_and_not_run(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    edit = {"path": "src/app.py", "old_text": '"hello "', "new_text": '"hi'}
    fake_anthropic.reply_tool_use(edit, name="edit_file", stop_reason="max_tokens")
    fake_anthropic.reply_tool_use({"summary": "stopped"}, name="submit")
    fake_anthropic.reply_tool_use(APPROVE, name="submit")
    run = run_loop(fake_anthropic, tmp_path)
    cut = coder(run, ToolResulted)[0]
    assert cut.is_error and "cut at max_tokens" in cut.output and not cut.edits
    assert of_type(run, CodeProduced)[0].change == ChangeSet(notes="stopped")


def test_the_token_budget_of_the_run_stops_the_loop_before_a_turn_over_it(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_tool_use({"path": ""}, name="list_files")
    config = msgspec.structs.replace(LOOP, budget_tokens=1500)
    run = run_loop(fake_anthropic, tmp_path, config)
    turns = [ev for ev in coder(run, ModelCalled)]
    used = sum(ev.usage.total for ev in of_type(run, ModelCalled))
    assert len(turns) == 1
    reached = of_type(run, BudgetReached)
    assert [(b.budget, b.limit, b.used) for b in reached] == [("tokens", 1500.0, float(used))]
    assert of_type(run, StepFailed)[0].error_kind == "budget"


def test_a_fork_inside_a_loop_goes_on_from_the_forked_event(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    queue_loop(fake_anthropic)
    run = run_loop(fake_anthropic, tmp_path)
    first_edit = next(r for r in coder(run, ToolResulted) if r.name == "edit_file")
    server = fake_anthropic
    asked = len(server.requests)
    server.reply_tool_use({"command": PYTEST}, name="run_command")
    server.reply_tool_use({"summary": "left the test as it was"}, name="submit")
    server.reply_tool_use(
        {"verdict": "request_changes", "summary": "the test fails"}, name="submit"
    )
    fork = tmp_path / "fork"
    result = forking.fork(run, at=first_edit.seq, new_run_dir=fork, model=claude(server))
    assert result.status == "completed" and result.verdict == "request_changes"
    assert len(server.requests) == asked + 3  # the fork asked only the turns after it
    files = fork / "files"
    assert '"hi "' in (files / "src" / "app.py").read_text()
    assert "'hello x'" in (files / "tests" / "test_app.py").read_text()


def test_agentlog_demo_loop_shows_a_coder_that_fails_a_test_fixes_it_and_submits(
    tmp_path: Path,
) -> None:
    done = cli("demo", "--loop", "--run-dir", tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    run = tmp_path / "demo"
    names = [c.name for c in coder(run, ToolCalled)]
    assert names == [
        "search", "read_file", "edit_file", "run_command", "edit_file", "run_command", "submit"
    ]  # fmt: skip
    commands = [r for r in coder(run, ToolResulted) if r.name == "run_command"]
    assert [r.exit_code for r in commands] == [1, 0]
    assert "FAILED (failures=1)" in commands[0].output
    assert kinds(run)[-1] == "WorkflowCompleted"


def test_run_loop_with_a_script_records_the_setting_and_each_scripted_call(
    tmp_path: Path,
) -> None:
    script = tmp_path / "s.json"
    edit = {"path": "src/app.py", "old_text": '"hello "', "new_text": '"hi "'}
    turns = [
        {"tool_calls": [{"name": "list_files", "input": {"path": "src"}}]},
        {"tool_calls": [{"name": "edit_file", "input": edit}]},
        {"tool_calls": [{"name": "submit", "input": {"summary": "hi"}}]},
    ]
    write_script(script, plan=[{"tool_input": PLAN_APP}], code=turns)
    repo, run = make_repo(tmp_path / "repo"), tmp_path / "run"
    args = ("run", "greet with hi", "--loop", "--script", script, "--workspace", repo)
    limits = ("--max-turns", "7", "--command-timeout", "30", "--budget-tokens", "90000")
    done = cli(*args, *limits, "--run-dir", run, "--sandbox", "none")
    assert done.returncode == 0, done.stderr
    config = of_type(run, WorkflowStarted)[0].config
    assert config.agent_loop and config.max_turns == 7 and config.command_timeout == 30
    assert config.budget_tokens == 90000
    assert [c.name for c in coder(run, ToolCalled)] == ["list_files", "edit_file", "submit"]
    assert coder(run, ToolResulted)[0].output == "src/app.py"
    assert '"hi "' in (run / "files" / "src" / "app.py").read_text()


def test_the_dollar_budget_of_the_run_stops_the_loop_before_a_turn_over_it(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_tool_use({"path": ""}, name="list_files")
    price = price_for(MODEL)
    assert price is not None
    config = msgspec.structs.replace(LOOP, budget_usd=0.004)  # each call: about $0.003
    run = run_loop(fake_anthropic, tmp_path, config)
    calls = of_type(run, ModelCalled)
    spent = sum(usage_cost(ev.usage, price) for ev in calls)
    assert len([ev for ev in calls if ev.step == "code"]) == 1
    reached = of_type(run, BudgetReached)
    assert [(b.budget, b.limit) for b in reached] == [("usd", 0.004)]
    assert reached[0].used == pytest.approx(spent) and spent >= 0.004


def test_the_planner_and_the_reviewer_loop_with_their_own_tools_and_submit_artifacts(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    server = fake_anthropic
    server.reply_tool_calls(
        [("list_files", {"path": "src"}), ("read_file", {"path": "src/app.py"})]
    )
    server.reply_tool_use({"summary": "no steps"}, name="submit")  # not a plan
    server.reply_tool_use(PLAN_APP, name="submit")
    edit = {"path": "src/app.py", "old_text": '"hello "', "new_text": '"hi "'}
    server.reply_tool_use(edit, name="edit_file")
    server.reply_tool_use({"summary": "hi"}, name="submit")
    server.reply_tool_calls(
        [("edit_file", edit), ("run_command", {"command": f"touch x && {PYTEST}"})]
    )
    verdict = {"verdict": "request_changes", "summary": "the test still says hello"}
    server.reply_tool_use(verdict, name="submit")
    run = run_loop(server, tmp_path)
    by_step = {
        step: [(r.name, r.is_error) for r in of_type(run, ToolResulted) if r.step == step]
        for step in ("plan", "review")
    }
    assert by_step["plan"] == [
        ("list_files", False), ("read_file", False), ("submit", True), ("submit", False)
    ]  # fmt: skip
    assert by_step["review"] == [("edit_file", True), ("run_command", False), ("submit", False)]
    review_runs = [r for r in of_type(run, ToolResulted) if r.step == "review" and r.edits]
    assert review_runs == []  # what the Reviewer's command wrote is not kept
    assert of_type(run, PlanProduced)[0].plan.summary == PLAN_APP["summary"]
    assert of_type(run, ReviewProduced)[0].review.verdict == "request_changes"
    assert "src/app.py" in of_type(run, ToolResulted)[0].output


def test_a_long_tool_output_is_shown_cut_with_the_cut_said_and_kept_whole(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_tool_use({"path": "big.txt"}, name="read_file")
    fake_anthropic.reply_tool_use({"summary": "read it"}, name="submit")
    fake_anthropic.reply_tool_use(APPROVE, name="submit")
    run, repo = tmp_path / "run", make_repo(tmp_path / "repo")
    (repo / "big.txt").write_text("".join(f"line {n}\n" for n in range(3000)))
    git(repo, "add", "big.txt")
    Supervisor(LOOP, model=claude(fake_anthropic)).run("read", run, workspace=repo)
    read = coder(run, ToolResulted)[0]
    assert "characters left out" in read.output and len(read.output) < read.output_chars
    whole = ObjectStore(run).get(read.output_digest).decode()
    assert len(whole) == read.output_chars and whole.endswith(" 3000\tline 2999")
    shown = fake_anthropic.requests[2].body["messages"][-1]["content"][0]["content"]
    assert shown == read.output


def test_past_the_context_limit_the_oldest_tool_results_are_elided_and_recorded(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    server = fake_anthropic
    server.reply_tool_use(PLAN_APP, name="submit")
    for _ in range(3):
        server.reply_tool_use({"path": "data.txt"}, name="read_file")
    server.reply_tool_use({"summary": "read"}, name="submit")
    server.reply_tool_use(APPROVE, name="submit")
    run, repo = tmp_path / "run", make_repo(tmp_path / "repo")
    (repo / "data.txt").write_text("".join(f"line {n}\n" for n in range(400)))
    git(repo, "add", "data.txt")
    config = msgspec.structs.replace(LOOP, loop_context_tokens=1500)
    Supervisor(config, model=claude(server)).run("read", run, workspace=repo)
    reads = coder(run, ToolResulted)
    elided = of_type(run, ContextElided)
    assert elided[0].turn == 3 and elided[0].call_ids == (reads[0].call_id,)
    assert elided[0].tokens_after < elided[0].tokens_before
    third = server.requests[3].body["messages"]
    assert third[2]["content"][0]["content"].startswith("[output elided to fit the context")
    assert third[4]["content"][0]["content"] == reads[1].output  # the last one stays whole
    assert reads[0].output.count("line ") == 400  # the log keeps it whole
    assert replay(run).ok


def test_a_turn_without_a_tool_call_is_told_to_go_on_and_the_loop_continues(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_text("I think I am done.", thinking="Done?")
    fake_anthropic.reply_tool_use({"summary": "nothing to change"}, name="submit")
    fake_anthropic.reply_tool_use(APPROVE, name="submit")
    run = run_loop(fake_anthropic, tmp_path)
    assert kinds(run)[-1] == "WorkflowCompleted"
    nudge = fake_anthropic.requests[2].body["messages"][-1]
    assert nudge["role"] == "user" and "submit" in nudge["content"][0]["text"]


def test_a_run_stopped_by_its_dollar_budget_goes_on_when_a_retry_raises_it(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_tool_use({"path": ""}, name="list_files")
    config = msgspec.structs.replace(LOOP, budget_usd=0.004)  # each call: about $0.003
    run = run_loop(fake_anthropic, tmp_path, config)
    assert of_type(run, WorkflowFailed)[0].error_kind == "budget"
    fake_anthropic.reply_tool_use({"summary": "listed"}, name="submit")
    fake_anthropic.reply_tool_use(APPROVE, name="submit")
    result = Supervisor.retry(run, model=claude(fake_anthropic), budgets={"budget_usd": 1.0})
    assert result.status == "completed", result
    (retried,) = of_type(run, RetryRequested)
    assert retried.config is not None and retried.config.budget_usd == 1.0
    assert workflow_state(EventLog(run).read()).config.budget_usd == 1.0


def test_a_retry_without_more_budget_stops_again_at_once(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN_APP, name="submit")
    fake_anthropic.reply_tool_use({"path": ""}, name="list_files")
    run = run_loop(fake_anthropic, tmp_path, msgspec.structs.replace(LOOP, budget_usd=0.004))
    calls = len(of_type(run, ModelCalled))
    assert Supervisor.retry(run, model=claude(fake_anthropic)).status == "failed"
    assert len(of_type(run, ModelCalled)) == calls  # what was spent still counts
    assert [b.budget for b in of_type(run, BudgetReached)] == ["usd", "usd"]
