"""Exit codes live on the error classes; the command line only translates them.

0 success, 1 the work failed or a log is damaged, 2 bad usage or input, 130/143
interrupted and resumable (see test_cli_signals.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import cli, write_script

from actors.cli import main
from actors.cli.interrupts import Terminated
from actors.convex.errors import ConvexCallError
from actors.models import ModelError, NonDeterminism, ScriptError
from events import AgentlogError, CorruptLine, UsageError
from store import EventLog, LogCorrupt, LogError, LogLocked, NotALog, TornTail

FAILED: list[AgentlogError] = [
    LogError("/x/events.jsonl: No space left on device"),
    LogLocked(Path("events.jsonl"), 42),
    TornTail(Path("events.jsonl"), 10, 3),
    LogCorrupt(Path("events.jsonl"), 3, "bad crc"),
    CorruptLine("bad crc"),
    ConvexCallError("mirror:apply", "unreachable", transport=True),
    ModelError("overloaded", kind="overloaded"),
    NonDeterminism(step="plan", seq=4, expected="a", actual="b", reason="digest"),
]
BAD_INPUT: list[AgentlogError] = [
    UsageError("TASK is empty"),
    NotALog(Path("notes.txt"), 1, "no JSON"),
    ScriptError("model script step 'x' is unknown"),
]


@pytest.mark.parametrize("error", FAILED, ids=lambda e: type(e).__name__)
def test_failed_work_and_damaged_logs_exit_1(error: AgentlogError) -> None:
    assert error.exit_code == 1


@pytest.mark.parametrize("error", BAD_INPUT, ids=lambda e: type(e).__name__)
def test_bad_usage_and_input_exit_2(error: AgentlogError) -> None:
    assert error.exit_code == 2


def test_sigterm_exits_143() -> None:
    assert Terminated().exit_code == 143


def test_a_log_locked_by_a_running_writer_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert (
        main(
            ["run", "t", "--script", str(write_script(tmp_path / "s.json")), "--run-dir", str(run)]
        )
        == 0
    )
    (run / "events.jsonl").write_bytes(
        b"".join((run / "events.jsonl").read_bytes().splitlines(keepends=True)[:4])
    )
    capsys.readouterr()
    with EventLog(run).writer():  # another run is writing this log
        assert main(["resume", str(run), "--script", str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err
    assert "being written by" in err and err.count("\n") == 1


def test_an_os_error_while_running_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = cli(
        "run",
        "t",
        "--script",
        write_script(tmp_path / "s.json"),
        "--run-dir",
        "/proc/agentlog-test/run",
    )
    assert done.returncode == 1
    assert done.stderr.startswith("agentlog: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
