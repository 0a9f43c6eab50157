"""``agentlog log --follow``: it ends with the workflow, and never waits where no run can appear."""

from __future__ import annotations

import subprocess
from pathlib import Path

from _cli import CLI, cli
from _workflow import FAST, scripted

from actors import Supervisor


def _follow(run: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "log", str(run), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_follow_of_an_ended_run_prints_it_and_exits_0(run_dir: Path) -> None:
    Supervisor(FAST, model=scripted()).run("task", run_dir)
    done = cli("log", run_dir, "--follow")
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].split()[4] == "WorkflowCompleted"


def _waiting(follow: subprocess.Popen[str]) -> str:
    """The first line ``log --follow`` writes to stderr (it says what it waits for)."""
    assert follow.stderr is not None
    return follow.stderr.readline()


def test_follow_ends_after_the_final_event_of_a_run_it_watched(run_dir: Path) -> None:
    follow = _follow(run_dir)
    try:
        assert "waiting for" in _waiting(follow)  # it follows before the run starts
        Supervisor(FAST, model=scripted()).run("task", run_dir)
        out, _ = follow.communicate(timeout=30)
    finally:
        follow.kill()
    assert follow.returncode == 0
    assert "WorkflowCompleted" in out.splitlines()[-1]


def test_follow_waits_in_an_existing_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    follow = _follow(tmp_path / "run")
    try:
        assert "waiting for" in _waiting(follow)  # waits, not a usage error
        assert follow.poll() is None
    finally:
        follow.kill()
        follow.wait()


def test_follow_of_a_mistyped_directory_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("log", tmp_path / "runz" / "demo", "--follow")
    assert done.returncode == 2
    assert "no such directory" in done.stderr


def test_follow_of_a_directory_that_is_no_run_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    done = cli("log", tmp_path, "--follow")
    assert done.returncode == 2
    assert "not a run directory" in done.stderr
