"""A torn last line (a crash mid-write) is reported, refused by the writer and repairable."""

from __future__ import annotations

from pathlib import Path

import pytest
from _logutil import line_spans, make_log, run_events

from events import StepStarted
from store import EventLog, LogCorrupt, NotALog, TornTail


def _logs_cut_in_last_line(tmp_path: Path) -> tuple[bytes, int, list[int]]:
    """The bytes of a real log, where its last line starts, and every cut inside that line."""
    data = make_log(tmp_path / "source").path.read_bytes()
    start, end = line_spans(data)[-1]
    return data, start, list(range(start + 1, end))  # end - 1 keeps all but the newline


def test_every_cut_of_the_last_line_is_reported_as_torn(tmp_path: Path) -> None:
    data, start, cuts = _logs_cut_in_last_line(tmp_path)
    complete = len(run_events()) - 1
    for cut in cuts:
        log = EventLog(tmp_path / f"cut-{cut}")
        log.path.parent.mkdir()
        log.path.write_bytes(data[:cut])
        report = log.verify()
        assert not report.ok
        assert report.first_bad_line is None
        assert (report.torn_bytes, report.torn_line) == (cut - start, complete + 1)
        assert report.events == report.last_seq == complete
        assert report.reason is not None and f"line {complete + 1} is torn" in report.reason


def test_repair_keeps_every_complete_event_and_sets_torn_bytes_aside(tmp_path: Path) -> None:
    data, start, cuts = _logs_cut_in_last_line(tmp_path)
    intact = list(EventLog(tmp_path / "source").read())[:-1]
    for cut in cuts:
        log = EventLog(tmp_path / f"cut-{cut}")
        log.path.parent.mkdir()
        log.path.write_bytes(data[:cut])
        fixed = log.repair()
        assert (fixed.kept_events, fixed.moved_bytes) == (len(intact), cut - start)
        assert fixed.side_file == log.path.with_name("events.jsonl.torn-1")
        assert fixed.side_file.read_bytes() == data[start:cut]
        assert log.path.read_bytes() == data[:start]
        assert log.verify().ok
        assert list(log.read()) == intact


def test_read_skips_a_torn_last_line(tmp_path: Path) -> None:
    data, start, _ = _logs_cut_in_last_line(tmp_path)
    log = EventLog(tmp_path / "run")
    log.path.parent.mkdir()
    log.path.write_bytes(data[: start + 10])
    assert [ev.seq for ev in log.read()] == list(range(1, len(run_events())))


def test_writer_refuses_a_torn_log_and_says_how_to_repair(tmp_path: Path) -> None:
    data, start, _ = _logs_cut_in_last_line(tmp_path)
    log = EventLog(tmp_path / "run")
    log.path.parent.mkdir()
    log.path.write_bytes(data[: start + 7])
    with pytest.raises(TornTail, match=r"agentlog verify --repair") as caught:
        log.writer()
    assert (caught.value.offset, caught.value.size) == (start, 7)
    assert log.path.read_bytes() == data[: start + 7]  # nothing was touched


def test_writer_appends_after_repair_with_contiguous_seq(tmp_path: Path) -> None:
    data, start, _ = _logs_cut_in_last_line(tmp_path)
    log = EventLog(tmp_path / "run")
    log.path.parent.mkdir()
    log.path.write_bytes(data[: start + 3])
    log.repair()
    with log.writer() as writer:
        assert writer.append(StepStarted(step="review", attempt=1)).seq == len(run_events())
    assert log.verify().ok


def test_repeated_repairs_use_fresh_side_files(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    with log.path.open("ab") as f:
        f.write(b'{"type":"Step')
    first = log.repair().side_file
    with log.path.open("ab") as f:
        f.write(b'{"type":"Work')
    second = log.repair().side_file
    assert first is not None and second is not None
    assert (first.name, second.name) == ("events.jsonl.torn-1", "events.jsonl.torn-2")
    assert second.read_bytes() == b'{"type":"Work'


def test_repair_of_an_intact_log_changes_nothing(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    before = log.path.read_bytes()
    fixed = log.repair()
    assert (fixed.kept_events, fixed.moved_bytes, fixed.side_file) == (len(run_events()), 0, None)
    assert log.path.read_bytes() == before


def test_repair_refuses_a_damaged_complete_line(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    data = bytearray(log.path.read_bytes())
    start, _ = line_spans(bytes(data))[3]
    data[start + 20] ^= 0x01
    data += b'{"type":"Ste'  # and a torn tail: still refused, nothing changed
    log.path.write_bytes(bytes(data))
    with pytest.raises(LogCorrupt, match="only removes a torn last line") as caught:
        log.repair()
    assert caught.value.line_no == 4
    assert log.path.read_bytes() == bytes(data)
    assert not list(tmp_path.glob("*.torn-*"))


def test_repair_moves_a_tail_that_is_no_event_aside(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    before = log.path.read_bytes()
    with log.path.open("ab") as f:
        f.write(b"garbage without newline")
    report = log.verify()
    assert report.first_bad_line == len(run_events()) + 1
    assert report.repairable
    fixed = log.repair()
    assert (fixed.moved_bytes, fixed.from_line) == (23, len(run_events()) + 1)
    assert log.path.read_bytes() == before


def test_repair_refuses_a_file_that_is_no_log(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_bytes(b"just some text\nmore")
    with pytest.raises(NotALog):
        EventLog(path).repair()
    assert path.read_bytes() == b"just some text\nmore"
