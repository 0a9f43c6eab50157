"""A power cut at every file-system step of an agent loop never loses a named object.

The loop appends each request, each edit's bytes and each long tool output to its run
pack, and the log syncs the pack before it writes the line naming them. A loop run on a
workspace is recorded step by step (``_powercut.py``); at every step, what a cut that
drops every unsynced write leaves must hold each object the durable part of the log
names (verify's own check), and one ``verify --repair`` leaves any cut run verified
clean (a torn record at the pack's end cut off, a torn line moved aside, projections
rebuilt).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from _loop_run import make_loop_run
from _powercut import Recorder, build_after_cut

from actors.cli import main
from events import decode_line
from store import check_objects

#: How many cuts are also repaired and verified whole (every one is checked for objects).
REPAIRED = 8


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recorder, int]:
    """The recorded loop run: its recorder and the log's inode."""
    root = tmp_path_factory.mktemp("loopcut")
    base = root / "base"
    base.mkdir()
    recorder = Recorder(base)
    with recorder.recording():
        make_loop_run(base / "run", root / "repo")
    return recorder, (base / "run" / "events.jsonl").stat().st_ino


def _synced_events(snap_log: bytes) -> list[object]:
    return [decode_line(line) for line in snap_log.splitlines(keepends=True)]


def test_no_cut_leaves_a_durable_event_naming_a_lost_object(
    recorded: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder, log_ino = recorded
    checked = 0
    for snap in recorder.snapshots:
        synced = snap.durable_files.get(log_ino, b"")
        if not synced:
            continue
        dest = tmp_path / f"{snap.step:04d}"
        build_after_cut(snap, recorder.base_ino, "lost", dest)
        issues = check_objects(dest / "run", _synced_events(synced))  # type: ignore[arg-type]
        assert [str(i) for i in issues] == [], f"cut after step {snap.step} ({snap.op})"
        checked += 1
    assert checked >= 20


def test_every_cut_of_a_loop_run_verifies_clean_after_one_repair(
    recorded: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder, log_ino = recorded
    durable = [s for s in recorder.snapshots if s.durable_files.get(log_ino)]
    step = max(1, len(durable) // REPAIRED)
    for snap in durable[::step]:
        dest = tmp_path / f"{snap.step:04d}"
        build_after_cut(snap, recorder.base_ino, "torn", dest)
        run = dest / "run"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            if main(["verify", str(run)]) != 0:
                main(["verify", "--repair", str(run)])
            assert main(["verify", str(run)]) == 0, out.getvalue()
