"""Reading from a late seq jumps near it instead of decoding every line before it."""

from __future__ import annotations

from pathlib import Path

import pytest
from _logutil import make_log, run_events
from hypothesis import given, settings
from hypothesis import strategies as st

from store import EventLog, LogCorrupt
from store.seek import seek_line

CYCLES = 400  # 3,200 events, about 1 MB: many read blocks


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    events = [ev for _ in range(CYCLES) for ev in run_events()[1:]]
    return make_log(tmp_path_factory.mktemp("seek"), run_events()[:1] + events)


@pytest.fixture(scope="module")
def every(big_log: EventLog) -> list[int]:
    return [ev.seq for ev in big_log.read()]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_reading_from_any_seq_gives_exactly_the_events_from_it(
    big_log: EventLog, every: list[int], data: st.DataObject
) -> None:
    seq = data.draw(st.integers(min_value=1, max_value=len(every) + 2))
    assert [ev.seq for ev in big_log.read(from_seq=seq)] == every[seq - 1 :]


def test_the_search_lands_within_one_block_before_the_seq(big_log: EventLog) -> None:
    last = sum(1 for _ in big_log.read())
    with big_log.path.open("rb") as f:
        offset, seq = seek_line(f.fileno(), last)
    assert seq <= last
    assert big_log.path.stat().st_size - offset <= 64 * 1024 + 4096


def test_damage_after_the_jump_is_reported_at_its_own_line(tmp_path: Path) -> None:
    events = run_events()[:1] + [ev for _ in range(CYCLES) for ev in run_events()[1:]]
    log = make_log(tmp_path, events)
    lines = log.path.read_bytes().splitlines(keepends=True)
    bad = len(lines) - 3
    lines[bad - 1] = lines[bad - 1].replace(b'"actor"', b'"actoR"', 1)
    log.path.write_bytes(b"".join(lines))
    with pytest.raises(LogCorrupt, match=f"events.jsonl:{bad}: checksum mismatch"):
        list(log.read(from_seq=len(lines) - 1))
