"""SIGKILL an agent loop at every append to its log and to its run pack: nothing is lost.

The run pack is synced at the commit point now, not as the line naming a record is
written, but a killed process loses no write: the page cache keeps the pack's records
(appended before the lines naming them) and the lines. So after a kill right after any
append of the log (``append:N+``) or in the middle of any append to the pack
(``pack:N``), no line names a record the pack lacks, recovery cuts nothing, and every
object the log names is there (a pack's torn record is named by no line: debris).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from events import ToolResulted
from store import EventLog, check_objects
from store.objects import clear_debris
from store.unsynced import unsynced_line

KILLER = Path(__file__).with_name("_killer.py")
ROOT = Path(__file__).resolve().parent.parent
POINTS = [f"append:{n}+" for n in range(1, 31)] + [f"pack:{n}" for n in range(1, 13)]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    """Each kill point that killed the loop, and the run it left."""
    root = tmp_path_factory.mktemp("killloop")
    runs = [root / f"{i:02d}" for i in range(len(POINTS))]
    jobs = [[p, ["demo", "--loop", "--run-dir", str(r)]] for p, r in zip(POINTS, runs, strict=True)]
    (root / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run(
        [sys.executable, str(KILLER), "--fork", str(root / "jobs.json")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    statuses = json.loads(done.stdout)
    return [
        (p, r)
        for p, r, s in zip(POINTS, runs, statuses, strict=True)
        if s == -signal.SIGKILL and (r / "events.jsonl").exists()
    ]


def test_a_killed_loop_leaves_no_line_without_its_object(killed: list[tuple[str, Path]]) -> None:
    edited = 0
    for point, run in killed:
        log = EventLog(run)
        report = log.verify()
        assert report.ok and not report.torn_bytes, point  # every line written is whole
        assert unsynced_line(run, log.read()) is None, point  # recovery cuts nothing
        clear_debris(log.path)  # a record cut in the middle of its append: named by none
        assert [str(i) for i in check_objects(run, log.read())] == [], point
        edited += any(isinstance(ev, ToolResulted) and ev.edits for ev in log.read())
    assert len(killed) >= 30 and edited >= 10
