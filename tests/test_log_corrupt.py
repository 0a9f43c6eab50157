"""Damage in complete lines: every changed byte, seq gaps and repeats, foreign files."""

from __future__ import annotations

import zlib
from pathlib import Path

import msgspec
import pytest
from _logutil import line_of, line_spans, make_log, run_events
from hypothesis import given, settings
from hypothesis import strategies as st

from events import Event, ModelCalled, StepStarted, UnknownEvent, encode_line
from store import EventLog, LogCorrupt, LogError, NotALog


def _sealed(body: bytes) -> bytes:
    """A correctly sealed line around any JSON object (as a newer or foreign writer might)."""
    return b'%s,"crc":"%08x"}\n' % (body[:-1], zlib.crc32(body))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    events = run_events() * 3  # enough lines that damage lands at many line numbers
    return make_log(tmp_path_factory.mktemp("pristine"), events).path.read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    return EventLog(tmp_path_factory.mktemp("flip") / "events.jsonl")


@settings(max_examples=300, deadline=None)
@given(where=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255))
def test_any_changed_byte_is_named_by_verify_and_stops_read(
    pristine: bytes, scratch: EventLog, where: float, mask: int
) -> None:
    at = int(where * (len(pristine) - 1))  # never the final newline: that would be a torn tail
    damaged = bytearray(pristine)
    damaged[at] ^= mask
    scratch.path.write_bytes(bytes(damaged))

    report = scratch.verify()
    assert not report.ok
    assert report.first_bad_line == line_of(pristine, at)
    assert report.events == report.last_seq == line_of(pristine, at) - 1
    with pytest.raises((LogCorrupt, NotALog)) as caught:
        list(scratch.read())
    error = caught.value
    assert isinstance(error, LogCorrupt | NotALog)
    assert error.line_no == line_of(pristine, at)


def test_read_yields_the_events_before_a_damaged_line(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    data = bytearray(log.path.read_bytes())
    start, _ = line_spans(bytes(data))[5]
    data[start + 30] ^= 0x20
    log.path.write_bytes(bytes(data))
    seen: list[Event | UnknownEvent] = []
    with pytest.raises(LogCorrupt, match=r"events\.jsonl:6: checksum mismatch"):
        seen.extend(log.read())
    assert [ev.seq for ev in seen] == [1, 2, 3, 4, 5]


def test_a_seal_in_upper_case_hex_counts_as_changed(tmp_path: Path) -> None:
    log = make_log(tmp_path, [StepStarted(step="plan", attempt=1)])
    line = log.path.read_bytes()
    cut = len(line) - 11
    log.path.write_bytes(line[:cut] + line[cut:].upper())
    assert log.path.read_bytes() != line
    assert log.verify().first_bad_line == 1


def _rewrite_seqs(log: EventLog, seqs: list[int]) -> None:
    events = list(log.read())
    log.path.write_bytes(
        b"".join(
            encode_line(msgspec.structs.replace(ev, seq=s))  # type: ignore[arg-type]
            for ev, s in zip(events, seqs, strict=True)
        )
    )


@pytest.mark.parametrize(
    ("seqs", "bad_line", "reason"),
    [
        ([1, 2, 4, 5], 3, "seq jumps from 2 to 4"),
        ([1, 2, 2, 3], 3, "seq 2 repeats"),
        ([1, 2, 3, 1], 4, "seq 1 repeats or goes back"),
        ([2, 3, 4, 5], 1, "the first event has seq 2"),
    ],
)
def test_verify_names_a_gap_or_repeat_in_seq(
    tmp_path: Path, seqs: list[int], bad_line: int, reason: str
) -> None:
    log = make_log(tmp_path, run_events()[:4])
    _rewrite_seqs(log, seqs)
    report = log.verify()
    assert (report.ok, report.first_bad_line) == (False, bad_line)
    assert report.reason is not None and reason in report.reason
    with pytest.raises(LogCorrupt, match=reason):
        list(log.read())


def test_unknown_event_type_is_yielded_not_raised(tmp_path: Path) -> None:
    log = make_log(tmp_path, run_events()[:2])
    with log.path.open("ab") as f:
        f.write(_sealed(b'{"type":"FromTheFuture","seq":3,"id":"x","ts":"t","flavour":"new"}'))
    with log.writer() as writer:  # the writer continues after it, too
        writer.append(StepStarted(step="plan", attempt=2))
    events = list(log.read())
    assert [ev.seq for ev in events] == [1, 2, 3, 4]
    unknown = events[2]
    assert isinstance(unknown, UnknownEvent)
    assert (unknown.type, unknown.data) == ("FromTheFuture", {"flavour": "new"})
    assert log.verify().ok


def test_a_crc_key_inside_an_event_reads_back_intact(tmp_path: Path) -> None:
    tricky = ModelCalled(
        step="plan",
        attempt=1,
        request_digest="d",
        model="m",
        content=({"type": "tool_use", "crc": "00000000", "input": {"crc": "x"}},),
        stop_reason=None,
    )
    log = EventLog(tmp_path)
    with log.writer() as writer:
        stamped = writer.append_many([tricky, *run_events()])
    assert list(log.read()) == stamped
    assert log.verify().ok


@pytest.mark.parametrize(
    "content",
    [
        b"hello, world\nthis is a text file\n",
        b'{"a": 1}\n{"b": 2}\n',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n",
        b"\n",
    ],
)
def test_a_file_that_is_no_log_is_not_a_log_at_line_1(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotALog, match=r"events\.jsonl:1: not an agentlog event log") as caught:
        list(EventLog(path).read())
    assert caught.value.line_no == 1
    report = EventLog(path).verify()
    assert (report.ok, report.first_bad_line) == (False, 1)


def test_writer_refuses_a_file_that_is_no_log(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"some,csv,data\n1,2,3\n")
    with pytest.raises(NotALog):
        EventLog(path).writer()
    assert path.read_bytes() == b"some,csv,data\n1,2,3\n"


def test_writer_refuses_a_damaged_last_line(tmp_path: Path) -> None:
    log = make_log(tmp_path)
    data = bytearray(log.path.read_bytes())
    data[-30] ^= 0x04
    log.path.write_bytes(bytes(data))
    with pytest.raises(LogCorrupt) as caught:
        log.writer()
    assert caught.value.line_no == len(run_events())


def test_errors_are_log_errors_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"nope\n")
    with pytest.raises(LogError, match=str(path)):
        list(EventLog(path).read())


def test_an_empty_file_is_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"")
    assert list(EventLog(path).read()) == []
    report = EventLog(path).verify()
    assert (report.ok, report.events, report.last_seq) == (True, 0, 0)
