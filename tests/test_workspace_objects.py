"""The object store: content-addressed, write-once, and checked by ``agentlog verify``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _repo import needs_git
from hypothesis import given
from hypothesis import strategies as st

from actors.cli import main
from store import ObjectProblem, ObjectStore, object_hash


def test_put_returns_the_sha256_and_get_gives_the_bytes_back(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    digest = store.put(b"hello\n")
    assert digest == object_hash(b"hello\n")
    assert store.get(digest) == b"hello\n"
    assert store.path(digest) == tmp_path / "objects" / digest[:2] / digest[2:]


def test_a_batch_goes_into_one_pack_and_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    first = store.put_many([b"a", b"b", b"a"])
    files = sorted((tmp_path / "objects").rglob("*"))
    again = ObjectStore(tmp_path).put_many([b"a", b"b"])
    assert [new for _, new in first] == [True, True, False]
    assert [new for _, new in again] == [False, False]
    assert sorted((tmp_path / "objects").rglob("*")) == files
    assert [p.suffix for p in files if p.is_file()] == [".idx", ".pack"]
    assert ObjectStore(tmp_path).get(object_hash(b"b")) == b"b"


def test_a_changed_packed_object_is_named_by_pack_and_offset(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    store.put_many([b"first", b"second"])
    (pack,) = (tmp_path / "objects" / "packs").glob("*.pack")
    os.chmod(pack, 0o644)
    pack.write_bytes(b"first" + b"SECOND")
    with pytest.raises(ObjectProblem, match="no longer match") as info:
        ObjectStore(tmp_path).get(object_hash(b"second"))
    assert str(pack) in str(info.value) and "at offset 5" in str(info.value)
    assert ObjectStore(tmp_path).get(object_hash(b"first")) == b"first"


@given(st.binary(max_size=512))
def test_any_bytes_round_trip(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = ObjectStore(tmp)
        assert store.get(store.put(data)) == data


def test_a_changed_object_is_never_served(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    digest = store.put(b"original")
    path = store.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(ObjectProblem, match="no longer match"):
        store.get(digest)


def test_a_missing_object_is_named(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    with pytest.raises(ObjectProblem, match="missing") as info:
        store.get(object_hash(b"never stored"))
    assert info.value.path == store.path(object_hash(b"never stored"))


def test_a_name_that_is_no_hash_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ObjectProblem, match="64 hex digits"):
        ObjectStore(tmp_path).path("../../etc/passwd")


def _workspace_run(tmp_path: Path) -> Path:
    from _repo import make_repo, workspace_model
    from _workflow import FAST

    from actors import Supervisor

    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    result = Supervisor(FAST, model=workspace_model()).run("greet", run, workspace=repo)
    assert result.ok
    return run


@needs_git
def test_verify_passes_when_every_object_is_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _workspace_run(tmp_path)
    assert main(["verify", str(run)]) == 0
    assert "ok" in capsys.readouterr().out


@needs_git
def test_verify_names_a_changed_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _workspace_run(tmp_path)
    from store import EventLog, workspace_base

    base = workspace_base(EventLog(run).read())
    assert base is not None
    (pack,) = (run / "objects" / "packs").glob("*.pack")
    data = bytearray(pack.read_bytes())
    data[-1] ^= 0xFF  # the last byte of the last object
    os.chmod(pack, 0o644)
    pack.write_bytes(bytes(data))
    assert main(["verify", str(run)]) == 1
    err = capsys.readouterr().err
    assert str(pack) in err and "no longer match" in err and "named by seq 1" in err


@needs_git
def test_verify_names_a_missing_object_and_the_file_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _workspace_run(tmp_path)
    for pack in (run / "objects" / "packs").glob("*.pack"):
        pack.unlink()
    assert main(["verify", str(run)]) == 1
    err = capsys.readouterr().err
    assert "missing" in err and "'src/app.py'" in err


def test_verify_names_a_missing_loose_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from _repo import write

    from store import EventLog, record_base

    repo = tmp_path / "one"
    repo.mkdir()
    write(repo, {"only.py": "x = 1\n"})
    base = record_base(repo, tmp_path / "run")  # one file: a loose object
    ObjectStore(tmp_path / "run").path(base.files[0].hash).unlink()
    from events import WorkflowStarted

    with EventLog(tmp_path / "run").writer() as writer:
        writer.append(WorkflowStarted(task="t", workspace=base))
    assert main(["verify", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "missing" in err and "'only.py'" in err and base.files[0].hash[2:] in err


@needs_git
def test_diff_of_a_run_whose_base_is_gone_names_the_object_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _workspace_run(tmp_path)
    for pack in (run / "objects" / "packs").glob("*.pack"):
        pack.unlink()
    assert main(["diff", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("agentlog: ") and "missing" in err and "Traceback" not in err
