"""Edges of starting and watching runs: a log that died at birth, following a future log."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from _workflow import FAST, scripted

from actors import Supervisor
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
        time.sleep(0.5)
        assert follow.poll() is None  # still waiting, not a usage error
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
