"""A run stopped from outside: a closed output never abandons it, SIGTERM is Ctrl-C.

These run the real console command in a subprocess and use real pipes and signals.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from _cli import CLI, write_script
from _sandbox import needs_bwrap, processes_with
from _workflow import APPROVE, CODE, PLAN

from store import EventLog, workflow_state


def _slow(tool_input: dict[str, object]) -> dict[str, object]:
    return {"tool_input": tool_input, "delay": 0.3}


def test_a_reader_that_leaves_early_does_not_abandon_the_run(tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "s.json", plan=[_slow(PLAN)], code=[_slow(CODE)], review=[_slow(APPROVE)]
    )
    run_dir = tmp_path / "run"
    run = subprocess.Popen(
        [*CLI, "run", "t", "--script", str(script), "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout is not None and run.stderr is not None
    run.stdout.readline(), run.stdout.readline()  # `| head -2`
    run.stdout.close()
    err = run.stderr.read().decode()
    assert run.wait(timeout=60) == 0
    assert workflow_state(EventLog(run_dir).read()).status == "completed"
    assert "Traceback" not in err
    assert err.count("stdout was closed") == 1, err


def _drain(fd: int, into: list[bytes]) -> threading.Thread:
    """Read ``fd`` (a pty's primary side) until the other side is gone, in a thread."""

    def read() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child's side is closed
                return
            if not chunk:
                return
            into.append(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("stderr_is_a_terminal", [False, True], ids=["stderr-pipe", "stderr-tty"])
@pytest.mark.parametrize("lines", [0, 1, 4])
def test_a_reader_leaving_at_any_moment_leaves_a_completed_run(
    tmp_path: Path, lines: int, stderr_is_a_terminal: bool
) -> None:
    """``agentlog run … | head -N``: the reader's lines are the timeline (also with a status
    line on a terminal stderr), and the run goes on to WorkflowCompleted and exit 0."""
    script = write_script(tmp_path / "s.json")
    run_dir = tmp_path / "run"
    primary, secondary = pty.openpty() if stderr_is_a_terminal else (-1, -1)
    run = subprocess.Popen(
        [*CLI, "run", "t", "--script", str(script), "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=secondary if stderr_is_a_terminal else subprocess.PIPE,
        env={**os.environ, "AGENTLOG_SCRIPT_DELAY": "0.2"},
    )
    err_chunks: list[bytes] = []
    if stderr_is_a_terminal:
        os.close(secondary)
        reader = _drain(primary, err_chunks)
    else:
        assert run.stderr is not None
        reader = _drain(run.stderr.fileno(), err_chunks)
    assert run.stdout is not None
    read = [run.stdout.readline().decode() for _ in range(lines)]
    run.stdout.close()
    code = run.wait(timeout=60)
    reader.join(timeout=10)
    if stderr_is_a_terminal:
        os.close(primary)
    err = b"".join(err_chunks).decode(errors="replace")
    assert code == 0, err
    assert [line.split()[:1] for line in read] == [[str(n + 1)] for n in range(lines)]
    events = list(EventLog(run_dir).read())
    assert type(events[-1]).__name__ == "WorkflowCompleted"
    assert "Traceback" not in err


def test_a_run_with_stdout_closed_from_the_start_completes(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json")
    run_dir = tmp_path / "run"
    argv = " ".join(
        [*map(repr, CLI), "run", "t", "--script", str(script), "--run-dir", str(run_dir)]
    )
    done = subprocess.run(
        ["sh", "-c", f"exec {argv} >&-"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert workflow_state(EventLog(run_dir).read()).status == "completed"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _run_with_tests(
    tmp_path: Path, test: str, run_dir: Path, sandbox: str
) -> subprocess.Popen[str]:
    """``agentlog run --run-tests`` whose Coder writes ``test`` as test_slow.py; SIGINT is
    left at its default in the child so the test can interrupt it."""
    files = [{"path": "test_slow.py", "content": test}]
    script = write_script(tmp_path / "s.json", code=[{"tool_input": {"files": files, "notes": ""}}])
    argv = ["run", "t", "--script", str(script), "--run-dir", str(run_dir), "--run-tests"]
    return subprocess.Popen(
        [*CLI, *argv, "--sandbox", sandbox],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupt_kills_the_running_tests_and_leaves_the_run_resumable(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    mark = tmp_path / "test-started"
    slow_test = (
        "import os, pathlib, time\n\n\ndef test_slow():\n"
        f"    pathlib.Path({str(mark)!r}).write_text(f'{{os.getpid()}} {{os.getcwd()}}')\n"
        "    time.sleep(60)\n"
    )
    run_dir = tmp_path / "run"
    run = _run_with_tests(
        tmp_path, slow_test, run_dir, "none"
    )  # the test reports its pid and cwd through a host file
    deadline = time.monotonic() + 60
    while not (mark.exists() and mark.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid, scratch = mark.read_text().split(" ", 1)
    run.send_signal(sig)
    out, err = run.communicate(timeout=30)
    assert run.returncode == code, err
    assert f"agentlog resume {run_dir}" in out
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid))
    assert not Path(scratch).exists()
    state = workflow_state(EventLog(run_dir).read())
    assert state.status == "running"  # resumable; no made-up test result was recorded
    assert "TestsRan" not in (run_dir / "events.jsonl").read_text()


@needs_bwrap
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupt_kills_sandboxed_tests_and_removes_their_scratch(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    marker = f"agentlog-signal-{uuid.uuid4().hex}"
    slow_test = (
        "import subprocess, sys\n\n\ndef test_slow():\n"
        f"    subprocess.run([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
    )
    run_dir = tmp_path / "run"
    run = _run_with_tests(tmp_path, slow_test, run_dir, "bwrap")
    deadline = time.monotonic() + 60
    while not processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker)
    run.send_signal(sig)
    out, err = run.communicate(timeout=30)
    assert run.returncode == code, err
    assert f"agentlog resume {run_dir}" in out
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []
    left = Path(tempfile.gettempdir()).glob("agentlog-tests-*/workspace/test_slow.py")
    assert not [p for p in left if marker in p.read_text()]  # this run's scratch is gone
    assert workflow_state(EventLog(run_dir).read()).status == "running"


def test_a_batch_whose_reader_left_exits_with_the_batch_code(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "one"}\n{"id": "b", "task": "two"}\n')
    argv = ["batch", str(tasks), "--runs-dir", str(tmp_path / "runs"), "--script", str(script)]
    run = subprocess.Popen([*CLI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None and run.stderr is not None
    run.stdout.close()  # `| head -0`: the summary has nowhere to go
    err = run.stderr.read().decode()
    assert run.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "stopped" not in err
    for name in ("a", "b"):
        assert workflow_state(EventLog(tmp_path / "runs" / name).read()).status == "completed"
