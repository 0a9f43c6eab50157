"""follow(): tail a log while another thread or process appends to it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import msgspec
from _logutil import make_log, run_events

from events import StepStarted, encode_line
from store import EventLog

ROOT = Path(__file__).resolve().parent.parent

_APPENDER = textwrap.dedent(
    """
    import sys, time
    from events import StepStarted
    from store import EventLog

    with EventLog(sys.argv[1]).writer() as w:
        for i in range(int(sys.argv[2])):
            w.append(StepStarted(step="code", attempt=i + 1))
            if i % 10 == 0:
                time.sleep(0.005)
    """
)


def test_follow_yields_what_another_process_appends_in_order(tmp_path: Path) -> None:
    log = make_log(tmp_path, run_events()[:1])
    proc = subprocess.Popen(
        [sys.executable, "-c", _APPENDER, str(tmp_path), "200"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        seqs = [ev.seq for ev in log.follow(poll=0.005, until=lambda: proc.poll() is not None)]
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert seqs == list(range(1, 202))


def test_follow_waits_for_the_newline_of_a_partly_written_line(tmp_path: Path) -> None:
    log = make_log(tmp_path, run_events()[:3])
    extra = [
        encode_line(msgspec.structs.replace(StepStarted(step="review", attempt=i), seq=s))
        for i, s in enumerate((4, 5), 1)
    ]
    done = threading.Event()

    def slow_writer() -> None:
        # A writer that pauses mid-line, as a crash-free but slow write would look.
        with open(log.path, "ab", buffering=0) as f:
            for line in extra:
                for piece in (line[:1], line[1:37], line[37:-1], line[-1:]):
                    f.write(piece)
                    time.sleep(0.02)
        done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        events = list(log.follow(poll=0.002, until=done.is_set))
    finally:
        thread.join()
    assert [ev.seq for ev in events] == [1, 2, 3, 4, 5]
    assert [getattr(ev, "attempt", None) for ev in events[3:]] == [1, 2]


def test_follow_from_seq_skips_earlier_events(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    seqs = [ev.seq for ev in log.follow(from_seq=7, until=lambda: True)]
    assert seqs == list(range(7, len(run_events()) + 1))


def test_follow_waits_for_a_log_that_does_not_exist_yet(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "later")
    done = threading.Event()

    def create_later() -> None:
        time.sleep(0.05)
        make_log(tmp_path / "later", run_events()[:2])
        done.set()

    thread = threading.Thread(target=create_later)
    thread.start()
    try:
        seqs = [ev.seq for ev in log.follow(poll=0.005, until=done.is_set)]
    finally:
        thread.join()
    assert seqs == [1, 2]


def test_follow_ends_when_until_is_true_after_draining(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    assert len(list(log.follow(until=lambda: True))) == len(run_events())
