"""Projections survive a power cut once a run ends, and what a cut took is found and rebuilt.

During a run ``plan.json`` ... ``files/`` are written without fsync (the synced log is the
truth). At the end they are synced once; ``verify`` compares them with the log and
``verify --repair`` or ``resume`` rebuilds what differs; the temp files of a write cut
short are removed; the run directory's own entry is synced when its log is created.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _workflow import FAST, scripted

from actors import Supervisor
from actors.cli import main
from store import (
    EventLog,
    ProjectionError,
    check_projections,
    materialize,
    sync_projections,
)


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Every path fsync is called on (through ``os.fsync``), in order."""
    paths: list[Path] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        paths.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    yield paths


@pytest.fixture
def done(tmp_path: Path) -> Path:
    """A completed run (plan, code with two files, review)."""
    run_dir = tmp_path / "run"
    result = Supervisor(FAST, model=scripted()).run("task", run_dir)
    assert result.status == "completed"
    return run_dir


def _projection(run_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and not p.name.startswith("events.jsonl")
    }


def test_a_finished_run_syncs_every_projection_and_directory(
    run_dir: Path, synced: list[Path]
) -> None:
    Supervisor(FAST, model=scripted()).run("task", run_dir)
    files = run_dir / "files"
    expected = {
        run_dir / "plan.json",
        run_dir / "code.json",
        run_dir / "review.json",
        files / "hello.py",
        files / "pkg" / "util.py",
        files / "pkg",
        files,
        run_dir,
    }
    assert expected <= set(synced)


def test_sync_projections_counts_what_it_synced(done: Path) -> None:
    # 3 artifacts, 2 files, files/ and files/pkg, the run directory
    assert sync_projections(done) == 8


def _with_files(run_dir: Path, count: int) -> Path:
    for i in range(count):
        path = run_dir / "files" / f"pkg{i % 4}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"X = {i}\n")
    return run_dir


def test_the_syncs_of_a_large_files_dir_do_not_grow_per_file(
    tmp_path: Path, synced: list[Path]
) -> None:
    small = sync_projections(_with_files(tmp_path / "a", 200))
    large = sync_projections(_with_files(tmp_path / "b", 400))
    assert small == large
    assert not [p for p in synced if "files" in p.parts]


def test_an_intact_run_has_no_projection_mismatch(done: Path) -> None:
    assert check_projections(done, EventLog(done).read()) == []


def test_what_a_power_cut_took_is_found(done: Path) -> None:
    (done / "plan.json").write_bytes(b"")  # data never reached the disk
    (done / "files" / "hello.py").unlink()  # the rename was lost
    (done / "files" / "stray.py").write_text("left over\n")
    wrong = check_projections(done, EventLog(done).read())
    assert sorted(w.split(":")[0] for w in wrong) == [
        "files/hello.py",
        "files/stray.py",
        "plan.json",
    ]
    assert (done / "plan.json").read_bytes() == b""  # checking changes nothing


def test_a_whole_missing_files_dir_is_found(done: Path) -> None:
    shutil.rmtree(done / "files")
    wrong = check_projections(done, EventLog(done).read())
    assert sorted(w.split(":")[0] for w in wrong) == ["files/hello.py", "files/pkg/util.py"]


def test_verify_reports_projections_that_differ_and_repair_rebuilds_them(
    done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _projection(done)
    (done / "code.json").write_bytes(b"")
    (done / "files" / "pkg" / "util.py").write_bytes(b"\0\0\0")
    assert main(["verify", str(done)]) == 1
    out = capsys.readouterr().out
    assert "2 projections differ from the log" in out and "verify --repair" in out
    assert main(["verify", str(done), "--repair"]) == 0
    assert "rebuilt 2 projections" in capsys.readouterr().out
    assert _projection(done) == expected
    assert main(["verify", str(done)]) == 0


def test_resume_of_an_ended_run_rebuilds_its_projections(
    done: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _projection(done)
    (done / "review.json").unlink()
    shutil.rmtree(done / "files")
    assert main(["resume", str(done)]) == 0
    assert "rebuilt 3 projections" in capsys.readouterr().out
    assert _projection(done) == expected


def test_library_resume_of_an_ended_run_rebuilds_its_projections(done: Path) -> None:
    expected = _projection(done)
    (done / "plan.json").write_bytes(b"")
    Supervisor.resume(done, model=scripted())
    assert _projection(done) == expected


def test_temp_files_left_by_a_cut_are_removed_by_the_next_materialize(done: Path) -> None:
    stale = [done / ".plan.json.0123456789ab.tmp", done / ".review.json.ba9876543210.tmp"]
    for path in stale:
        path.write_bytes(b"")
    (done / "notes.txt").write_text("the user's own file\n")
    wrong = check_projections(done, EventLog(done).read())
    assert sorted(w.split(":")[0] for w in wrong) == sorted(p.name for p in stale)
    materialize(done, EventLog(done).read())
    assert not any(p.exists() for p in stale)
    assert (done / "notes.txt").exists()


def test_an_artifact_path_that_is_a_directory_is_refused_in_one_line(
    done: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (done / "plan.json").unlink()
    (done / "plan.json").mkdir()
    (done / "plan.json" / "mine.txt").write_text("keep me\n")
    with pytest.raises(ProjectionError, match="is a directory"):
        materialize(done, EventLog(done).read())
    assert main(["project", str(done)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "plan.json is a directory" in err
    assert (done / "plan.json" / "mine.txt").read_text() == "keep me\n"


def test_creating_a_log_syncs_the_run_directory_entry_too(
    tmp_path: Path, synced: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "runs" / "made-by-the-supervisor"
    run_dir.mkdir(parents=True)
    EventLog(run_dir).writer().close()
    assert {run_dir, run_dir.parent} <= set(synced)


def test_creating_missing_run_directories_syncs_each_new_entry(
    tmp_path: Path, synced: list[Path]
) -> None:
    run_dir = tmp_path / "a" / "b" / "run"
    EventLog(run_dir).writer().close()
    assert {tmp_path, tmp_path / "a", tmp_path / "a" / "b", run_dir} <= set(synced)


def test_resume_of_an_empty_log_says_the_run_never_started(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir.mkdir()
    (run_dir / "events.jsonl").write_bytes(b"")
    assert main(["resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "the run never started" in err and "run it again" in err


def test_verify_leaves_the_projections_of_a_run_being_written_alone(
    done: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (done / "plan.json").write_bytes(b"")  # as a live run may have it between two writes
    with EventLog(done).writer():
        assert main(["verify", str(done)]) == 0
    assert "projections not checked: a run is writing this log" in capsys.readouterr().out
    assert (done / "plan.json").read_bytes() == b""
