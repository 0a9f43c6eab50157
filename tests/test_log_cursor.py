"""EventCursor: events fetched by seq, reading the log forward once."""

from __future__ import annotations

from pathlib import Path

import pytest
from _logutil import make_log, run_events

from store import EventLog, LogError
from store.cursor import EventCursor

CYCLES = 300  # 2,100 events, several read blocks


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    events = [ev for _ in range(CYCLES) for ev in run_events()[1:]]
    return make_log(tmp_path_factory.mktemp("cursor"), run_events()[:1] + events)


@pytest.fixture(scope="module")
def every(big_log: EventLog) -> dict[int, object]:
    return {ev.seq: ev for ev in big_log.read()}


def test_forward_requests_return_the_events_with_those_seqs(
    big_log: EventLog, every: dict[int, object]
) -> None:
    wanted = [3, 4, 700, 701, 1500, len(every)]
    with EventCursor(big_log) as cursor:
        assert [cursor.at(seq) for seq in wanted] == [every[seq] for seq in wanted]


def test_the_same_seq_twice_is_the_same_event(big_log: EventLog) -> None:
    with EventCursor(big_log) as cursor:
        assert cursor.at(900) == cursor.at(900)


def test_a_seq_behind_the_cursor_reads_the_log_again(
    big_log: EventLog, every: dict[int, object]
) -> None:
    with EventCursor(big_log) as cursor:
        cursor.at(2000)
        assert cursor.at(5) == every[5]
        assert cursor.at(1999) == every[1999]


def test_a_seq_past_the_end_is_a_log_error_naming_it(
    big_log: EventLog, every: dict[int, object]
) -> None:
    missing = len(every) + 1
    with (
        EventCursor(big_log) as cursor,
        pytest.raises(LogError, match=f"no event with seq {missing}"),
    ):
        cursor.at(missing)


def test_the_cursor_works_again_after_a_miss(big_log: EventLog, every: dict[int, object]) -> None:
    with EventCursor(big_log) as cursor:
        with pytest.raises(LogError):
            cursor.at(len(every) + 5)
        assert cursor.at(10) == every[10]


def test_closing_releases_the_file(tmp_path: Path) -> None:
    cursor = EventCursor(make_log(tmp_path))
    cursor.at(2)
    cursor.close()
    assert "at=None" in repr(cursor)
