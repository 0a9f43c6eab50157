"""Out of space: a run that cannot write stops with one clear line and resumes later.

A failed append (the log cannot grow) and a failed projection write (``plan.json`` or
``files/`` cannot be written) both stop the run without a final event, because the log
still holds every acknowledged event: no traceback, no ``running: verdict -`` summary,
no ``WorkflowFailed internal``; once space is back, ``agentlog resume`` completes it.

The log is made to fail with ``RLIMIT_FSIZE`` in a child process (no privileges
needed); projections with a tmpfs short of inodes, mounted in a private mount
namespace (``unshare``: root, or unprivileged user namespaces).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from _tmpfs import in_mount_namespace
from _workflow import APPROVE, CODE, FAST, PLAN, answer, events_of, scripted

from actors import Supervisor
from events import WorkflowCompleted, WorkflowFailed
from store import EventLog

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
HAPPY = {"plan": [answer(PLAN)], "code": [answer(CODE)], "review": [answer(APPROVE)]}


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_bytes(msgspec.json.encode(HAPPY))
    return path


def full_log_size(tmp_path: Path) -> int:
    """The size of a complete run's log (the same script, run once in this process)."""
    run = tmp_path / "reference"
    Supervisor(FAST, model=scripted()).run("task", run)
    return (run / "events.jsonl").stat().st_size


def run_cli(*args: str | Path, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "CONVEX"))}
    return subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        preexec_fn=limit,
    )


def assert_stopped_cleanly(
    done: subprocess.CompletedProcess[str], run: Path, log: Path | None = None
) -> None:
    """One ``agentlog:`` line naming ``resume``, no traceback, no final event in ``log``."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "this writer is closed" not in done.stderr
    assert "verdict -" not in done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("agentlog:")]
    assert len(errors) == 1 and f"agentlog resume {run}" in errors[0]
    assert not [ev for ev in events_of(log or run) if isinstance(ev, WorkflowFailed)]


def test_a_log_that_cannot_grow_stops_the_run_with_one_line(tmp_path: Path, script: Path) -> None:
    run = tmp_path / "run"
    limit = full_log_size(tmp_path) - 600  # room for all but the last events
    done = run_cli("run", "task", "--run-dir", run, "--script", script, fsize=limit)
    assert_stopped_cleanly(done, run)
    assert "File too large" in done.stderr
    assert EventLog(run).verify().ok


def test_resume_completes_a_run_stopped_by_a_full_log_once_space_is_back(
    tmp_path: Path, script: Path
) -> None:
    run = tmp_path / "run"
    limit = full_log_size(tmp_path) - 600
    run_cli("run", "task", "--run-dir", run, "--script", script, fsize=limit)
    done = run_cli("resume", run, "--script", script)
    assert done.returncode == 0, done.stderr
    assert isinstance(events_of(run)[-1], WorkflowCompleted)
    assert (run / "review.json").exists()


def test_a_projection_out_of_space_stops_the_run_and_resume_completes_it(
    tmp_path: Path, script: Path
) -> None:
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    run = mnt / "run"
    cli = " ".join(f"'{part}'" for part in CLI)
    # The tmpfs holds its root, the run dir and the log (plus plan.json, renamed over its
    # temp file): the first projection with new files (code.json, files/) gets ENOSPC.
    steps = f"""
        set -u
        mount -t tmpfs -o size=4m,nr_inodes=5 tmpfs '{mnt}' || exit 77
        {cli} run task --run-dir '{run}' --script '{script}' >'{out}/run.out' 2>'{out}/run.err'
        echo $? >'{out}/run.rc'
        cp '{run}/events.jsonl' '{out}/stopped.jsonl'
        mount -o remount,nr_inodes=1000 '{mnt}'
        {cli} resume '{run}' --script '{script}' >'{out}/resume.out' 2>'{out}/resume.err'
        echo $? >'{out}/resume.rc'
        cp -r '{run}' '{out}/run'
    """
    in_mount_namespace(steps)
    stopped = subprocess.CompletedProcess(
        args=[],
        returncode=int((out / "run.rc").read_text()),
        stdout=(out / "run.out").read_text(),
        stderr=(out / "run.err").read_text(),
    )
    (out / "stopped").mkdir()
    shutil.copy(out / "stopped.jsonl", out / "stopped" / "events.jsonl")
    assert_stopped_cleanly(stopped, run, out / "stopped")
    assert "No space left on device" in stopped.stderr
    assert (out / "resume.rc").read_text().strip() == "0", (out / "resume.err").read_text()
    assert isinstance(events_of(out / "run")[-1], WorkflowCompleted)
    assert sorted(p.name for p in (out / "run" / "files").rglob("*.py")) == ["hello.py", "util.py"]
