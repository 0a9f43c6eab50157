"""Replay's check reads the two logs as lines and finds what comparing their events finds.

The oracle is :func:`actors.replaying.first_difference`, which compares decoded events
field by field (ignoring ``id`` and ``ts``).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CHANGES, CODE, FAST, answer, scripted

from actors import Supervisor, replay
from actors.replay_check import count_lines, first_line_difference
from actors.replaying import first_difference
from events import Event, StepStarted, UnknownEvent, decode_line, encode_line
from store import EventLog

AnyEvent = Event | UnknownEvent


def _record(run_dir: Path) -> Path:
    """A run with a revision round: two code and two review attempts."""
    model = scripted(code=[answer(CODE), answer(CODE)], review=[answer(CHANGES), answer(APPROVE)])
    config = msgspec.structs.replace(FAST, max_revisions=1)
    Supervisor(config, model=model).run("add a greeting module", run_dir)
    return run_dir


def _copy(run_dir: Path, dest: Path, edit: Callable[[AnyEvent], bytes | None]) -> Path:
    """``run_dir``'s log with each line ``edit`` returns new bytes for replaced."""
    lines = (run_dir / "events.jsonl").read_bytes().splitlines(keepends=True)
    out = [edit(decode_line(line)) or line for line in lines]
    dest.write_bytes(b"".join(out))
    return dest


def _oracle(a: Path, b: Path) -> tuple[int, str] | None:
    return first_difference(EventLog(a).read(), EventLog(b).read())


def _sealed(data: dict[str, object]) -> bytes:
    """A line of ``data`` in another encoding (sorted keys, spaces), sealed as logs are."""
    body = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return b'%s,"crc":"%08x"}\n' % (body[:-1], zlib.crc32(body))


def _fresh(ev: AnyEvent) -> bytes | None:
    if isinstance(ev, UnknownEvent):
        return None
    return encode_line(msgspec.structs.replace(ev, id="f" * 32, ts="2030-01-01T00:00:00.000000Z"))


def test_new_ids_and_times_are_the_same_run(tmp_path: Path) -> None:
    run = _record(tmp_path / "run")
    other = _copy(run, tmp_path / "other.jsonl", _fresh)
    count = count_lines(run / "events.jsonl")
    assert first_line_difference(run / "events.jsonl", other, count) is None


def test_the_same_events_in_another_encoding_are_the_same_run(tmp_path: Path) -> None:
    run = _record(tmp_path / "run")
    other = _copy(run, tmp_path / "other.jsonl", lambda ev: _sealed(msgspec.to_builtins(ev)))
    assert other.read_bytes() != (run / "events.jsonl").read_bytes()
    count = count_lines(run / "events.jsonl")
    assert _oracle(run / "events.jsonl", other) is None
    assert first_line_difference(run / "events.jsonl", other, count) is None


def test_a_changed_field_at_any_seq_is_found_there_naming_the_field(tmp_path: Path) -> None:
    run = _record(tmp_path / "run")
    log = run / "events.jsonl"
    count = count_lines(log)
    for seq in range(1, count + 1):

        def edit(ev: AnyEvent, seq: int = seq) -> bytes | None:
            if ev.seq != seq or isinstance(ev, UnknownEvent):
                return None
            return encode_line(msgspec.structs.replace(ev, actor="someone else"))

        other = _copy(run, tmp_path / f"changed-{seq}.jsonl", edit)
        found = first_line_difference(log, other, count)
        assert found == _oracle(log, other)
        assert found is not None and found[0] == seq and found[1].endswith("differs in actor")


def _long_log(path: Path, events: int) -> Path:
    """A log of ``events`` events: more than one block of lines of the check."""
    with EventLog(path.parent).writer() as writer:
        batch = [StepStarted(step="plan", attempt=i, round=0) for i in range(1, events + 1)]
        writer.append_many(batch, sync=False)
    return path


@pytest.mark.parametrize("kept", [511, 512, 513, 4096, 9000])
def test_a_replay_that_stops_short_names_both_counts(tmp_path: Path, kept: int) -> None:
    log = _long_log(tmp_path / "a" / "events.jsonl", 9001)
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:kept]))
    assert first_line_difference(log, short, 9001) == _oracle(log, short)
    assert first_line_difference(log, short, 9001) == (
        kept + 1,
        f"recorded 9001 events, replay produced {kept}",
    )
    # ... and one that goes on past the recording.
    assert first_line_difference(short, log, kept) == (
        kept + 1,
        f"recorded {kept} events, replay produced 9001",
    )


def test_a_difference_in_a_later_block_is_found_at_its_seq(tmp_path: Path) -> None:
    log = _long_log(tmp_path / "a" / "events.jsonl", 9001)

    def edit(ev: AnyEvent) -> bytes | None:
        if ev.seq == 8193 and isinstance(ev, StepStarted):
            return encode_line(msgspec.structs.replace(ev, attempt=0))
        return _fresh(ev)

    other = _copy(log.parent, tmp_path / "other.jsonl", edit)
    assert first_line_difference(log, other, 9001) == _oracle(log, other)
    assert first_line_difference(log, other, 9001) == (8193, "StepStarted differs in attempt")


def test_an_unfinished_recording_is_compared_with_as_many_replayed_events(
    tmp_path: Path,
) -> None:
    log = _long_log(tmp_path / "a" / "events.jsonl", 50)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:40]))
    assert first_line_difference(cut, log, 40, finished=False) is None
    assert first_line_difference(cut, log, 40) == (41, "recorded 40 events, replay produced 50")


def test_a_replay_differing_mid_run_where_no_request_looks_names_that_seq(
    tmp_path: Path,
) -> None:
    run = _record(tmp_path / "run")
    events = list(EventLog(run).read())
    second = [ev for ev in events if isinstance(ev, StepStarted)][3]  # the second code step

    def edit(ev: AnyEvent) -> bytes | None:
        if ev.seq == second.seq and isinstance(ev, StepStarted):
            return encode_line(msgspec.structs.replace(ev, actor="someone else"))
        return None

    _copy(run, tmp_path / "edited.jsonl", edit).replace(run / "events.jsonl")
    report = replay(run)
    assert not report.ok
    assert (report.seq, report.step) == (second.seq, second.step)
    assert report.detail == "StepStarted differs in actor"
    assert report.replayed == report.recorded == len(events)


def test_a_recording_in_another_encoding_replays_identically(tmp_path: Path) -> None:
    run = _record(tmp_path / "run")
    _copy(run, tmp_path / "sorted.jsonl", lambda ev: _sealed(msgspec.to_builtins(ev))).replace(
        run / "events.jsonl"
    )
    report = replay(run)
    assert report.ok, report.verdict


@pytest.mark.parametrize("kept", [4096, 9001])
def test_lines_known_the_same_leave_only_the_counts_to_compare(tmp_path: Path, kept: int) -> None:
    # A replay's writer compared each line with the recorded one as it wrote it: lines it
    # found the same are not read again, and the verdict is the one reading them gives.
    log = _long_log(tmp_path / "a" / "events.jsonl", 9001)
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:kept]))
    for recorded, replayed, count in ((short, log, kept), (log, log, 9001)):
        for finished in (True, False):
            whole = first_line_difference(recorded, replayed, count, finished=finished)
            known = first_line_difference(
                recorded, replayed, count, finished=finished, same_through=count
            )
            assert known == whole
    assert first_line_difference(short, log, kept, same_through=kept) == (
        (kept + 1, f"recorded {kept} events, replay produced 9001") if kept < 9001 else None
    )
