"""The run page's overview: one streamed read, long lists cut to their last entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.viewer import overview
from events import ModelCalled
from store import EventLog


@pytest.fixture(scope="module")
def demo_run(shared_demo: tuple[Path, int, str]) -> Path:
    return shared_demo[0]


def test_a_long_list_keeps_its_last_entries_and_counts_them_all(
    demo_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "LIST_LIMIT", 2)
    calls = [ev.seq for ev in EventLog(demo_run).read() if isinstance(ev, ModelCalled)]
    listed = overview.run_overview(demo_run)["calls"]
    assert listed["total"] == len(calls) > 2
    assert [c["seq"] for c in listed["items"]] == calls[-2:]


def test_the_first_round_sent_is_diffed_against_the_one_before_it(
    demo_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "LIST_LIMIT", 1)
    rounds = overview.run_overview(demo_run)["rounds"]
    assert rounds["total"] == 2
    (last,) = rounds["items"]
    assert (last["round"], last["against"]) == (1, "previous round")
    changed = {f["path"]: f["status"] for f in last["files"]}
    assert changed["wordfreq.py"] == "modified"
