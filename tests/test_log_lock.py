"""Exactly one writer: a second one, in this process or another, gets LogLocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _logutil import make_log, run_events

from events import StepStarted
from store import EventLog, LogLocked

ROOT = Path(__file__).resolve().parent.parent

# A writer in another process: it appends N events, says "ready", and holds the lock until
# it reads a line on stdin; then it appends N more and exits.
_HOLDER = textwrap.dedent(
    """
    import sys
    from events import StepStarted
    from store import EventLog

    n = int(sys.argv[2])
    with EventLog(sys.argv[1]).writer() as w:
        for i in range(n):
            w.append(StepStarted(step="code", attempt=i + 1, actor="child"))
        print("ready", flush=True)
        sys.stdin.readline()
        w.append_many([StepStarted(step="code", attempt=i + 1, actor="child") for i in range(n)])
    """
)


def _start_holder(run: Path, n: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(run), str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


def test_second_writer_in_this_process_is_locked_out(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer():
        with pytest.raises(LogLocked) as caught:
            EventLog(tmp_path / "events.jsonl").writer()
        assert caught.value.pid == os.getpid()


def test_lock_is_free_again_after_close(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    with log.writer() as writer:
        writer.append(StepStarted(step="plan", attempt=2))
    assert log.verify().events == len(run_events()) + 1


def test_writer_in_another_process_locks_us_out_naming_its_pid(tmp_path: Path) -> None:
    proc = _start_holder(tmp_path, 3)
    try:
        with pytest.raises(LogLocked, match=rf"process {proc.pid}\b") as caught:
            EventLog(tmp_path).writer()
        assert caught.value.pid == proc.pid
        with pytest.raises(LogLocked):
            EventLog(tmp_path).repair()
    finally:
        proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0


def test_two_processes_take_turns_without_interleaving(tmp_path: Path) -> None:
    proc = _start_holder(tmp_path, 50)
    try:
        with pytest.raises(LogLocked):
            EventLog(tmp_path).writer()
    finally:
        proc.communicate("go\n", timeout=30)
    with EventLog(tmp_path).writer() as writer:
        writer.append_many([StepStarted(step="review", attempt=1, actor="parent")] * 50)
    log = EventLog(tmp_path)
    assert log.verify().ok
    actors = [ev.actor for ev in log.read()]
    assert actors == ["child"] * 100 + ["parent"] * 50
    assert [ev.seq for ev in log.read()] == list(range(1, 151))


def test_lock_dies_with_its_process(tmp_path: Path) -> None:
    proc = _start_holder(tmp_path, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with EventLog(tmp_path).writer() as writer:
        assert writer.append(StepStarted(step="plan", attempt=1)).seq == 3


def test_readers_and_verify_need_no_lock(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    with log.writer():
        assert len(list(log.read())) == len(run_events())
        assert log.verify().ok


def test_a_closed_writer_frees_the_lock_while_a_forked_child_still_has_the_file(
    tmp_path: Path,
) -> None:
    """Another thread's subprocess forked while the writer was open (an eval's check, a
    sandboxed command) keeps a copy of the log's descriptor until it execs; closing the
    writer must free the lock anyway, or the next writer of that run is refused."""
    log = make_log(tmp_path)
    gate_read, gate_write = os.pipe()
    with log.writer():
        child = os.fork()
        if child == 0:  # as a child between fork and exec: every descriptor still open
            os.read(gate_read, 1)
            os._exit(0)
    try:
        with log.writer() as writer:
            assert writer.append(StepStarted(step="plan", attempt=2)).seq == len(run_events()) + 1
    finally:
        os.write(gate_write, b"x")
        os.waitpid(child, 0)
        os.close(gate_read)
        os.close(gate_write)
