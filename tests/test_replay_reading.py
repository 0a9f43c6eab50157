"""A replay reads its recording once: the answers it keeps as it reads them (within a
budget of their lines' bytes) are served without being read or decoded again; the others
are read from the log when served. Either way the replay is the same, byte for byte."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from _workflow import APPROVE, CHANGES, FAST, PLAN, answer, scripted

from actors import Supervisor
from actors.models import ReplayModel
from actors.replaying import _drive, copy_lines, read_recording
from events import ModelCalled, ReviewProduced, StepStarted
from store import LOG_NAME, EventLog, ObjectStore
from store.cursor import KEEP_BUDGET, EventCursor

_CUT = re.compile(rb'"(?:id|ts|crc)":"[^"]*"')


def _record(run: Path) -> None:
    model = scripted(plan=[answer(PLAN)], review=[answer(CHANGES), answer(APPROVE)])
    Supervisor(FAST, model=model).run("say hello", run)


def _replayed(run: Path, scratch: Path, keep: int, *, aside: bool = False) -> bytes:
    """The scratch log a replay of ``run`` writes, keeping ``keep`` bytes of answers (with
    ``aside``, the recording is moved away once read: only kept answers can be served,
    and the scratch log takes no stamps from it)."""
    log = EventLog(run)
    scratch.mkdir()
    with EventCursor(log) as cursor:
        model = ReplayModel(objects=ObjectStore(run), cursor=cursor)
        recorded = read_recording(log, cursor, model, keep=keep)
        copy_lines(log.path, scratch / LOG_NAME, max(1, recorded.state.own_from_seq - 1))
        recording = recorded.recording
        if aside:
            log.path.rename(log.path.with_name("aside"))
            recording = dataclasses.replace(recording, stamps_from=None)
        try:
            assert _drive(scratch, model, recording) is None
        finally:
            if aside:
                log.path.with_name("aside").rename(log.path)
    return (scratch / LOG_NAME).read_bytes()


def _answer_bytes(run: Path) -> list[int]:
    lines = (run / LOG_NAME).read_bytes().splitlines()
    return [len(line) for line in lines if line.startswith(b'{"type":"ModelCalled"')]


@pytest.mark.parametrize("kept", ["none", "one", "all"])
def test_a_replay_is_the_same_with_its_answers_kept_or_read_again(
    tmp_path: Path, kept: str
) -> None:
    _record(tmp_path / "run")
    sizes = _answer_bytes(tmp_path / "run")
    keep = {"none": 0, "one": sizes[0], "all": KEEP_BUDGET}[kept]
    replayed = _replayed(tmp_path / "run", tmp_path / "scratch", keep)
    assert replayed == (tmp_path / "run" / LOG_NAME).read_bytes()


def test_the_answers_kept_while_reading_are_not_read_again(tmp_path: Path) -> None:
    _record(tmp_path / "run")
    assert sum(_answer_bytes(tmp_path / "run")) < KEEP_BUDGET
    replayed = _replayed(tmp_path / "run", tmp_path / "scratch", KEEP_BUDGET, aside=True)
    recorded = (tmp_path / "run" / LOG_NAME).read_bytes()
    assert _CUT.sub(b"", replayed) == _CUT.sub(b"", recorded)


@pytest.mark.parametrize("scratch", [True, False])
def test_a_reading_keeps_an_attempts_other_events_only_for_a_scratch_log(
    tmp_path: Path, scratch: bool
) -> None:
    _record(tmp_path / "run")
    log = EventLog(tmp_path / "run")
    events = list(log.read())
    others = [ev for ev in events if isinstance(ev, StepStarted | ReviewProduced)]
    answers = [ev for ev in events if isinstance(ev, ModelCalled)]
    with EventCursor(log) as cursor:
        model = ReplayModel(objects=ObjectStore(tmp_path / "run"), cursor=cursor)
        read_recording(log, cursor, model, scratch=scratch)  # a what-if's has none
        log.path.rename(log.path.with_name("aside"))  # only what was kept is at hand
        try:
            shown = [cursor.seen(ev.seq) for ev in others]
            served = [cursor.at(ev.seq) for ev in answers]  # the answers' room is theirs
        finally:
            log.path.with_name("aside").rename(log.path)
    assert served == answers
    if scratch:
        assert [kept[0] if kept else None for kept in shown] == others
    else:
        assert shown == [None] * len(others)
