"""``EventLog.scan``: a reader resumes where it stopped and reads only what was appended."""

from __future__ import annotations

from pathlib import Path

import pytest
from _events import completed_run, failed_run
from _runs import append_lines, write_run

from events import CorruptLine, encode_line
from store import EventLog, LogMark, StaleMark


def test_a_scan_resumed_from_its_mark_yields_only_the_events_appended_since(
    tmp_path: Path,
) -> None:
    events = completed_run()
    run = write_run(tmp_path / "run", events[:5])
    log = EventLog(run)
    first = list(log.scan())
    assert [ev.seq for _, ev in first] == [1, 2, 3, 4, 5]
    mark = first[-1][0]
    assert mark.offset == log.path.stat().st_size
    append_lines(run, [encode_line(ev) for ev in events[5:]])
    assert [ev.seq for _, ev in log.scan(mark)] == list(range(6, len(events) + 1))


def test_a_mark_of_another_log_is_stale(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", completed_run())
    mark = list(EventLog(run).scan())[-1][0]
    write_run(run, failed_run() + failed_run()[:4])  # replaced by a longer, other log
    with pytest.raises(StaleMark):
        next(EventLog(run).scan(mark))
    assert next(EventLog(run).scan(LogMark()))[1].seq == 1


def test_a_scan_stops_at_a_damaged_line_after_the_events_before_it(tmp_path: Path) -> None:
    events = completed_run()
    run = write_run(tmp_path / "run", events[:3], extra=[b'{"seq":4,"crc":"00000000"}\n'])
    seen = []
    with pytest.raises(CorruptLine):
        for _, ev in EventLog(run).scan():
            seen.append(ev.seq)
    assert seen == [1, 2, 3]


def test_last_seq_ignores_a_torn_tail_and_counts_lines_when_the_last_is_damaged(
    tmp_path: Path,
) -> None:
    events = completed_run()
    run = write_run(tmp_path / "run", events[:4], extra=[encode_line(events[4])[:-9]])
    assert EventLog(run).last_seq() == 4
    write_run(run, events[:4], extra=[b"garbage\n"])
    assert EventLog(run).last_seq() == 5
