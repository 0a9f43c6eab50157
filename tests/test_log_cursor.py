"""EventCursor: events fetched by seq, reading the log forward once."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from _logutil import make_log, run_events

from events import CorruptLine, ModelCalled, PlanProduced, StepFailed, StepStarted
from store import EventLog, LogCorrupt, LogError
from store._scan import LineScanner, decode_one, decode_sealed
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


def test_every_event_fetched_in_any_order_is_the_one_read(
    big_log: EventLog, every: dict[int, object]
) -> None:
    # Forward by small and large steps, back, and forward again past a read block.
    wanted = [1, 2, 40, 41, 1200, 7, 8, 2050, 3, len(every)]
    with EventCursor(big_log) as cursor:
        assert [cursor.at(seq) for seq in wanted] == [every[seq] for seq in wanted]


def test_a_line_longer_than_a_read_block_is_served_whole(tmp_path: Path) -> None:
    events = run_events()
    text = "x" * 600_000  # more than two of the cursor's read blocks
    events[2] = msgspec.structs.replace(events[2], content=({"type": "text", "text": text},))
    log = make_log(tmp_path, events)
    with EventCursor(log) as cursor:
        assert cursor.at(3) == next(iter(log.read(3)))
        assert cursor.at(4) == next(iter(log.read(4)))


def test_a_changed_line_asked_for_is_a_log_error_naming_its_seq(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    lines = log.path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"attempt":1', b'"attempt":2')
    log.path.write_bytes(b"\n".join(lines))
    with EventCursor(log) as cursor, pytest.raises(LogCorrupt, match=r":3: checksum mismatch"):
        cursor.at(3)


def test_a_line_holding_another_seq_is_a_log_error(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    lines = log.path.read_bytes().split(b"\n")
    del lines[1]  # line 2 now holds seq 3
    log.path.write_bytes(b"\n".join(lines))
    with EventCursor(log) as cursor, pytest.raises(LogCorrupt, match="line 2 holds seq 3"):
        cursor.at(2)


def test_a_torn_last_line_is_not_served(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    count = len(list(log.read()))
    with open(log.path, "ab") as f:
        f.write(b'{"type":"StepStarted","seq":')
    with (
        EventCursor(log) as cursor,
        pytest.raises(LogError, match=f"no event with seq {count + 1}"),
    ):
        cursor.at(count + 1)


def _sealed(body: bytes) -> bytes:
    """``body`` (a JSON object) sealed as the log seals a line, without its newline."""
    return b'%s,"crc":"%08x"}' % (body[:-1], zlib.crc32(body))


@pytest.mark.parametrize(
    "line",
    [
        _sealed(b'{"type":"NoSuchEvent","seq":1,"id":"a","ts":"b","x":1}'),  # unknown type
        _sealed(b'{"type":"StepStarted","seq":1,"step":"nowhere"}'),  # sealed, invalid
        _sealed(b'{"type":"StepStarted","seq":1,"x":' + b"[" * 300 + b"]" * 300 + b"}"),
        b'{"type":"StepStarted","seq":1,"crc":"12345678"}',  # a wrong seal
        b"not a line",
        b"",
    ],
)
def test_a_line_decodes_alike_on_the_fast_path_and_the_careful_one(line: bytes) -> None:
    assert _outcome(decode_sealed, line) == _outcome(decode_one, line)


def test_every_line_of_a_log_decodes_alike_on_both_paths(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    lines = log.path.read_bytes().splitlines()
    assert [decode_sealed(line) for line in lines] == [decode_one(line) for line in lines]
    assert [decode_sealed(line) for line in lines] == list(log.read())


def _outcome(decode: Callable[[bytes], object], line: bytes) -> object:
    try:
        return decode(line)
    except CorruptLine as exc:
        return f"CorruptLine: {exc}"


# -- reading the whole log through the cursor, keeping some events --------------------------


def _answers(log: EventLog) -> list[int]:
    return [ev.seq for ev in log.read() if isinstance(ev, ModelCalled)]


def _outcome_of_reading(events: object) -> tuple[list[object], str]:
    got: list[object] = []
    try:
        got.extend(events)  # type: ignore[call-overload]
    except LogError as exc:
        return got, f"{type(exc).__name__}: {exc}"
    return got, ""


def test_reading_through_the_cursor_yields_what_the_log_reads(
    big_log: EventLog, every: dict[int, object]
) -> None:
    with EventCursor(big_log) as cursor:
        assert list(cursor.read(ModelCalled)) == list(every.values())


def test_reading_through_the_cursor_refuses_a_damaged_log_as_the_log_does(
    tmp_path: Path,
) -> None:
    log = make_log(tmp_path)
    lines = log.path.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b'"step":"code"', b'"step":"kode"')
    log.path.write_bytes(b"\n".join(lines))
    expected = _outcome_of_reading(log.read())
    assert expected[1].startswith("LogCorrupt")
    with EventCursor(log) as cursor:
        assert _outcome_of_reading(cursor.read(ModelCalled)) == expected


def test_an_event_kept_while_reading_is_served_without_reading_the_log_again(
    tmp_path: Path,
) -> None:
    log = make_log(tmp_path)
    recorded = log.path.read_bytes().split(b"\n")
    with EventCursor(log) as cursor:
        events = list(cursor.read(ModelCalled))
        log.path.write_bytes(b"")  # nothing left to read
        assert cursor.at(3) == events[2]
        assert cursor.seen(3) == (events[2], recorded[2])
        with pytest.raises(LogError, match="no event with seq 2"):
            cursor.at(2)  # not a ModelCalled: not kept


def test_events_of_several_kinds_kept_while_reading_are_shown_with_their_lines_once(
    tmp_path: Path,
) -> None:
    log = make_log(tmp_path)
    recorded = log.path.read_bytes().split(b"\n")
    with EventCursor(log) as cursor:
        events = list(cursor.read({StepStarted, ModelCalled, PlanProduced}))
        log.path.write_bytes(b"")  # nothing left to read
        assert [type(ev) for ev in events[1:4]] == [StepStarted, ModelCalled, PlanProduced]
        assert cursor.seen(2) == (events[1], recorded[1])  # never fetched: kept
        assert cursor.seen(4) == (events[3], recorded[3])
        assert cursor.at(3) == events[2]
        assert cursor.seen(2) is None  # shown once, then let go
        assert cursor.seen(1) is None  # a WorkflowStarted: not kept


def test_a_kept_event_is_let_go_once_served(tmp_path: Path) -> None:
    log = make_log(tmp_path, run_events() + run_events()[1:])
    first, second = _answers(log)
    with EventCursor(log) as cursor:
        list(cursor.read(ModelCalled))
        log.path.write_bytes(b"")
        cursor.at(first)
        cursor.at(second)
        with pytest.raises(LogError, match=f"no event with seq {first}"):
            cursor.at(first)


def test_the_kept_lines_stay_within_the_budget(big_log: EventLog, every: dict[int, object]) -> None:
    answers = _answers(big_log)
    lines = big_log.path.read_bytes().split(b"\n")
    budget = sum(len(lines[seq - 1]) for seq in answers[:3])  # room for three
    with EventCursor(big_log) as cursor:
        list(cursor.read(ModelCalled, budget=budget))
        big_log.path.rename(big_log.path.with_name("aside"))  # nothing left to read
        try:
            served = [seq for seq in answers if _served(cursor, seq)]
        finally:
            big_log.path.with_name("aside").rename(big_log.path)
    assert served == answers[:3]


def _served(cursor: EventCursor, seq: int) -> bool:
    try:
        cursor.at(seq)
    except LogError:
        return False
    return True


def test_a_reset_event_lets_go_of_what_was_kept_before_it(tmp_path: Path) -> None:
    events = run_events()
    assert isinstance(events[5], StepFailed)
    log = make_log(tmp_path, [*events[:4], events[5], *events[1:4]])
    first, second = _answers(log)
    line = log.path.read_bytes().split(b"\n")[second - 1]
    with EventCursor(log) as cursor:
        list(cursor.read(ModelCalled, reset=StepFailed, budget=len(line)))  # room for one
        log.path.write_bytes(b"")
        assert isinstance(cursor.at(second), ModelCalled)  # kept in the first one's room
        with pytest.raises(LogError, match=f"no event with seq {first}"):
            cursor.at(first)


def test_the_scanner_shows_each_block_its_lines_with_their_events(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    data = log.path.read_bytes()
    seq = data.count(b"\n") + 1
    data += _sealed(b'{"type":"NoSuchEvent","seq":%d,"id":"a","ts":"b"}' % seq) + b"\n"
    shown: list[tuple[bytes, object]] = []
    scanner = LineScanner(
        on_block=lambda lines, events: shown.extend(zip(lines, events, strict=True))
    )
    cut = len(data) // 2
    events = scanner.feed(data[:cut]) + scanner.feed(data[cut:])
    assert [line for line, _ in shown] == data.splitlines()
    assert [event for _, event in shown] == events == [decode_one(ln) for ln in data.splitlines()]
