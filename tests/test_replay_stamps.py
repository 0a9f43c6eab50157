"""A replay's scratch log takes the recorded ids and times, seq by seq, so an event made
again the same is the same line: the check compares bytes, with the verdicts it gave
when it cut ids and times out of every line."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import msgspec
import pytest
from _replay_scratch import replay_into
from _workflow import APPROVE, CHANGES, FAST, PLAN, answer, scripted

from actors import Supervisor, replay
from events import (
    CodeProduced,
    Event,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    StepStarted,
    encode_line,
)
from store import LOG_NAME, EventLog
from store._stamps import StampSource
from store.cursor import EventCursor

_CUT = re.compile(rb'"(?:id|ts|crc)":"[^"]*"')


def _record(run: Path) -> None:
    model = scripted(plan=[answer(PLAN)], review=[answer(CHANGES), answer(APPROVE)])
    Supervisor(FAST, model=model).run("say hello", run)


def _scratch(run: Path, scratch: Path, *, stamped: bool) -> bytes:
    """The scratch log a replay of ``run`` writes (with the recorded stamps, or fresh)."""
    assert replay_into(run, scratch, stamped=stamped)[0] is None
    return (scratch / LOG_NAME).read_bytes()


def test_an_unchanged_run_replays_to_its_recorded_log_byte_for_byte(tmp_path: Path) -> None:
    _record(tmp_path / "run")
    scratch = _scratch(tmp_path / "run", tmp_path / "scratch", stamped=True)
    assert scratch == (tmp_path / "run" / LOG_NAME).read_bytes()


def test_the_stamped_scratch_log_is_the_fresh_one_ids_and_times_aside(tmp_path: Path) -> None:
    _record(tmp_path / "run")
    stamped = _scratch(tmp_path / "run", tmp_path / "a", stamped=True).splitlines()
    fresh = _scratch(tmp_path / "run", tmp_path / "b", stamped=False).splitlines()
    assert len(stamped) > 10
    assert [_CUT.sub(b"", line) for line in stamped] == [_CUT.sub(b"", line) for line in fresh]
    assert stamped != fresh


def test_a_changed_recorded_event_is_still_reported_at_its_seq(tmp_path: Path) -> None:
    _record(tmp_path / "run")
    log = EventLog(tmp_path / "run")
    events = list(log.read())
    review = next(ev for ev in events if isinstance(ev, ReviewProduced))
    changed = msgspec.structs.replace(review.review, summary="other")
    lines = log.path.read_bytes().splitlines(keepends=True)
    lines[review.seq - 1] = encode_line(msgspec.structs.replace(review, review=changed))
    log.path.write_bytes(b"".join(lines))
    report = replay(tmp_path / "run")
    assert not report.ok
    assert report.seq == review.seq
    assert report.detail == "ReviewProduced differs in review"


def _log(path: Path, n: int) -> EventLog:
    log = EventLog(path)
    with log.writer() as writer:
        writer.append_many([StepStarted(step="plan", attempt=i) for i in range(1, n + 1)])
    return log


def test_a_stamp_source_gives_each_lines_id_and_time_in_seq_order(tmp_path: Path) -> None:
    log = _log(tmp_path / "a", 5)
    events = list(log.read())
    source = StampSource(log.path)
    assert [source.take(seq) for seq in (2, 3, 5)] == [
        (events[i].id, events[i].ts) for i in (1, 2, 4)
    ]
    assert source.take(6) is None  # past the end
    source.close()


def test_a_stamp_source_gives_nothing_for_a_seq_asked_again_or_a_line_of_another_shape(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path / "a", 3)
    lines = log.path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"id":"', b'"id": "')  # another encoder's spacing
    log.path.write_bytes(b"".join(lines) + b'{"type":"StepStarted","seq":4')  # torn
    source = StampSource(log.path)
    assert source.take(1) is not None
    assert source.take(1) is None
    assert source.take(2) is None
    assert source.take(3) is not None
    assert source.take(4) is None
    source.close()


def test_a_held_log_like_another_takes_its_stamps_then_makes_its_own(tmp_path: Path) -> None:
    like = _log(tmp_path / "like", 3)
    recorded = list(like.read())
    made = EventLog(tmp_path / "made")
    with made.writer() as writer:
        writer.hold(like=like.path)
        own = StepStarted(step="plan", attempt=9, id="f" * 32, ts="2000-01-01T00:00:00.000000Z")
        writer.append_many(
            [StepStarted(step="plan", attempt=1), own, *[StepStarted(step="code", attempt=1)] * 2],
            sync=False,
        )
    out = list(made.read())
    assert (out[0].id, out[0].ts) == (recorded[0].id, recorded[0].ts)
    assert (out[1].id, out[1].ts) == (own.id, own.ts)  # an event's own stamp is kept
    assert (out[2].id, out[2].ts) == (recorded[2].id, recorded[2].ts)
    assert out[3].id not in {ev.id for ev in recorded}  # past the end: fresh
    assert re.fullmatch(r"[0-9a-f]{32}", out[3].id)


def test_a_stamp_source_reads_lines_across_its_blocks_and_longer_than_one(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path / "a")
    long = StepFailed(
        step="code", attempt=2, error_kind="x", message="m" * 300_000, retryable=False
    )
    with log.writer() as writer:  # ~190 bytes a line: blocks of 256 KiB end mid-line
        writer.append_many([StepStarted(step="plan", attempt=i) for i in range(1, 3001)])
        writer.append_many([long, StepStarted(step="code", attempt=3)])
    events = list(log.read())
    source = StampSource(log.path)
    assert [source.take(ev.seq) for ev in events] == [(ev.id, ev.ts) for ev in events]
    source.close()


def test_a_held_log_like_another_counts_how_far_its_lines_are_that_logs(
    tmp_path: Path,
) -> None:
    like = _log(tmp_path / "like", 5)
    recorded = list(like.read())
    made = EventLog(tmp_path / "made")
    with made.writer() as writer:
        writer.hold(like=like.path)
        assert writer.like_through == 0
        writer.append_many([_bare(ev) for ev in recorded[:2]], sync=False)
        assert writer.like_through == 2
        other = StepStarted(step="code", attempt=3)  # seq 3 differs from the recorded one
        writer.append_many([other, *map(_bare, recorded[3:])], sync=False)
        assert writer.like_through == 2  # lines 4 and 5 are the same again: not counted
    assert made.path.read_bytes().splitlines()[3:] == like.path.read_bytes().splitlines()[3:]


def test_a_replay_finds_its_scratch_log_the_recorded_one_up_to_a_changed_event(
    tmp_path: Path,
) -> None:
    _record(tmp_path / "run")
    log = EventLog(tmp_path / "run")
    events = list(log.read())
    assert _same_through(tmp_path / "run", tmp_path / "a") == len(events)
    review = next(ev for ev in events if isinstance(ev, ReviewProduced))
    lines = log.path.read_bytes().splitlines(keepends=True)
    changed = msgspec.structs.replace(review.review, summary="other")
    lines[review.seq - 1] = encode_line(msgspec.structs.replace(review, review=changed))
    log.path.write_bytes(b"".join(lines))
    assert _same_through(tmp_path / "run", tmp_path / "b") == review.seq - 1


def _same_through(run: Path, scratch: Path) -> int:
    error, same_through = replay_into(run, scratch)
    assert error is None
    return same_through


def _bare(ev: Event) -> Event:
    return msgspec.structs.replace(ev, seq=0, id="", ts="")


def _foreign(ev: Event) -> bytes:
    """``ev``'s line in another encoding (sorted keys, spaces), sealed as logs are."""
    body = json.dumps(msgspec.to_builtins(ev), sort_keys=True).encode()
    return b'%s,"crc":"%08x"}' % (body[:-1], zlib.crc32(body))


def test_an_event_made_equal_to_one_already_decoded_is_written_as_its_line(
    tmp_path: Path,
) -> None:
    like = _log(tmp_path / "like", 3)
    recorded = list(like.read())
    at_hand = {2: (recorded[1], _foreign(recorded[1]))}  # seq 2, decoded from that line
    made = EventLog(tmp_path / "made")
    with made.writer() as writer:
        writer.hold(like=like.path, seen=at_hand.get)
        writer.append_many([_bare(ev) for ev in recorded], sync=False)
        assert writer.like_through == 3
    lines = made.path.read_bytes().splitlines()
    assert lines[1] == at_hand[2][1]  # not encoded again: the line it was decoded from
    assert lines[0::2] == like.path.read_bytes().splitlines()[0::2]


def test_an_event_made_unlike_the_one_already_decoded_is_encoded_and_ends_the_same_run(
    tmp_path: Path,
) -> None:
    like = _log(tmp_path / "like", 3)
    recorded = list(like.read())
    at_hand = {2: (recorded[1], like.path.read_bytes().splitlines()[1])}
    made = EventLog(tmp_path / "made")
    with made.writer() as writer:
        writer.hold(like=like.path, seen=at_hand.get)
        other = msgspec.structs.replace(_bare(recorded[1]), actor="someone else")
        writer.append_many([_bare(recorded[0]), other, _bare(recorded[2])], sync=False)
        assert writer.like_through == 1
    out = list(made.read())
    assert out[1].actor == "someone else"
    assert (out[1].id, out[1].ts) == (recorded[1].id, recorded[1].ts)


@pytest.mark.parametrize(("kind", "nth"), [(ModelCalled, 1), (StepStarted, 2)])
def test_a_recorded_event_made_again_unlike_it_is_reported_at_its_seq(
    tmp_path: Path, kind: type[Event], nth: int
) -> None:
    """An answer (compared as structs with the one served) or a step's start (kept while
    reading) that the replay makes differently is a divergence at its seq."""
    _record(tmp_path / "run")
    log = EventLog(tmp_path / "run")
    changed = [ev for ev in log.read() if isinstance(ev, kind)][nth]
    lines = log.path.read_bytes().splitlines(keepends=True)
    lines[changed.seq - 1] = encode_line(msgspec.structs.replace(changed, actor="someone else"))
    log.path.write_bytes(b"".join(lines))
    report = replay(tmp_path / "run")
    assert not report.ok
    assert (report.seq, report.detail) == (changed.seq, f"{kind.__name__} differs in actor")


def test_an_attempts_events_made_again_equal_are_written_as_their_recorded_lines(
    tmp_path: Path,
) -> None:
    _record(tmp_path / "run")
    log = EventLog(tmp_path / "run")
    made_again = (StepStarted, PlanProduced, CodeProduced, ReviewProduced)
    lines = log.path.read_bytes().splitlines(keepends=True)
    events = list(log.read())
    for ev in events:  # recorded in another encoding: only a line kept is written so
        if isinstance(ev, made_again):
            lines[ev.seq - 1] = _foreign(ev) + b"\n"
    log.path.write_bytes(b"".join(lines))
    assert sum(isinstance(ev, made_again) for ev in events) >= 6
    scratch = _scratch(tmp_path / "run", tmp_path / "scratch", stamped=True)
    assert scratch == log.path.read_bytes()
    assert replay(tmp_path / "run").ok


def test_a_cursor_names_the_event_it_fetched_last_with_its_line(tmp_path: Path) -> None:
    log = _log(tmp_path / "a", 3)
    lines = log.path.read_bytes().splitlines()
    with EventCursor(log) as cursor:
        assert cursor.seen(2) is None  # nothing fetched yet
        event = cursor.at(2)
        assert cursor.seen(2) == (event, lines[1])
        assert cursor.seen(1) is None and cursor.seen(3) is None
        cursor.at(3)
        assert cursor.seen(2) is None


def test_a_held_log_like_another_adds_the_stamp_fields_or_keeps_the_events_own(
    tmp_path: Path,
) -> None:
    like = _log(tmp_path / "like", 6)
    recorded = list(like.read())
    at_hand = {4: (recorded[3], like.path.read_bytes().splitlines()[3])}
    made = EventLog(tmp_path / "made")
    with made.writer() as writer:
        writer.hold(like=like.path, seen=at_hand.get)
        own = msgspec.structs.replace(_bare(recorded[0]), workflow_id="wf-own")
        writer.append_many([own], sync=False)  # no stamp: the event's own workflow_id
        writer.append_many([_bare(recorded[1])], sync=False, stamp={"workflow_id": "wf-a"})
        writer.append_many(  # another field than the run's id: stamped all the same
            [_bare(recorded[2]), _bare(recorded[3])],
            sync=False,
            stamp={"workflow_id": "wf-b", "actor": "planner"},
        )
        fifth = msgspec.structs.replace(_bare(recorded[4]), workflow_id="wf-own")
        writer.append_many([fifth], sync=False, stamp={"workflow_id": ""})  # stamped ""
        writer.append_many([own], sync=False, stamp={})
    out = list(made.read())
    assert [(ev.workflow_id, ev.actor) for ev in out] == [
        ("wf-own", "supervisor"),
        ("wf-a", "supervisor"),
        ("wf-b", "planner"),
        ("wf-b", "planner"),
        ("", "supervisor"),
        ("wf-own", "supervisor"),
    ]
    assert [(ev.id, ev.ts) for ev in out] == [(ev.id, ev.ts) for ev in recorded]
