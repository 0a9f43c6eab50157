"""materialize: artifacts and files/ rebuilt from events, byte-identical and confined."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import msgspec
import pytest
from _events import (
    FIRST_FILES,
    REVISED_FILES,
    code,
    completed_run,
    failed_run,
    plan,
    revision_run,
    stamp,
    started,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import CodeChange, CodeProduced, Event, FileChange, Plan, PlanProduced
from store.materialize import encode_artifact, materialize
from store.paths import UnsafePath


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root``: file bytes, or the target of a symlink, or "<dir>"."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "<dir>"
            else:
                out[rel] = path.read_bytes()
    return out


def with_code(files: dict[str, str]) -> list[Event]:
    """A short run whose only CodeProduced carries ``files``."""
    return stamp([started(), PlanProduced(plan=plan()), CodeProduced(code=code(files))])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    return run


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    """A directory outside the run, with one file, that no test may change."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched\n")
    return outside


def test_encode_artifact_is_indented_json_with_a_trailing_newline() -> None:
    data = encode_artifact(plan())
    assert data.endswith(b"}\n")
    assert b'\n  "summary": "write a greeting",' in data
    assert msgspec.json.decode(data, type=Plan) == plan()


def test_encode_artifact_is_the_same_bytes_every_time() -> None:
    assert encode_artifact(code(FIRST_FILES)) == encode_artifact(code(dict(FIRST_FILES)))


def test_completed_run_writes_all_three_artifacts_and_its_files(run_dir: Path) -> None:
    materialize(run_dir, completed_run())
    assert (run_dir / "plan.json").read_bytes() == encode_artifact(plan())
    assert (run_dir / "code.json").read_bytes() == encode_artifact(code(FIRST_FILES))
    assert msgspec.json.decode((run_dir / "review.json").read_bytes())["verdict"] == "approve"
    files = {k: v for k, v in snapshot(run_dir / "files").items() if v != "<dir>"}
    assert files == {p: c.encode() for p, c in FIRST_FILES.items()}


def test_only_produced_artifacts_are_written(run_dir: Path) -> None:
    report = materialize(run_dir, failed_run())
    assert report.written == ("plan.json",)
    assert sorted(p.name for p in run_dir.iterdir()) == ["plan.json"]


def test_an_artifact_the_log_no_longer_produces_is_removed(run_dir: Path) -> None:
    (run_dir / "review.json").write_text("{}\n")
    report = materialize(run_dir, failed_run())
    assert not (run_dir / "review.json").exists()
    assert report.removed == ("review.json",)


def test_rebuilding_twice_gives_identical_bytes(run_dir: Path) -> None:
    events = revision_run()
    materialize(run_dir, events)
    first = snapshot(run_dir)
    materialize(run_dir, events)
    assert snapshot(run_dir) == first


def test_rebuilding_after_deleting_files_dir_gives_identical_bytes(run_dir: Path) -> None:
    events = revision_run()
    materialize(run_dir, events)
    first = snapshot(run_dir)
    shutil.rmtree(run_dir / "files")
    (run_dir / "code.json").unlink()
    materialize(run_dir, events)
    assert snapshot(run_dir) == first


def test_latest_code_set_replaces_files_of_an_older_one(run_dir: Path) -> None:
    materialize(run_dir, completed_run())
    report = materialize(run_dir, revision_run())
    files = {k: v for k, v in snapshot(run_dir / "files").items() if v != "<dir>"}
    assert files == {p: c.encode() for p, c in REVISED_FILES.items()}
    assert set(report.removed) == {"files/pkg/util.py", "files/pkg"}


def test_stray_entries_in_files_dir_are_removed(run_dir: Path) -> None:
    (run_dir / "files" / "junk").mkdir(parents=True)
    (run_dir / "files" / "junk" / "x.txt").write_text("x")
    (run_dir / "files" / ".greet.py.abc.tmp").write_text("half-written")
    materialize(run_dir, completed_run())
    assert set(snapshot(run_dir / "files")) == {"greet.py", "pkg", "pkg/util.py"}


def test_a_file_path_that_was_a_directory_becomes_a_file(run_dir: Path) -> None:
    materialize(run_dir, with_code({"a/b.py": "old\n"}))
    materialize(run_dir, with_code({"a": "now a file\n"}))
    assert (run_dir / "files" / "a").read_text() == "now a file\n"


def test_a_directory_path_that_was_a_file_becomes_a_directory(run_dir: Path) -> None:
    materialize(run_dir, with_code({"a": "a file\n"}))
    materialize(run_dir, with_code({"a/b.py": "inside\n"}))
    assert (run_dir / "files" / "a" / "b.py").read_text() == "inside\n"


def test_no_temp_files_are_left_behind(run_dir: Path) -> None:
    materialize(run_dir, revision_run())
    names = [p.name for p in run_dir.rglob("*")]
    assert not [n for n in names if n.endswith(".tmp")]


def test_a_run_without_code_does_not_create_files_dir(run_dir: Path) -> None:
    materialize(run_dir, failed_run())
    assert not (run_dir / "files").exists()


def test_later_entry_for_the_same_path_wins(run_dir: Path) -> None:
    twice = CodeChange(
        files=(FileChange(path="x.py", content="one\n"), FileChange(path="./x.py", content="two\n"))
    )
    materialize(run_dir, stamp([started(), CodeProduced(code=twice)]))
    assert (run_dir / "files" / "x.py").read_text() == "two\n"


def test_unsafe_path_in_a_set_writes_nothing_at_all(run_dir: Path) -> None:
    events = with_code({"ok.py": "fine\n", "../escape.py": "bad\n"})
    with pytest.raises(UnsafePath, match=r"escape\.py"):
        materialize(run_dir, events)
    assert list(run_dir.iterdir()) == []
    assert not (run_dir.parent / "escape.py").exists()


def test_unsafe_path_leaves_an_earlier_projection_unchanged(run_dir: Path) -> None:
    materialize(run_dir, completed_run())
    before = snapshot(run_dir)
    with pytest.raises(UnsafePath):
        materialize(run_dir, with_code({"new.py": "x\n", "/etc/passwd": "x\n"}))
    assert snapshot(run_dir) == before


def test_symlink_in_files_pointing_outside_is_never_written_through(
    run_dir: Path, sentinel: Path
) -> None:
    (run_dir / "files").mkdir()
    (run_dir / "files" / "keep.txt").symlink_to(sentinel / "keep.txt")
    with pytest.raises(UnsafePath, match="outside"):
        materialize(run_dir, with_code({"keep.txt": "pwned\n"}))
    assert (sentinel / "keep.txt").read_text() == "untouched\n"
    assert not (run_dir / "plan.json").exists()


def test_symlinked_directory_component_pointing_outside_is_refused(
    run_dir: Path, sentinel: Path
) -> None:
    (run_dir / "files").mkdir()
    (run_dir / "files" / "pkg").symlink_to(sentinel, target_is_directory=True)
    with pytest.raises(UnsafePath):
        materialize(run_dir, with_code({"pkg/evil.py": "x\n"}))
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]


def test_symlinked_directory_component_pointing_inside_is_refused(run_dir: Path) -> None:
    (run_dir / "files" / "real").mkdir(parents=True)
    (run_dir / "files" / "alias").symlink_to(run_dir / "files" / "real")
    with pytest.raises(UnsafePath, match="symlink"):
        materialize(run_dir, with_code({"alias/x.py": "x\n"}))
    assert list((run_dir / "files" / "real").iterdir()) == []


def test_stray_symlink_is_unlinked_without_touching_its_target(
    run_dir: Path, sentinel: Path
) -> None:
    (run_dir / "files").mkdir()
    (run_dir / "files" / "link").symlink_to(sentinel, target_is_directory=True)
    materialize(run_dir, completed_run())
    assert not (run_dir / "files" / "link").is_symlink()
    assert (sentinel / "keep.txt").read_text() == "untouched\n"


def test_files_dir_that_is_a_symlink_is_refused(run_dir: Path, sentinel: Path) -> None:
    (run_dir / "files").symlink_to(sentinel, target_is_directory=True)
    with pytest.raises(UnsafePath, match="symlink"):
        materialize(run_dir, completed_run())
    assert sorted(p.name for p in sentinel.iterdir()) == ["keep.txt"]
    assert not (run_dir / "plan.json").exists()


def test_a_file_that_is_also_a_directory_in_one_set_is_refused(run_dir: Path) -> None:
    with pytest.raises(UnsafePath, match="directory of another"):
        materialize(run_dir, with_code({"a": "file\n", "a/b.py": "x\n"}))
    assert list(run_dir.iterdir()) == []


_PIECES = st.sampled_from(["..", ".", "", "a", "b.py", "/", "C:", "\\", "out", "x\x00", "..."])
_PATHS = st.one_of(
    st.lists(_PIECES, min_size=1, max_size=5).map("/".join),
    st.lists(_PIECES, min_size=1, max_size=5).map("".join),
)


def _is_lexically_hostile(path: str) -> bool:
    return ".." in path.split("/") or path.startswith("/") or "\\" in path or "\x00" in path


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rel=_PATHS, good=st.sampled_from(["ok.py", "pkg/ok.py"]))
def test_generated_paths_never_write_outside_files_and_hostile_ones_write_nothing(
    tmp_path: Path, rel: str, good: str
) -> None:
    base = Path(os.path.realpath(tmp_path))
    for child in base.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    run = base / "run"
    outside = base / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched\n")
    (run / "files").mkdir(parents=True)
    (run / "files" / "out").symlink_to(outside, target_is_directory=True)
    before = snapshot(base)
    try:
        materialize(run, with_code({good: "fine\n", rel: "data\n"}))
    except UnsafePath:
        assert snapshot(base) == before
        return
    assert not _is_lexically_hostile(rel)
    after = snapshot(base)
    changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
    assert all(k.startswith("run/") for k in changed)
    assert snapshot(outside) == {"keep.txt": b"untouched\n"}


def test_rebuilding_an_unchanged_run_rewrites_nothing(run_dir: Path) -> None:
    events = revision_run()
    materialize(run_dir, events)
    inodes = {p: p.stat().st_ino for p in run_dir.rglob("*") if p.is_file()}
    report = materialize(run_dir, events)
    assert report.written == () and report.removed == ()
    assert {p: p.stat().st_ino for p in run_dir.rglob("*") if p.is_file()} == inodes
