"""The run pack: what a live run makes goes to one file, synced once before its event.

``objects/run.pack`` is the line ``agentlog pack 1`` and records (``<hash> <size>\\n`` and
the bytes). A run appends each request, each edit's bytes and each long tool output to
it, and the log syncs it before writing the line that names them: one ``fdatasync`` per
event that names something new, where a loose object took a file and two directories.
What a cut leaves after the last whole record is debris; anything else wrong is damage.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _cli import cli
from _loop_run import make_loop_run

from events import ModelCalled, ToolCalled, ToolResulted, WorkflowStarted
from store import EventLog, ObjectStore, check_objects
from store.run_pack import PACK_MAGIC, PACK_NAME, RunPack, scan_pack

BLOBS = [b"first object", b"second, longer object " * 40, b"third"]


def _pack(run: Path) -> Path:
    """A run pack of :data:`BLOBS` in the new run directory ``run``, synced; its path."""
    run.mkdir()
    pack = RunPack(run)
    for blob in BLOBS:
        pack.add(blob, _hash(blob))
    pack.sync()
    pack.close()
    return run / "objects" / PACK_NAME


def _hash(data: bytes) -> str:
    from store import object_hash

    return object_hash(data)


def _scan(path: Path) -> tuple[list[str], int, int, str | None]:
    with path.open("rb") as f:
        scan = scan_pack(f.fileno())
    return list(scan.records), scan.end, scan.debris, scan.damage


def test_each_record_is_read_back_by_the_store_under_its_name(tmp_path: Path) -> None:
    path = _pack(tmp_path / "run")
    assert path.read_bytes().startswith(PACK_MAGIC + _hash(BLOBS[0]).encode() + b" 12\n")
    store = ObjectStore(tmp_path / "run")
    assert store.names() == sorted(map(_hash, BLOBS))
    for blob in BLOBS:
        assert store.get(_hash(blob)) == blob and store.size(_hash(blob)) == len(blob)


def test_bytes_the_run_already_stores_are_not_appended_again(tmp_path: Path) -> None:
    path = _pack(tmp_path / "run")
    size = path.stat().st_size
    pack = RunPack(tmp_path / "run")
    assert not pack.add(BLOBS[1], _hash(BLOBS[1]))  # read back from the pack it reopened
    pack.close()
    assert path.stat().st_size == size


@pytest.mark.parametrize(
    "tail",
    [b"ab12", b"0" * 64 + b" 99\nonly part of it", b"\0" * 300],
    ids=["torn header", "torn bytes", "zero bytes"],
)
def test_what_a_cut_leaves_after_the_last_record_is_debris_cut_off_by_repair(
    tmp_path: Path, tail: bytes
) -> None:
    path = _pack(tmp_path / "run")
    whole = path.read_bytes()
    with path.open("ab") as f:
        f.write(tail)
    assert _scan(path)[1:] == (len(whole), len(tail), None)
    store = ObjectStore(tmp_path / "run")
    assert store.debris() == [path]
    assert store.remove_debris() == [path]
    assert path.read_bytes() == whole
    assert sorted(ObjectStore(tmp_path / "run").names()) == sorted(map(_hash, BLOBS))


def test_a_reopened_pack_cuts_its_torn_end_before_appending(tmp_path: Path) -> None:
    path = _pack(tmp_path / "run")
    with path.open("ab") as f:
        f.write(b"0" * 64 + b" 500\ncut")
    pack = RunPack(tmp_path / "run")
    pack.add(b"after the cut", _hash(b"after the cut"))
    pack.sync()
    pack.close()
    records, end, debris, damage = _scan(path)
    assert (end, debris, damage) == (path.stat().st_size, 0, None)
    assert records == [*map(_hash, BLOBS), _hash(b"after the cut")]


def test_bytes_that_are_no_record_are_damage_that_nothing_removes(tmp_path: Path) -> None:
    path = _pack(tmp_path / "run")
    with path.open("ab") as f:
        f.write(b"not a record at all\n")
    assert _scan(path)[3] is not None and "holds no record at offset" in str(_scan(path)[3])
    store = ObjectStore(tmp_path / "run")
    assert store.debris() == [] and store.remove_debris() == []
    (where, why) = store.pack_damage()[0][1:]
    assert where == str(path) and "holds no record" in why


def test_a_record_whose_bytes_changed_is_damage_even_when_no_event_names_it(
    tmp_path: Path,
) -> None:
    path = _pack(tmp_path / "run")
    data = path.read_bytes()
    path.write_bytes(data.replace(b"third", b"THIRD"))
    (digest, where, why) = ObjectStore(tmp_path / "run").pack_damage()[0]
    assert digest == _hash(b"third") and where.startswith(f"{path} (object {digest[:12]}")
    assert why == "changed: its bytes no longer match its name"
    assert [str(i) for i in check_objects(tmp_path / "run", [])] == [f"{where}: {why}"]


@pytest.fixture
def loop_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A finished agent-loop run, and every sync made of something under its objects/."""
    run = tmp_path / "run"
    objects = run / "objects"
    synced: list[str] = []
    for name in ("fsync", "fdatasync"):
        real = getattr(os, name)

        def wrapped(fd: int, real: object = real) -> None:
            path = Path(os.readlink(f"/proc/self/fd/{fd}"))
            if path == run or path.is_relative_to(objects):
                synced.append(str(path.relative_to(run)))
            real(fd)  # type: ignore[operator]

        monkeypatch.setattr(os, name, wrapped)
    make_loop_run(run, tmp_path / "repo")
    return run, synced


def test_a_loops_edits_and_outputs_go_to_its_run_pack(
    loop_syncs: tuple[Path, list[str]],
) -> None:
    run, _ = loop_syncs
    events = list(EventLog(run).read())
    kept = {e.hash for ev in events if isinstance(ev, ToolResulted) for e in ev.edits if e.hash}
    kept |= {ev.output_digest for ev in events if isinstance(ev, ToolResulted)} - {""}
    kept |= {ev.request_digest for ev in events if isinstance(ev, ModelCalled)}
    assert any(isinstance(ev, ToolResulted) and ev.edits for ev in events)
    records = set(_scan(run / "objects" / PACK_NAME)[0])
    started = next(ev for ev in events if isinstance(ev, WorkflowStarted))
    assert started.workspace is not None
    base = {f.hash for f in started.workspace.files}  # recorded before: in objects/packs/
    assert kept - base <= records and kept <= set(ObjectStore(run).names())
    assert not [p for p in (run / "objects").iterdir() if len(p.name) == 2]  # none loose
    assert cli("verify", run).returncode == 0


def test_a_tool_call_adds_one_sync_at_most(loop_syncs: tuple[Path, list[str]]) -> None:
    run, synced = loop_syncs
    events = list(EventLog(run).read())
    naming = [ev for ev in events if isinstance(ev, ModelCalled | ToolResulted)]
    tool_calls = [ev for ev in events if isinstance(ev, ToolCalled)]
    assert tool_calls
    # One fdatasync of the pack per event that names something new; no object of its
    # own (a loose object synced its file and its fan-out directory: 2-3 syncs each).
    assert synced.count("objects/run.pack") <= len(naming)
    assert not [p for p in synced if re.fullmatch(r"objects/[0-9a-f]{2}(/.*)?", p)]


@pytest.mark.skipif(
    shutil.which("strace") is None,
    reason="needs strace: apt-get install strace (CI's .ci/run does)",
)
def test_an_edit_adds_no_sync_and_a_tool_call_one_under_strace(tmp_path: Path) -> None:
    # The loop in a process of its own under strace: every fsync/fdatasync it makes.
    run, trace = tmp_path / "run", tmp_path / "strace.txt"
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, 'tests');"
        "from _loop_run import make_loop_run; make_loop_run(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    root = Path(__file__).resolve().parent.parent
    command = ["strace", "-f", "-y", "-e", "trace=fsync,fdatasync,syncfs", "-o", str(trace)]
    done = subprocess.run(
        [*command, sys.executable, "-c", script, str(run), str(tmp_path / "repo")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    synced = re.findall(r"(?:fsync|fdatasync|syncfs)\(\d+<([^>]*)>", trace.read_text())
    events = list(EventLog(run).read())
    model_calls = sum(isinstance(ev, ModelCalled) for ev in events)
    tool_calls = sum(isinstance(ev, ToolCalled) for ev in events)
    edits = [ev for ev in events if isinstance(ev, ToolResulted) and ev.edits]
    assert len(edits) >= 2
    pack = synced.count(str(run / "objects" / PACK_NAME))
    log = synced.count(str(run / "events.jsonl"))
    # The pack is synced at the commit before each model call, with the request kept for
    # it and the last tool's bytes: once a call at most, nothing of an edit's own.
    assert pack <= model_calls
    # A model call costs the pack's sync and the log's; a tool call adds the log's sync
    # before it runs; the run's start (2) and end (1) one each.
    assert pack + log <= 2 * model_calls + tool_calls + 3


def test_a_run_that_stores_nothing_new_makes_no_pack(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "objects").mkdir()
    for blob in BLOBS:  # stored before, elsewhere in the run: loose objects
        ObjectStore(tmp_path / "loose-first").put(blob)
    shutil.copytree(tmp_path / "loose-first" / "objects", run / "objects", dirs_exist_ok=True)
    store = ObjectStore(run)
    pack = RunPack(run, store.__contains__)
    assert not any(pack.add(blob, _hash(blob)) for blob in BLOBS)
    pack.sync()
    pack.close()
    assert not (run / "objects" / PACK_NAME).exists()


def test_verify_names_a_torn_record_and_repair_cuts_it_off(tmp_path: Path) -> None:
    from _workflow import FAST, scripted

    from actors import Supervisor

    run = tmp_path / "run"
    assert Supervisor(FAST, model=scripted()).run("a task", run).ok
    pack = run / "objects" / PACK_NAME
    whole = pack.read_bytes()
    with pack.open("ab") as f:
        f.write(b"0" * 64 + b' 4096\n{"step": ')  # a cut in the middle of an append
    checked = cli("verify", run)
    assert checked.returncode == 1
    assert "1 leftovers of a cut object write (objects/run.pack)" in checked.stdout
    repaired = cli("verify", "--repair", run)
    assert repaired.returncode == 0, repaired.stderr
    assert "removed 1 leftovers of a cut object write (objects/run.pack)" in repaired.stdout
    assert pack.read_bytes() == whole
    assert cli("verify", run).returncode == 0


def test_syncs_issued_together_still_run_in_a_forked_child(tmp_path: Path) -> None:
    from store._together import _WORKERS, together

    meet = threading.Barrier(_WORKERS)  # calls that wait for each other: every thread made
    assert together([meet.wait] * _WORKERS) and together([lambda: 1, lambda: 2]) == [1, 2]
    pid = os.fork()
    if pid == 0:  # the child: its own pool, or the call would wait forever
        code = 0 if together([lambda: 3, lambda: 4]) == [3, 4] else 1
        os._exit(code)
    deadline = 600  # tenths of a second: a hang fails the test instead of hanging it
    while deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        select.select([], [], [], 0.1)
        deadline -= 1
    os.kill(pid, 9)
    raise AssertionError("together() hung in a forked child")
