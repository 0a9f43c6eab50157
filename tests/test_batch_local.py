"""``agentlog batch`` on the local engine: many runs in one process, idempotent by their logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _batch import HAPPY_BY_TOOL, api_env, plans_per_run, write_tasks
from _workflow import APPROVE, CODE, PLAN
from fake_anthropic import FakeAnthropic

from actors.batch import Batch
from actors.cli import main
from events import WorkflowConfig
from store import EventLog, workflow_state


@pytest.fixture
def claude_env(fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> FakeAnthropic:
    """The real SDK pointed at the fake Messages API, answering any request order."""
    fake_anthropic.answer_by_tool(HAPPY_BY_TOOL, delay=0.02)
    for name, value in api_env(fake_anthropic).items():
        monkeypatch.setenv(name, value)
    return fake_anthropic


def logs_bytes(runs: Path) -> dict[str, bytes]:
    return {run.name: (run / "events.jsonl").read_bytes() for run in sorted(runs.iterdir())}


def test_a_batch_on_the_messages_api_completes_every_run(
    claude_env: FakeAnthropic, tmp_path: Path
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 6)
    outcomes = Batch(tasks, tmp_path / "runs", concurrency=3).run()
    assert sorted(o.id for o in outcomes) == [f"t{n:02d}" for n in range(6)]
    assert {(o.status, o.verdict, o.action) for o in outcomes} == {
        ("completed", "approve", "started")
    }
    assert plans_per_run(tmp_path / "runs") == {f"t{n:02d}": 1 for n in range(6)}
    assert len(claude_env.requests) == 6 * 3
    assert all(o.tokens == 3 * (120 + 45) for o in outcomes)


def test_running_a_finished_batch_again_changes_nothing(
    claude_env: FakeAnthropic, tmp_path: Path
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 3)
    Batch(tasks, tmp_path / "runs").run()
    before, calls = logs_bytes(tmp_path / "runs"), len(claude_env.requests)
    again = Batch(tasks, tmp_path / "runs").run()
    assert {o.action for o in again} == {"skipped"}
    assert logs_bytes(tmp_path / "runs") == before
    assert len(claude_env.requests) == calls


def test_a_rerun_resumes_an_unfinished_run_and_starts_a_missing_one(
    claude_env: FakeAnthropic, tmp_path: Path
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 3)
    runs = tmp_path / "runs"
    Batch(tasks, runs).run()
    cut = runs / "t01" / "events.jsonl"  # killed right after the plan was recorded
    lines = cut.read_bytes().splitlines(keepends=True)
    cut.write_bytes(b"".join(lines[:4]))
    for name in ("events.jsonl", "plan.json", "code.json", "review.json"):
        (runs / "t02" / name).unlink()
    actions = {o.id: o.action for o in Batch(tasks, runs).run()}
    assert actions == {"t00": "skipped", "t01": "resumed", "t02": "started"}
    assert plans_per_run(runs) == {"t00": 1, "t01": 1, "t02": 1}


def test_outcomes_arrive_as_runs_finish(claude_env: FakeAnthropic, tmp_path: Path) -> None:
    claude_env.answer_by_tool(HAPPY_BY_TOOL, delay=0.2)  # the second run takes >= 0.6 s
    tasks = write_tasks(tmp_path / "tasks.jsonl", 2)
    batch = iter(Batch(tasks, tmp_path / "runs", concurrency=1))
    first = next(batch)
    assert first.status == "completed"
    second = tmp_path / "runs" / ("t01" if first.id == "t00" else "t00")
    log = EventLog(second)
    assert not log.path.exists() or workflow_state(log.read()).status != "completed"
    assert next(batch).status == "completed"


def test_a_run_that_fails_is_reported_and_the_others_go_on(
    fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_anthropic.reply_auth_error()  # the first request of the batch: not retryable
    fake_anthropic.answer_by_tool(HAPPY_BY_TOOL)
    for name, value in api_env(fake_anthropic).items():
        monkeypatch.setenv(name, value)
    tasks = write_tasks(tmp_path / "tasks.jsonl", 2)
    outcomes = {o.id: o for o in Batch(tasks, tmp_path / "runs", concurrency=1).run()}
    assert outcomes["t00"].status == "failed"
    assert outcomes["t00"].error is not None and "auth" in outcomes["t00"].error
    assert outcomes["t01"].ok


def test_the_config_of_a_line_overrides_the_batch_config(
    claude_env: FakeAnthropic, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "t", "config": {"max_revisions": 3}}\n', "utf-8")
    Batch(tasks, tmp_path / "runs", config=WorkflowConfig(max_revisions=1)).run()
    assert workflow_state(EventLog(tmp_path / "runs" / "a").read()).config.max_revisions == 3


# The command line ---------------------------------------------------------------------


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    script = {
        "plan": [{"tool_input": PLAN}],
        "code": [{"tool_input": CODE}],
        "review": [{"tool_input": APPROVE}],
    }
    path.write_text(json.dumps(script), "utf-8")
    return path


_MAIN = "import sys; from actors.cli import main; sys.exit(main())"


def _agentlog(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _MAIN, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        # Ctrl-C reaches it as it would from a terminal, even when pytest runs as a
        # background job (which starts with SIGINT ignored, inherited by children).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_the_cli_prints_a_summary_and_exits_0(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 3)
    proc = _agentlog("batch", tasks, "--runs-dir", tmp_path / "runs", "--script", _script(tmp_path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "3 runs: 3 ok, 0 failed" in out
    assert out.count("completed") == 3


def test_the_cli_json_lists_every_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 2)
    script = _script(tmp_path)
    args = ["batch", tasks, "--runs-dir", tmp_path / "runs", "--script", script, "--json"]
    assert main([str(a) for a in args]) == 0  # in process: the exit codes have real ones
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in rows) == ["t00", "t01"]
    assert {r["status"] for r in rows} == {"completed"}


def test_a_bad_tasks_line_exits_2_naming_the_line_and_runs_nothing(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "fine"}\n{"id": "b"}\n', "utf-8")
    proc = _agentlog("batch", tasks, "--runs-dir", tmp_path / "runs", "--script", _script(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        f"agentlog: {tasks}:2: Object missing required field `task`"
    ]
    assert not (tmp_path / "runs").exists()


def test_a_failed_run_makes_the_batch_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "failing.json"
    script.write_text(json.dumps({"plan": [{"error": {"kind": "auth"}}]}), "utf-8")
    tasks = write_tasks(tmp_path / "tasks.jsonl", 1)
    args = ["batch", tasks, "--runs-dir", tmp_path / "runs", "--script", script]
    assert main([str(a) for a in args]) == 1  # in process: the exit codes have real ones
    assert "1 run: 0 ok, 1 failed" in capsys.readouterr().out


def test_ctrl_c_stops_every_run_resumably_and_a_rerun_completes_them(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 4)
    runs, script = tmp_path / "runs", _script(tmp_path)
    slow = {"AGENTLOG_SCRIPT_DELAY": "5"}  # longer than the test waits: stopped mid-way
    proc = _agentlog("batch", tasks, "--runs-dir", runs, "--script", script, env=slow)
    deadline = time.monotonic() + 30
    while not any(runs.glob("*/events.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)  # some runs mid-way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "run the same command again to continue" in err
    assert "Traceback" not in err
    states = [workflow_state(EventLog(run).read()).status for run in runs.iterdir()]
    assert "running" in states  # it really stopped mid-batch
    again = _agentlog("batch", tasks, "--runs-dir", runs, "--script", script, "--json")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert {r["status"] for r in json.loads(out)} == {"completed"}
    assert plans_per_run(runs) == {f"t{n:02d}": 1 for n in range(4)}
