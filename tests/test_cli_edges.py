"""Edges of starting, stopping and watching runs: empty logs, future logs, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _workflow import APPROVE, CODE, FAST, PLAN, scripted

from actors import Supervisor
from events import WorkflowConfig, WorkflowStarted
from store import EventLog


def test_a_run_can_start_in_a_directory_whose_log_is_empty(run_dir: Path) -> None:
    run_dir.mkdir()
    (run_dir / "events.jsonl").touch()  # a process killed before its first append
    result = Supervisor(FAST, model=scripted()).run("task", run_dir)
    assert result.status == "completed"
    assert next(iter(EventLog(run_dir).read())).seq == 1


def test_log_follow_waits_for_a_log_that_does_not_exist_yet(run_dir: Path) -> None:
    follow = subprocess.Popen(
        [sys.executable, "-c", "from actors.cli import main; main()", "log", str(run_dir), "-f"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stderr is not None
        assert "waiting for" in follow.stderr.readline()  # still waiting, not a usage error
        assert follow.poll() is None
        Supervisor(FAST, model=scripted()).run("task", run_dir)
        deadline = time.monotonic() + 30
        lines: list[str] = []
        assert follow.stdout is not None
        while time.monotonic() < deadline and not any("WorkflowCompleted" in x for x in lines):
            lines.append(follow.stdout.readline())
        assert any("WorkflowCompleted" in line for line in lines)
    finally:
        follow.kill()
        follow.wait()


def test_ctrl_c_stops_a_run_at_once_and_resume_finishes_it(run_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "plan": [{"tool_input": PLAN}],
                "code": [{"tool_input": CODE}],
                "review": [{"tool_input": APPROVE}],
            }
        )
    )
    cli = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
    run = subprocess.Popen(
        [*cli, "run", "task", "--script", str(script), "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "AGENTLOG_SCRIPT_DELAY": "30"},  # every call slow; resume: none
    )
    deadline = time.monotonic() + 30
    while not (run_dir / "events.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside the planner's 30 s model call
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=30)
    assert run.returncode == 130
    assert f"agentlog resume {run_dir}" in out
    assert "WorkflowCompleted" not in (run_dir / "events.jsonl").read_text()
    resumed = subprocess.run(
        [*cli, "resume", str(run_dir), "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "completed: verdict approve" in resumed.stdout


def test_a_demo_run_forks_offline_without_a_script(
    shared_demo: tuple[Path, int, str], tmp_path: Path
) -> None:
    from actors.cli import main

    demo, code, _ = shared_demo
    assert code == 0
    forked = tmp_path / "fork"
    assert main(["fork", str(demo), "--at", "5", "--run-dir", str(forked)]) == 0
    assert (forked / "review.json").exists()


def test_resuming_a_scripted_run_without_its_script_is_a_usage_error(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from actors.cli import main

    with EventLog(run_dir).writer() as writer:
        writer.append(WorkflowStarted(task="t", config=WorkflowConfig(model="scripted")))
    assert main(["resume", str(run_dir)]) == 2
    assert "pass --script FILE" in capsys.readouterr().err
