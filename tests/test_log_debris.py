"""Crash debris after the last good event is repairable; damage before a good event is not.

A power cut can leave the log's size on disk ahead of its data: the tail then reads as
zero bytes, or as stale blocks of some other file. ``verify`` says so, ``verify --repair``
moves exactly that tail to a side file and says what it moved, and a run resumes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _logutil import line_spans, make_log, run_events

from actors.cli import main
from store import EventLog, LogCorrupt, LogError, NotALog, TornTail

#: What ext4 data=writeback can leave after four synced events: 1,152 zero bytes.
ZEROS = b"\0" * 1152


def _log_with_tail(tmp_path: Path, tail: bytes, events: int = 4) -> tuple[EventLog, bytes]:
    """A log of the first ``events`` run events followed by ``tail``; and its good bytes."""
    log = make_log(tmp_path / "run", run_events()[:events])
    good = log.path.read_bytes()
    log.path.write_bytes(good + tail)
    return log, good


@pytest.mark.parametrize(
    "tail",
    [
        ZEROS,
        b"\0" * 500 + b"\n" + b"\0" * 300,
        b"\0" * 4096 + b"\n",
        b"stale block of another file\nwith lines\x01\x02 and no end",
        b'{"type":"ModelCalled","seq":5,"id":"' + b"\0" * 700 + b'"}\n' + b"\0" * 64,
    ],
    ids=["zeros", "zeros with newline", "a zeroed page", "stale data", "event with a hole"],
)
def test_debris_after_the_last_good_event_is_reported_and_moved_aside(
    tmp_path: Path, tail: bytes
) -> None:
    log, good = _log_with_tail(tmp_path, tail)
    report = log.verify()
    assert not report.ok
    assert report.repairable
    assert report.events == 4
    assert report.torn_bytes == len(tail)
    assert report.reason is not None and "verify --repair" in report.reason
    fixed = log.repair()
    assert (fixed.kept_events, fixed.moved_bytes, fixed.from_line) == (4, len(tail), 5)
    assert fixed.side_file is not None and fixed.side_file.read_bytes() == tail
    assert log.path.read_bytes() == good
    assert log.verify().ok


def test_the_writer_calls_debris_a_torn_tail_that_repair_fixes(tmp_path: Path) -> None:
    log, _ = _log_with_tail(tmp_path, ZEROS)
    with pytest.raises(TornTail, match="verify --repair"):
        log.writer()
    log, _ = _log_with_tail(tmp_path / "b", b"\0" * 100 + b"\n")
    with pytest.raises(TornTail, match="verify --repair"):
        log.writer()
    log.repair()
    with log.writer() as writer:
        assert writer.last_seq == 4


def test_damage_with_a_good_event_after_it_stays_an_error_naming_the_line(
    tmp_path: Path,
) -> None:
    log = make_log(tmp_path)
    data = log.path.read_bytes()
    start, end = line_spans(data)[4]
    damaged = data[:start] + b"\0" * (end - start - 1) + b"\n" + data[end:]
    log.path.write_bytes(damaged)
    report = log.verify()
    assert (report.first_bad_line, report.repairable) == (5, False)
    with pytest.raises(LogCorrupt, match="only removes a torn last line") as caught:
        log.repair()
    assert caught.value.line_no == 5
    assert log.path.read_bytes() == damaged


def test_a_changed_byte_in_the_last_event_is_no_debris(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    data = bytearray(log.path.read_bytes())
    data[-40] ^= 0x01
    log.path.write_bytes(bytes(data))
    report = log.verify()
    assert (report.first_bad_line, report.repairable) == (len(run_events()), False)
    with pytest.raises(LogCorrupt):
        log.repair()


def test_a_log_of_only_zero_bytes_repairs_to_an_empty_log(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "run")
    log.path.parent.mkdir()
    log.path.write_bytes(ZEROS)
    assert log.verify().repairable
    assert log.repair().moved_bytes == len(ZEROS)
    assert log.path.read_bytes() == b""


def test_a_foreign_file_is_still_not_a_log(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"hello\n\0\0\0")
    assert not EventLog(path).verify().repairable
    with pytest.raises(NotALog):
        EventLog(path).repair()


def test_cli_verify_repair_says_what_it_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, good = _log_with_tail(tmp_path, ZEROS)
    assert main(["verify", str(log.path.parent)]) == 1
    out = capsys.readouterr()
    assert "crash debris" in out.out + out.err and "verify --repair" in out.out + out.err
    assert main(["verify", str(log.path.parent), "--repair"]) == 0
    out = capsys.readouterr()
    assert "moved 1152 bytes" in out.out and "line 5" in out.out
    assert log.path.read_bytes() == good


@pytest.mark.parametrize("kind", ["directory", "FIFO"])
def test_something_else_named_events_jsonl_is_named_for_what_it_is(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run" / "events.jsonl"
    path.parent.mkdir()
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(LogError, match=kind):
        list(EventLog(path).read())
    commands = (["log", str(path.parent)], ["log", "-f", str(path)], ["verify", str(path)])
    for argv in (*commands, ["project", str(path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert kind in err and "no such" not in err
        assert err.count("\n") == 1
