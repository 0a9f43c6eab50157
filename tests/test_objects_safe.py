"""The object store opens only regular files in real directories, and cleans up cut writes.

A run directory may come from someone else: a symbolic link in ``objects/`` is never
followed (nor copied by a fork), a FIFO never blocks a reader, and each is reported as
damage naming its path. A write cut short leaves a temp file that ``verify`` names and
``verify --repair`` and ``resume`` remove. Every command runs in a subprocess with a
timeout, so a reader that blocks fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import msgspec
import pytest
from _cli import CLI, write_script

from actors import Supervisor, fork
from actors.demo import DEMO_CONFIG, demo_model, demo_task
from actors.replaying import copy_lines
from events import ModelCalled
from store import LOG_NAME, EventLog, ObjectProblem, ObjectStore
from store.run_pack import PACK_NAME

#: What a person keeps beside the run: it must never reach a fork.
SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot for any fork\n"
KILLER = [sys.executable, str(Path(__file__).with_name("_killer.py"))]
#: Long enough for a command that answers; a FIFO reader would block far beyond it.
TIMEOUT = 30


def agentlog(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``agentlog ARGS`` in a subprocess that must finish within :data:`TIMEOUT`."""
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished demo run whose every request is a loose object in ``objects/`` (as runs
    kept them before the run pack; their readers still read them)."""
    run = tmp_path_factory.mktemp("recorded") / "demo"
    quick = msgspec.structs.replace(DEMO_CONFIG, run_tests=False)
    assert Supervisor(quick, model=demo_model()).run(demo_task(), run).ok
    loosen(run)
    return run


def loosen(run: Path) -> None:
    """Move the objects of ``run``'s run pack out into loose objects, one file each."""
    store = ObjectStore(run)
    blobs = [store.get(digest) for digest in store.names()]
    (run / "objects" / PACK_NAME).unlink()
    for blob in blobs:
        ObjectStore(run).put(blob)


@pytest.fixture
def packed(tmp_path: Path) -> Path:
    """A finished demo run as this version keeps it: its requests in ``objects/run.pack``."""
    run = tmp_path / "packed" / "demo"
    quick = msgspec.structs.replace(DEMO_CONFIG, run_tests=False)
    assert Supervisor(quick, model=demo_model()).run(demo_task(), run).ok
    assert (run / "objects" / PACK_NAME).is_file()
    return run


@pytest.fixture
def run(recorded: Path, tmp_path: Path) -> Path:
    """A fresh copy of :func:`recorded` for one test to damage."""
    copy = tmp_path / "runs" / "demo"
    shutil.copytree(recorded, copy, symlinks=True)
    return copy


def first_call(run: Path) -> ModelCalled:
    return next(ev for ev in EventLog(run).read() if isinstance(ev, ModelCalled))


def first_request(run: Path) -> Path:
    """The loose object holding the run's first recorded request."""
    path = ObjectStore(run).path(first_call(run).request_digest)
    assert path.is_file() and not path.is_symlink()
    return path


def replace_with_link(obj: Path, target: Path, data: bytes) -> None:
    """Put ``data`` in ``target`` (mode 0600) and make ``obj`` a symbolic link to it."""
    target.write_bytes(data)
    target.chmod(0o600)
    obj.unlink()
    obj.symlink_to(target)


def replace_with_fifo(obj: Path) -> None:
    obj.unlink()
    os.mkfifo(obj)


def test_verify_names_a_linked_object_even_when_its_target_holds_the_right_bytes(
    run: Path, tmp_path: Path
) -> None:
    obj = first_request(run)
    replace_with_link(obj, tmp_path / "elsewhere", obj.read_bytes())
    done = agentlog("verify", run)
    assert done.returncode == 1
    assert f"{obj}: a symbolic link, not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_store_never_reads_through_a_link(run: Path, tmp_path: Path) -> None:
    obj = first_request(run)
    replace_with_link(obj, tmp_path / "elsewhere", obj.read_bytes())
    with pytest.raises(ObjectProblem, match="a symbolic link, not a regular file"):
        ObjectStore(run).get(first_call(run).request_digest)


def test_a_fork_refuses_a_linked_object_and_never_copies_what_it_points_at(
    run: Path, tmp_path: Path
) -> None:
    key = tmp_path / "id_ed25519"
    replace_with_link(first_request(run), key, SECRET)
    out = tmp_path / "fork"
    with pytest.raises(ObjectProblem, match="a symbolic link, not a regular file") as info:
        fork(run, at=3, new_run_dir=out, model=demo_model())
    assert info.value.path == ObjectStore(run).path(first_call(run).request_digest)
    assert "no fork was made" in str(info.value)
    assert not out.exists()
    assert key.read_bytes() == SECRET and key.stat().st_mode & 0o777 == 0o600


def test_a_forks_objects_are_its_own_read_only_files(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "fork"
    fork(run, at=3, new_run_dir=out, model=demo_model())
    source = {p.stat().st_ino for p in (run / "objects").rglob("*") if p.is_file()}
    made = [p for p in (out / "objects").rglob("*") if p.is_file() or p.is_symlink()]
    assert made
    for path in made:
        st = path.lstat()
        assert not path.is_symlink() and st.st_ino not in source and st.st_nlink == 1
        if path.name != PACK_NAME:  # the fork's own run pack is appended to as it goes
            assert st.st_mode & 0o222 == 0  # written by the store, read-only
    digest = first_call(run).request_digest
    assert ObjectStore(out).get(digest) == ObjectStore(run).get(digest)


@pytest.mark.parametrize(
    "args",
    [("show", "{run}", "{seq}", "--request"), ("verify", "{run}"), ("verify", "--repair", "{run}")],
    ids=["show --request", "verify", "verify --repair"],
)
def test_a_fifo_in_place_of_an_object_is_one_line_of_damage_not_a_hang(
    run: Path, args: tuple[str, ...]
) -> None:
    obj = first_request(run)
    replace_with_fifo(obj)
    seq = str(first_call(run).seq)
    done = agentlog(*(a.format(run=run, seq=seq) for a in args))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("agentlog: ")
    assert f"{obj}: a FIFO, not a regular file" in lines[0]


def test_the_viewer_answers_a_request_held_by_a_fifo_with_its_problem(run: Path) -> None:
    pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")
    from actors.viewer.serve import start

    obj = first_request(run)
    replace_with_fifo(obj)
    seq = first_call(run).seq
    with start(run.parent) as viewer:
        url = f"{viewer.url}/api/runs/{run.name}/events/{seq}"
        for _ in range(3):  # each answered, none left hanging on the viewer
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                request = json.loads(response.read())["exchange"]["request"]
            assert request["recorded"] is False
            assert request["problem"] == "a FIFO, not a regular file"


def test_a_linked_objects_directory_is_damage(run: Path, tmp_path: Path) -> None:
    moved = tmp_path / "objects-elsewhere"
    (run / "objects").rename(moved)
    (run / "objects").symlink_to(moved, target_is_directory=True)
    done = agentlog("verify", run)
    assert done.returncode == 1
    assert f"{run / 'objects'}: a symbolic link, not a directory" in done.stderr


def test_a_linked_fan_out_directory_is_damage(run: Path, tmp_path: Path) -> None:
    fan = first_request(run).parent
    moved = tmp_path / "fan-elsewhere"
    fan.rename(moved)
    fan.symlink_to(moved, target_is_directory=True)
    done = agentlog("verify", run)
    assert done.returncode == 1
    assert f"{fan}: a symbolic link, not a directory" in done.stderr


def leave_debris(run: Path) -> list[Path]:
    """What a write cut short leaves: a loose object's temp file and a pack's."""
    obj = first_request(run)
    loose = obj.parent / f".{obj.name[:16]}.0a1b2c3d.tmp"
    loose.write_bytes(b"half an obj")
    packs = run / "objects" / "packs"
    packs.mkdir(exist_ok=True)
    pack = packs / ".0123456789abcdef.4e5f6a7b.tmp"
    pack.write_bytes(b"half a pack")
    return [loose, pack]


def test_verify_names_the_leftovers_of_a_cut_object_write(run: Path) -> None:
    debris = leave_debris(run)
    done = agentlog("verify", run)
    assert done.returncode == 1
    assert "2 leftovers of a cut object write" in done.stdout
    assert "`agentlog verify --repair` removes them" in done.stdout
    assert all(p.exists() for p in debris)


def test_verify_repair_removes_the_leftovers_of_a_cut_object_write(run: Path) -> None:
    debris = leave_debris(run)
    done = agentlog("verify", "--repair", run)
    assert done.returncode == 0, done.stderr
    assert "removed 2 leftovers of a cut object write" in done.stdout
    assert not any(p.exists() for p in debris)
    assert agentlog("verify", run).returncode == 0


def test_a_run_killed_while_appending_a_request_is_resumed_without_the_torn_record(
    tmp_path: Path,
) -> None:
    script = write_script(tmp_path / "script.json")
    run = tmp_path / "run"
    args = ["run", "a task", "--script", str(script), "--run-dir", str(run)]
    killed = subprocess.run([*KILLER, "pack:1", *args], capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pack = run / "objects" / PACK_NAME
    torn = pack.stat().st_size  # half of the first request's record, named by no event
    assert torn and not ObjectStore(run).names()
    checked = agentlog("verify", run)
    assert checked.returncode == 1 and "1 leftovers of a cut object write" in checked.stdout
    resumed = agentlog("resume", run, "--script", script)
    assert resumed.returncode == 0, resumed.stderr
    named = [ev.request_digest for ev in EventLog(run).read() if isinstance(ev, ModelCalled)]
    assert sorted(set(named)) == ObjectStore(run).names()
    assert agentlog("verify", run).returncode == 0


def test_a_linked_run_pack_is_damage_even_with_the_right_bytes(
    packed: Path, tmp_path: Path
) -> None:
    pack = packed / "objects" / PACK_NAME
    elsewhere = tmp_path / "elsewhere.pack"
    shutil.copyfile(pack, elsewhere)
    pack.unlink()
    pack.symlink_to(elsewhere)
    with pytest.raises(ObjectProblem, match="a symbolic link, not a regular file") as info:
        ObjectStore(packed).get(first_call(packed).request_digest)
    assert info.value.path == pack
    done = agentlog("verify", packed)
    assert done.returncode == 1 and f"{pack}: a symbolic link, not a regular file" in done.stderr


def test_a_fifo_in_place_of_the_run_pack_is_one_line_of_damage_not_a_hang(packed: Path) -> None:
    replace_with_fifo(packed / "objects" / PACK_NAME)
    done = agentlog("show", packed, str(first_call(packed).seq), "--request")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert f"{packed / 'objects' / PACK_NAME}: a FIFO, not a regular file" in line


def test_resume_removes_the_leftovers_of_a_cut_object_write(run: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut"
    cut.mkdir()
    shutil.copytree(run / "objects", cut / "objects")
    copy_lines(run / LOG_NAME, cut / LOG_NAME, 5)  # killed after its first model call
    debris = leave_debris(cut)
    assert Supervisor.resume(cut, model=demo_model()).ok
    assert not any(p.exists() for p in debris)


@pytest.mark.parametrize("suffix", [".pack", ".idx"])
def test_a_linked_pack_or_index_is_damage_even_with_the_right_bytes(
    tmp_path: Path, suffix: str
) -> None:
    store = ObjectStore(tmp_path / "run")
    ((digest, _), _) = store.put_many([b"first", b"second"])
    (packed,) = (tmp_path / "run" / "objects" / "packs").glob(f"*{suffix}")
    elsewhere = tmp_path / f"elsewhere{suffix}"
    shutil.copyfile(packed, elsewhere)
    packed.unlink()
    packed.symlink_to(elsewhere)
    with pytest.raises(ObjectProblem, match="a symbolic link, not a regular file") as info:
        ObjectStore(tmp_path / "run").get(digest)
    assert info.value.path == packed


def test_verify_json_lists_damaged_objects_and_leftovers(run: Path) -> None:
    obj = first_request(run)
    debris = leave_debris(run)
    replace_with_fifo(obj)
    done = agentlog("verify", "--json", run)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["object_debris"] == [str(p) for p in sorted(debris, key=str)]
    (damaged,) = report["damaged_objects"]
    assert damaged.startswith(f"{obj}: a FIFO, not a regular file")
