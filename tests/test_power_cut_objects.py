"""A power cut at every file-system step of an agent loop never loses a named object.

The loop appends each request, each edit's bytes and each long tool output to its run
pack, and the log syncs the pack before it writes the line naming them. A loop run on a
workspace is recorded step by step (``_powercut.py``); at every step, what a cut that
drops every unsynced write leaves must hold each object the durable part of the log
names (verify's own check), and one ``verify --repair`` leaves any cut run verified
clean (a torn record at the pack's end cut off, a torn line moved aside, projections
rebuilt).

The pack is synced at the commit point (the pack, then the log), not as a line naming it
is written, so the kernel's writeback can put a written line on disk before the record
it names: the ``writeback`` cuts below keep every line written (the log's page cache
flushed whole) and of the pack only what was synced. Such a line was covered by no
completed sync; recovery (``verify --repair``) moves it and what follows aside, and keeps
every line a sync covered.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from _loop_run import make_loop_run
from _powercut import Recorder, Snapshot, build_after_cut

from actors.cli import main
from events import decode_line
from store import EventLog, check_objects
from store.objects import clear_debris
from store.unsynced import UnsyncedLine, unsynced_line

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


def _cut(snap: Snapshot, base_ino: int, log_ino: int, mode: str, dest: Path) -> Path:
    """The run a cut at ``snap`` leaves; ``writeback``: as ``lost`` but with every line
    written to the log there (flushed by the kernel), the pack only as synced."""
    build_after_cut(snap, base_ino, "lost" if mode == "writeback" else mode, dest)
    run = dest / "run"
    if mode == "writeback":
        (run / "events.jsonl").write_bytes(snap.volatile_files[log_ino])
    return run


def _recover(run: Path) -> UnsyncedLine | None:
    """What ``verify --repair`` does, in order: the log's torn tail, the pack's torn
    record, then the lines naming records the pack lacks; the first of those, if any."""
    log = EventLog(run)
    if log.verify().repairable:
        log.repair()
    clear_debris(log.path)
    line = unsynced_line(run, log.read())
    if line is not None:
        log.move_aside_from(line.seq)
    return line


@pytest.mark.parametrize("mode", ["writeback", "torn"])
def test_every_cut_keeps_every_synced_line_and_recovers_its_objects(
    recorded: tuple[Recorder, int], tmp_path: Path, mode: str
) -> None:
    recorder, log_ino = recorded
    cut_tails = 0
    for snap in recorder.snapshots:
        synced = snap.durable_files.get(log_ino, b"")
        if not synced:
            continue
        run = _cut(snap, recorder.base_ino, log_ino, mode, tmp_path / f"{snap.step:04d}")
        line = _recover(run)
        cut_tails += line is not None
        where = f"cut after step {snap.step} ({snap.op})"
        assert (run / "events.jsonl").read_bytes().startswith(synced), where
        assert EventLog(run).verify().ok, where
        assert [str(i) for i in check_objects(run, EventLog(run).read())] == [], where
        if line is not None:
            assert line.seq > synced.count(b"\n"), where  # never a line a sync covered
    if mode == "writeback":
        assert cut_tails >= 2  # the edits' bytes and the requests, lost under their lines


def _first_unsynced_tail(
    recorded: tuple[Recorder, int], tmp_path: Path
) -> tuple[Path, UnsyncedLine]:
    """The first power cut (writeback mode) that keeps a line without its object: the
    run it leaves and that line (:func:`store.unsynced.unsynced_line`)."""
    recorder, log_ino = recorded
    for snap in recorder.snapshots:
        if not snap.durable_files.get(log_ino):
            continue
        run = _cut(snap, recorder.base_ino, log_ino, "writeback", tmp_path / f"{snap.step:04d}")
        lost = unsynced_line(run, EventLog(run).read())
        if lost is not None:
            return run, lost
    pytest.fail("no cut kept a line without its object")


def test_verify_names_lines_kept_without_their_objects_and_repair_moves_them_aside(
    recorded: tuple[Recorder, int], tmp_path: Path
) -> None:
    run, lost = _first_unsynced_tail(recorded, tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        assert main(["verify", str(run)]) == 1
        said = out.getvalue()
        assert f"events.jsonl:{lost.seq}: line {lost.seq} names {lost.what}" in said
        assert "`agentlog verify --repair` moves them aside" in said
        assert main(["verify", "--repair", str(run)]) == 0, out.getvalue()
        assert f"from line {lost.seq} on)" in out.getvalue()
        assert main(["verify", str(run)]) == 0, out.getvalue()
    assert sum(1 for _ in EventLog(run).read()) == lost.seq - 1


def test_resume_moves_lines_kept_without_their_objects_aside_and_appends_after_the_rest(
    recorded: tuple[Recorder, int], tmp_path: Path
) -> None:
    from actors import Supervisor
    from actors.models import ScriptedModel

    run, lost = _first_unsynced_tail(recorded, tmp_path)
    lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
    Supervisor.resume(run, model=ScriptedModel({}), trust_log=True)
    assert (run / "events.jsonl.torn-1").read_bytes() == b"".join(lines[lost.seq - 1 :])
    after = (run / "events.jsonl").read_bytes()
    assert after.startswith(b"".join(lines[: lost.seq - 1]))
    assert [str(i) for i in check_objects(run, EventLog(run).read())] == []
