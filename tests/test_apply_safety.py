"""What ``agentlog apply`` never does: write through a link, lose a mode, keep half a file.

- A parent directory that is a symbolic link in the target (to ``.git``, or out of the
  tree) is never written through: the apply is refused, nothing is written anywhere.
- A file moved by the change keeps the result tree's mode (an executable stays one).
- A target whose disk fills up mid-apply is left exactly as it was: exit 1, one line.
- One apply at a time per run; a journal from elsewhere (a run directory is data, not
  permission) touches no other directory and removes no file it did not write.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from _repo import applied_run, needs_git
from _tmpfs import in_mount_namespace

from actors.cli import main
from actors.workspace.apply import ApplyRefused, apply_run
from actors.workspace.transaction import JOURNAL, _locked, recover

pytestmark = needs_git

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
BIG = 400_007


def listing(root: Path) -> dict[str, tuple[str, int, bytes | None]]:
    """Every entry under ``root`` (hidden ones and ``.git`` included): kind, mode, bytes."""
    out: dict[str, tuple[str, int, bytes | None]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("link", 0, str(path.readlink()).encode())
        elif path.is_dir():
            out[rel] = ("dir", 0, None)
        else:
            out[rel] = ("file", path.lstat().st_mode & 0o777, path.read_bytes())
    return out


def record(tmp: Path, changes: list[dict[str, str]]) -> tuple[Path, Path]:
    """(repo, run): a repository with an executable ``run.sh`` and a run making ``changes``."""
    return applied_run(tmp, {"changes": changes, "notes": "done"})


@pytest.fixture(scope="module")
def into_links(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run that creates ``gitlink/hooks/post-checkout`` and ``gitlink/objects/info/
    alternates``: harmless files in a new directory, unless ``gitlink`` is a link."""
    tmp = tmp_path_factory.mktemp("links")
    return record(
        tmp,
        [
            {"op": "create", "path": "gitlink/hooks/post-checkout", "content": "#!/bin/sh\n"},
            {"op": "create", "path": "gitlink/objects/info/alternates", "content": "/x\n"},
        ],
    )


@pytest.fixture
def links(into_links: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the target (and the run) for one test."""
    repo, run = into_links
    return (
        Path(shutil.copytree(repo, tmp_path / "repo", symlinks=True)),
        Path(shutil.copytree(run, tmp_path / "run", symlinks=True)),
    )


def test_apply_never_writes_into_git_through_a_symlink_in_the_target(
    links: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = links
    (repo / "gitlink").symlink_to(".git")
    before = listing(repo)
    assert main(["apply", str(run), "--to", str(repo)]) == 1
    err = capfd.readouterr().err
    assert "gitlink/hooks/post-checkout: its directory gitlink is a symbolic link" in err
    assert not (repo / ".git/hooks/post-checkout").exists()
    assert not (repo / ".git/objects/info/alternates").exists()
    assert listing(repo) == before


def test_apply_never_writes_outside_the_target_through_a_symlink(
    links: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, run = links
    outside = tmp_path / "outside"
    (outside / "hooks").mkdir(parents=True)
    (repo / "gitlink").symlink_to(outside)
    before = listing(repo)
    with pytest.raises(ApplyRefused, match="its directory gitlink is a symbolic link"):
        apply_run(run, repo)
    assert listing(outside) == {"hooks": ("dir", 0, None)}
    assert listing(repo) == before


def test_apply_never_writes_through_a_symlink_deeper_in_the_path(
    links: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, run = links
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "gitlink").mkdir()
    (repo / "gitlink/objects").symlink_to(outside)
    with pytest.raises(ApplyRefused, match="its directory gitlink/objects is a symbolic link"):
        apply_run(run, repo)
    assert list(outside.iterdir()) == []
    assert not (repo / "gitlink/hooks").exists()


def test_a_renamed_executable_keeps_its_mode(tmp_path: Path) -> None:
    repo, run = record(tmp_path, [{"op": "rename", "path": "run.sh", "to": "bin/run.sh"}])
    umask = os.umask(0o022)
    try:
        report = apply_run(run)
    finally:
        os.umask(umask)
    assert report.written == ("bin/run.sh",) and report.deleted == ("run.sh",)
    assert (repo / "bin/run.sh").stat().st_mode & 0o777 == 0o755


def test_a_full_disk_leaves_the_target_as_it_was_with_one_line(tmp_path: Path) -> None:
    # Sorted by path, src/app.py is staged first and the big file last, in new directories.
    repo, run = record(
        tmp_path,
        [
            {"op": "edit", "path": "src/app.py", "search": '"hello "', "replace": '"hi "'},
            {"op": "create", "path": "zz/data/big.txt", "content": "x" * BIG},
        ],
    )
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    cli = " ".join(f"'{part}'" for part in CLI)
    # The tmpfs holds the repository with 128 KiB to spare: the big file cannot fit.
    steps = f"""
        set -u
        mount -t tmpfs -o size=16m tmpfs '{mnt}' || exit 77
        cp -a '{repo}' '{mnt}/repo'
        used=$(df -B1 --output=used '{mnt}' | tail -n 1)
        mount -o remount,size=$((used + 131072)) '{mnt}' || exit 77
        {cli} apply '{run}' --to '{mnt}/repo' >'{out}/apply.out' 2>'{out}/apply.err'
        echo $? >'{out}/apply.rc'
        cp -a '{mnt}/repo' '{out}/repo'
    """
    in_mount_namespace(steps)
    err = (out / "apply.err").read_text()
    assert (out / "apply.rc").read_text().strip() == "1", err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("agentlog: ") and "No space left on device" in err
    assert "nothing changed" in err and "zz/data/big.txt" in err
    assert (out / "apply.out").read_text() == ""
    assert listing(out / "repo") == listing(repo)
    assert not (run / JOURNAL).exists()


def test_a_second_apply_while_one_runs_is_refused_touching_nothing(
    links: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    repo, run = links
    before = listing(repo)
    fd = os.open(run, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a running apply holds
        assert main(["apply", str(run), "--to", str(repo)]) == 1
    finally:
        os.close(fd)
    assert "another agentlog apply is running on this run" in capfd.readouterr().err
    assert listing(repo) == before


def test_the_apply_lock_is_let_go_even_while_a_forked_child_has_its_descriptor(
    tmp_path: Path,
) -> None:
    """A subprocess another thread forks while apply holds the run's lock keeps a copy of
    the descriptor until it execs; the lock must still end with apply, or the next apply
    of that run is refused as busy."""
    gate_read, gate_write = os.pipe()
    with _locked(tmp_path):
        child = os.fork()
        if child == 0:  # as a child between fork and exec: every descriptor still open
            os.read(gate_read, 1)
            os._exit(0)
    try:
        with _locked(tmp_path):  # not ApplyBusy
            pass
    finally:
        os.write(gate_write, b"x")
        os.waitpid(child, 0)
        os.close(gate_read)
        os.close(gate_write)


def _journal(run: Path, target: Path, *, digest: str, same_directory: bool) -> None:
    st = target.stat()
    run.mkdir()
    (run / JOURNAL).write_text(
        json.dumps(
            {
                "version": 1,
                "target": str(target),
                "device": st.st_dev if same_directory else 0,
                "inode": st.st_ino if same_directory else 0,
                "tag": "abcd1234",
                "files": [{"path": "keep.txt", "digest": digest}],
                "dirs": [],
            }
        )
    )


def _victim(tmp_path: Path, *, wrote: bytes, same_directory: bool) -> tuple[Path, Path]:
    """(a directory holding the user's ``keep.txt``, a run whose journal says apply wrote
    ``wrote`` there): what a journal from someone else may claim."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine\n")
    run = tmp_path / "run"
    _journal(run, victim, digest=hashlib.sha256(wrote).hexdigest(), same_directory=same_directory)
    return victim, run


def test_a_journal_made_for_another_directory_is_discarded_touching_nothing(
    tmp_path: Path,
) -> None:
    victim, run = _victim(tmp_path, wrote=b"mine\n", same_directory=False)
    settled = recover(run)
    assert settled is not None and settled.outcome == "discarded"
    assert (victim / "keep.txt").read_text() == "mine\n"
    assert not (run / JOURNAL).exists()


def test_rolling_back_removes_no_file_that_does_not_hold_what_apply_wrote(
    tmp_path: Path,
) -> None:
    victim, run = _victim(tmp_path, wrote=b"other\n", same_directory=True)
    settled = recover(run)
    assert settled is not None and settled.outcome == "rolled back"
    assert (victim / "keep.txt").read_text() == "mine\n"
    assert not (run / JOURNAL).exists()
