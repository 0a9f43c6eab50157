"""The run page's summary: folded in the pass that draws the page, the one `ls` shows."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _events import completed_run
from _runs import raw_line, write_run
from _viewer import make_runs

from actors.viewer import CACHE_NAME, find_runs
from actors.viewer.serve import RunningViewer, start
from actors.views.runs import summarize_run


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The viewer's runs, and runs a summary must get right: damaged, torn, empty, newer."""
    runs = make_runs(tmp_path / "runs")
    events = completed_run()
    damaged = write_run(runs / "damaged", events)
    lines = (damaged / "events.jsonl").read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"attempt":1', b'"attempt":2', 1)
    (damaged / "events.jsonl").write_bytes(b"".join(lines))
    write_run(runs / "torn", events[:5], extra=[b'{"type":"StepStarted","seq":6'])
    write_run(runs / "empty", [])
    later = {"type": "FromTheFuture", "seq": 5, "id": "b", "ts": "2026-01-01T00:00:00Z"}
    write_run(runs / "newer", events[:4], extra=[raw_line(later)])
    return runs


@pytest.fixture
def viewer(root: Path) -> Iterator[RunningViewer]:
    with start(root) as running:
        yield running


def overview(viewer: RunningViewer, run_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{viewer.url}/api/runs/{run_id}/overview") as answer:
        data: dict[str, Any] = json.loads(answer.read())
    return data


def test_each_run_page_shows_the_summary_a_whole_read_of_its_log_gives(
    root: Path, viewer: RunningViewer
) -> None:
    found = find_runs(root)
    assert {"demo", "demo-fork", "damaged", "torn", "empty", "newer"} <= set(found)
    for run_id, run_dir in found.items():
        whole = msgspec.to_builtins(summarize_run(run_id, run_dir, cache=False))
        assert overview(viewer, run_id)["summary"] == whole, run_id


def test_opening_a_run_page_keeps_its_summary_for_the_runs_list(
    root: Path, viewer: RunningViewer
) -> None:
    overview(viewer, "demo")
    log = os.stat(root / "demo" / "events.jsonl")
    kept = json.loads((root / CACHE_NAME).read_bytes())["runs"]["demo"]
    assert kept["key"] == [log.st_dev, log.st_ino, log.st_size, log.st_mtime_ns]
    assert kept["state"]["events"] == overview(viewer, "demo")["summary"]["events"]
