"""Timeline pages read straight from the log: seeking by seq through the sparse index."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from _runs import append_lines, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.viewer.pages import LogPager
from actors.views.liveness import WriterTable
from events import StepStarted, WorkflowStarted, encode_line
from store import EventLog

N = 2600  # more than two strides of the sparse index (1,024 lines each)


def every(_: object) -> bool:
    return True


def make_log(path: Path, n: int = N) -> Path:
    events = [WorkflowStarted(seq=1, id="e1", ts="2026-01-01T00:00:00Z", task="t")]
    events += [
        StepStarted(seq=i, id=f"e{i}", ts="2026-01-01T00:00:01Z", step="plan", attempt=i)
        for i in range(2, n + 1)
    ]
    return write_run(path, events) / "events.jsonl"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_log(tmp_path_factory.mktemp("pages") / "run")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seqs=st.lists(st.integers(min_value=0, max_value=N + 5), min_size=1, max_size=4),
    limit=st.integers(min_value=1, max_value=50),
)
def test_pages_after_any_seq_match_a_slice_of_the_log(
    log: Path, seqs: list[int], limit: int
) -> None:
    pager = LogPager(log)  # seeks in any order, with the index growing as it goes
    for after in seqs:
        rows = pager.page_after(after, limit, every)
        assert [r["seq"] for r in rows] == list(range(after + 1, min(N, after + limit) + 1))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=st.integers(min_value=1, max_value=N + 1), limit=st.integers(1, 40))
def test_pages_before_any_seq_match_a_slice_of_the_log(log: Path, before: int, limit: int) -> None:
    rows = LogPager(log).page_before(before, limit, every)
    assert [r["seq"] for r in rows] == list(range(max(1, before - limit), before))


def test_one_event_is_found_by_its_seq(log: Path) -> None:
    pager = LogPager(log)
    found = pager.event(2048)
    assert found is not None and found.seq == 2048
    assert pager.event(N + 1) is None


def test_the_last_seq_comes_from_the_tail(log: Path) -> None:
    assert LogPager(log).last_seq() == N


def test_a_filter_skips_to_the_wanted_events(log: Path) -> None:
    rows = LogPager(log).page_after(0, 3, lambda ev: ev.seq % 1000 == 0)
    assert [r["seq"] for r in rows] == [1000, 2000]


def test_the_first_page_never_reads_as_far_as_a_late_damaged_line(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", 5000)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3999] = lines[3999].replace(b'"attempt":4000', b'"attempt":4001')
    path.write_bytes(b"".join(lines))
    rows = LogPager(path).page_after(0, 200, every)
    assert [r["seq"] for r in rows] == list(range(1, 201))


def test_a_torn_last_line_is_not_served(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", 5)
    append_lines(path.parent, [encode_line(StepStarted(seq=6, step="plan", attempt=9))[:20]])
    assert [r["seq"] for r in LogPager(path).page_after(3, 10, every)] == [4, 5]


def test_a_damaged_line_ends_the_page_with_a_damaged_row(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", 5)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"attempt":4', b'"attempt":5')
    path.write_bytes(b"".join(lines))
    rows = LogPager(path).page_after(0, 10, every)
    assert [r["type"] for r in rows] == ["WorkflowStarted", "StepStarted", "StepStarted", "damaged"]
    assert "line 4" in rows[-1]["summary"]


def test_a_log_that_shrank_is_indexed_again(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", N)
    pager = LogPager(path)
    assert pager.event(N) is not None
    make_log(tmp_path / "run", 10)
    assert pager.event(10) is not None and pager.event(11) is None


def test_the_writer_table_sees_a_held_lock(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", 2)
    with EventLog(path).writer():
        assert WriterTable().has_writer(path)
    assert not WriterTable().has_writer(path)


def test_without_the_kernel_table_the_recorded_pid_decides(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", 2)
    table = WriterTable(locks_file=str(tmp_path / "no-such-file"))
    with EventLog(path).writer():
        held = table.has_writer(path)
    assert held or not _xattrs_supported(path)
    assert not table.has_writer(path)


def _xattrs_supported(path: Path) -> bool:
    import os

    try:
        os.setxattr(path, "user.agentlog.probe", b"1")
        os.removexattr(path, "user.agentlog.probe")
    except OSError:
        return False
    return True


def test_rows_carry_what_the_timeline_shows(log: Path) -> None:
    row = LogPager(log).page_after(1, 1, every)[0]
    assert msgspec.json.decode(msgspec.json.encode(row)) == {
        "seq": 2,
        "ts": "2026-01-01T00:00:01Z",
        "type": "StepStarted",
        "actor": "supervisor",
        "step": "plan",
        "attempt": 2,
        "round": 0,
        "summary": "plan#2",
    }


def test_a_damaged_last_line_still_counts_the_lines(tmp_path: Path) -> None:
    path = make_log(tmp_path / "run", 5)
    data = path.read_bytes()
    path.write_bytes(data[:-5] + b"X" + data[-4:])
    assert LogPager(path).last_seq() == 5
