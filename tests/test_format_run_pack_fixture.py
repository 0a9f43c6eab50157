"""Both layouts of a run's requests keep working: loose objects, and the run pack.

``tests/fixtures/v2-loose-requests/`` is a complete ``agentlog demo`` run written by the
version before the run pack: each model request a loose object (``objects/ab/cdef…``).
``tests/fixtures/v3-run-pack/`` is the same demo written with the run pack: every request
a record of ``objects/run.pack``. The fixtures are never changed; every later version
must verify them (objects included), project them byte for byte, replay them, show their
requests, and fork them with the requests they share.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from _cli import cli

from actors import fork, replay
from actors.demo import demo_model
from events import ModelCalled, UnknownEvent, WorkflowStarted
from store import EventLog, ObjectStore, check_objects, materialize, object_refs
from store.run_pack import PACK_MAGIC, PACK_NAME, scan_pack

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOOSE = FIXTURES / "v2-loose-requests"
PACKED = FIXTURES / "v3-run-pack"
ARTIFACTS = ("plan.json", "code.json", "review.json")


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _calls(run: Path) -> list[ModelCalled]:
    return [ev for ev in EventLog(run).read() if isinstance(ev, ModelCalled)]


@pytest.fixture(params=[LOOSE, PACKED], ids=["loose", "run-pack"])
def fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of one fixture run (commands may write beside its files)."""
    return Path(shutil.copytree(request.param, tmp_path / request.param.name))


def test_the_fixtures_hold_their_requests_in_the_layout_they_name() -> None:
    loose = [p for p in (LOOSE / "objects").rglob("*") if p.is_file()]
    assert loose and all(len(p.parent.name) == 2 for p in loose)
    assert sorted(p.name for p in (PACKED / "objects").iterdir()) == [PACK_NAME]
    pack = PACKED / "objects" / PACK_NAME
    assert pack.read_bytes().startswith(PACK_MAGIC)
    with pack.open("rb") as f:
        scan = scan_pack(f.fileno())
    assert scan.end == scan.size and scan.damage is None
    assert set(scan.records) == {c.request_digest for c in _calls(PACKED)}


def test_every_line_decodes_and_every_request_named_is_there(fixture: Path) -> None:
    events = list(EventLog(fixture).read())
    assert not [ev for ev in events if isinstance(ev, UnknownEvent)]
    assert next(ev for ev in events if isinstance(ev, WorkflowStarted)).records_requests
    assert len(list(object_refs(events))) == len(_calls(fixture)) == 5
    assert check_objects(fixture, events) == []
    done = cli("verify", fixture)
    assert done.returncode == 0, done.stderr


def test_the_log_projects_byte_identically(fixture: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(fixture / "events.jsonl", fresh / "events.jsonl")
    materialize(fresh, EventLog(fresh).read())
    for name in ARTIFACTS:
        assert (fresh / name).read_bytes() == (fixture / name).read_bytes(), name
    assert _tree(fresh / "files") == _tree(fixture / "files")


def test_the_run_replays_with_identical_events_and_writes_nothing_into_it(fixture: Path) -> None:
    before = _tree(fixture)
    report = replay(fixture)
    assert report.ok, report.verdict
    assert report.replayed == len(list(EventLog(fixture).read()))
    assert _tree(fixture) == before


def test_show_prints_each_recorded_request(fixture: Path) -> None:
    for call in _calls(fixture):
        done = cli("show", fixture, str(call.seq), "--request", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["request"]["step"] == call.step


def test_a_fork_keeps_the_requests_it_shares_and_stores_none_twice(
    fixture: Path, tmp_path: Path
) -> None:
    first_code = next(c for c in _calls(fixture) if c.step == "code")
    out = tmp_path / "fork"
    no_tests = lambda c: msgspec.structs.replace(c, run_tests=False)  # noqa: E731 (objects only)
    assert fork(
        fixture, at=first_code.seq - 1, new_run_dir=out, model=demo_model(), overrides=no_tests
    ).ok
    assert check_objects(out, EventLog(out).read()) == []
    shared = {c.request_digest for c in _calls(fixture) if c.seq < first_code.seq}
    assert shared <= set(ObjectStore(out).names())
    pack = out / "objects" / PACK_NAME
    with pack.open("rb") as f:  # the fork's own pack: only what the source did not hold
        assert not set(scan_pack(f.fileno()).records) & set(ObjectStore(fixture).names())
