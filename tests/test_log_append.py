"""Appending: stamping, contiguous seq, durable whole lines, groups and listeners."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest
import structlog
from _logutil import make_log, run_events

from events import Event, StepStarted, UnknownEvent, encode_line
from store import EventLog, LogError, resolve_log_path

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


def _unstamped(ev: Event | UnknownEvent) -> Event | UnknownEvent:
    return msgspec.structs.replace(ev, seq=0, id="", ts="")


def test_read_returns_what_was_appended(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        stamped = [writer.append(ev) for ev in run_events()]
    assert list(log.read()) == stamped
    assert [_unstamped(ev) for ev in log.read()] == run_events()


def test_append_stamps_contiguous_seq_from_one(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer:
        seqs = [writer.append(ev).seq for ev in run_events()]
        assert writer.last_seq == len(seqs)
    assert seqs == list(range(1, len(seqs) + 1))


def test_seq_continues_after_reopening(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    with log.writer() as writer:
        assert writer.last_seq == len(run_events())
        assert writer.append(StepStarted(step="plan", attempt=2)).seq == writer.last_seq
    assert [ev.seq for ev in log.read()] == list(range(1, len(run_events()) + 2))


def test_append_stamps_unique_id_and_rfc3339_utc_ts(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer:
        stamped = [*writer.append_many(run_events()), writer.append(run_events()[1])]
    assert len({ev.id for ev in stamped}) == len(stamped)
    assert all(re.fullmatch(r"[0-9a-f]{32}", ev.id) for ev in stamped)
    assert all(TS.match(ev.ts) for ev in stamped)


def test_append_keeps_id_and_ts_already_set(tmp_path: Path) -> None:
    given = StepStarted(step="plan", attempt=1, id="my-id", ts="2024-01-02T03:04:05.000006Z")
    with EventLog(tmp_path).writer() as writer:
        stamped = writer.append(given)
    assert (stamped.id, stamped.ts) == ("my-id", "2024-01-02T03:04:05.000006Z")


def test_append_replaces_a_seq_the_event_came_with(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer:
        assert writer.append(StepStarted(step="plan", attempt=1, seq=42)).seq == 1


def test_append_returns_the_same_event_type(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer:
        stamped = writer.append(StepStarted(step="code", attempt=3))
    assert isinstance(stamped, StepStarted)
    assert (stamped.step, stamped.attempt) == ("code", 3)


def test_file_holds_one_sealed_line_per_event(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        stamped = writer.append_many(run_events())
    assert log.path.read_bytes() == b"".join(encode_line(ev) for ev in stamped)


def test_append_many_of_nothing_writes_nothing(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        assert writer.append_many([]) == []
        assert writer.last_seq == 0
    assert log.path.read_bytes() == b""


def test_append_many_stamps_the_group_in_order(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer:
        writer.append(run_events()[0])
        group = writer.append_many(run_events()[1:4])
    assert [ev.seq for ev in group] == [2, 3, 4]
    assert [_unstamped(ev) for ev in group] == run_events()[1:4]


def test_writer_creates_missing_run_directory(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "a" / "b" / "run")
    with log.writer() as writer:
        writer.append(run_events()[0])
    assert log.path == tmp_path / "a" / "b" / "run" / "events.jsonl"
    assert len(list(log.read())) == 1


def test_appending_an_unknown_event_is_a_type_error(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer, pytest.raises(TypeError):
        writer.append(UnknownEvent(type="FromTheFuture"))  # type: ignore[type-var]


def test_closed_writer_refuses_to_append(tmp_path: Path) -> None:
    writer = EventLog(tmp_path).writer()
    writer.close()
    writer.close()  # closing twice is harmless
    with pytest.raises(LogError, match="closed"):
        writer.append(run_events()[0])


def test_listener_gets_each_appends_stamped_events(tmp_path: Path) -> None:
    seen: list[list[Event]] = []
    log = EventLog(tmp_path)
    with log.writer() as writer:
        writer.on_append(lambda evs: seen.append(list(evs)))
        one = writer.append(run_events()[0])
        group = writer.append_many(run_events()[1:3])
    assert seen == [[one], group]


def test_listener_sees_events_already_on_disk(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    on_disk: list[int] = []
    with log.writer() as writer:
        writer.on_append(lambda evs: on_disk.append(len(list(log.read()))))
        writer.append_many(run_events()[:2])
        writer.append(run_events()[2])
    assert on_disk == [2, 3]


def test_failing_listener_neither_breaks_append_nor_other_listeners(tmp_path: Path) -> None:
    def boom(events: Sequence[Event]) -> None:
        raise RuntimeError("listener bug")

    seen: list[int] = []
    log = EventLog(tmp_path)
    with structlog.testing.capture_logs() as logs, log.writer() as writer:
        writer.on_append(boom)
        writer.on_append(lambda evs: seen.extend(ev.seq for ev in evs))
        stamped = writer.append(run_events()[0])
    assert stamped.seq == 1 and seen == [1]
    assert [entry["event"] for entry in logs] == ["append listener failed"]
    assert list(log.read()) == [stamped]


def test_removed_listener_is_not_called(tmp_path: Path) -> None:
    seen: list[int] = []
    with EventLog(tmp_path).writer() as writer:
        remove = writer.on_append(lambda evs: seen.append(len(evs)))
        writer.append(run_events()[0])
        remove()
        writer.append(run_events()[1])
    assert seen == [1]


def test_read_from_seq_starts_there(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    n = len(run_events())
    assert [ev.seq for ev in log.read(from_seq=4)] == list(range(4, n + 1))
    assert list(log.read(from_seq=n + 1)) == []


def test_read_of_a_big_log_crosses_read_chunks(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    events = run_events() * 400  # several hundred KiB: many read chunks
    with log.writer() as writer:
        stamped = writer.append_many(events)
    assert list(log.read()) == stamped
    assert [ev.seq for ev in log.read(from_seq=3000)] == list(range(3000, len(events) + 1))
    assert log.verify().events == len(events)


def test_resolve_log_path_accepts_run_dir_or_file(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    assert resolve_log_path(tmp_path) == log.path
    assert resolve_log_path(str(log.path)) == log.path
    assert resolve_log_path(tmp_path / "new-run") == tmp_path / "new-run" / "events.jsonl"
    assert resolve_log_path(tmp_path / "other.jsonl") == tmp_path / "other.jsonl"


def test_reading_a_missing_log_is_a_log_error(tmp_path: Path) -> None:
    with pytest.raises(LogError, match="no such event log"):
        list(EventLog(tmp_path / "nope").read())


def test_listeners_get_unsynced_appends_only_once_they_are_synced(tmp_path: Path) -> None:
    seen: list[list[int]] = []
    with EventLog(tmp_path).writer() as writer:
        writer.on_append(lambda evs: seen.append([ev.seq for ev in evs]))
        writer.append_many(run_events()[:2], sync=False)
        writer.append_many(run_events()[2:3], sync=False)
        assert seen == []  # in the file, not yet durable: a power cut could take them
        writer.sync()
        assert seen == [[1, 2, 3]]
        writer.append_many(run_events()[3:4], sync=False)
        writer.append(run_events()[4])  # a synced append makes the earlier one durable too
        assert seen == [[1, 2, 3], [4, 5]]
        writer.append_many(run_events()[5:6], sync=False)
    assert seen == [[1, 2, 3], [4, 5], [6]]  # close syncs and delivers the rest
