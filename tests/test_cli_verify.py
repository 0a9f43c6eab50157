"""``verify`` gives one verdict for a run (log, objects, projections) as text or JSON, and
one ``verify --repair`` leaves a crashed run whole."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from _events import code, plan, stamp, started
from _runs import write_run
from _workflow import FAST, scripted

from actors import Supervisor
from actors.cli import main
from events import CodeProduced, Event, PlanProduced
from store import EventLog


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed run (its requests kept in objects/)."""
    run_dir = tmp_path_factory.mktemp("verify") / "run"
    assert Supervisor(FAST, model=scripted()).run("task", run_dir).status == "completed"
    return run_dir


@pytest.fixture
def done(recorded: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(recorded, tmp_path / "run"))


def _torn(run: Path) -> None:
    """A crash mid-write: half a line after the last event, and plan.json left empty."""
    log = run / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    (run / "plan.json").write_bytes(b"")


def _missing_object(run: Path) -> None:
    victim = next(p for p in (run / "objects").rglob("*") if p.is_file())
    victim.unlink()


def _changed_object(run: Path) -> None:
    victim = next(p for p in (run / "objects").rglob("*") if p.is_file())
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes() + b" ")


def _stale_projection(run: Path) -> None:
    (run / "code.json").write_bytes(b"")


def _unsafe_path(run: Path) -> None:
    shutil.rmtree(run)
    events: list[Event] = [
        started(),
        PlanProduced(plan=plan()),
        CodeProduced(code=code({"../x.py": "x\n"})),
    ]
    write_run(run, stamp(events))


def _changed_line(run: Path) -> None:
    log = run / "events.jsonl"
    data = bytearray(log.read_bytes())
    at = data.index(b'"task"')
    data[at + 1] = ord("T")
    log.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "torn-tail": _torn,
    "missing-object": _missing_object,
    "changed-object": _changed_object,
    "stale-projection": _stale_projection,
    "unsafe-path": _unsafe_path,
    "changed-line": _changed_line,
}


def _verify(run: Path, *flags: str) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["verify", str(run), *flags])
    return code, out.getvalue()


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_json_and_text_give_the_same_verdict_and_exit_code(
    damage: Callable[[Path], None], done: Path
) -> None:
    damage(done)
    text_code, _ = _verify(done)
    json_code, out = _verify(done, "--json")
    assert text_code == json_code == 1
    assert json.loads(out)["ok"] is False


def test_json_names_the_objects_that_are_missing(done: Path) -> None:
    _missing_object(done)
    code, out = _verify(done, "--json")
    report = json.loads(out)
    assert code == 1 and "missing" in report["objects"][0] and "missing" in report["error"]


def test_json_names_the_projections_that_differ(done: Path) -> None:
    _stale_projection(done)
    code, out = _verify(done, "--json")
    assert code == 1 and json.loads(out)["projections"][0].startswith("code.json:")


def test_an_intact_run_is_ok_in_both_forms(done: Path) -> None:
    assert _verify(done)[0] == 0
    code, out = _verify(done, "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_json_repair_rebuilds_the_projections(done: Path) -> None:
    expected = (done / "code.json").read_bytes()
    _stale_projection(done)
    code, out = _verify(done, "--json", "--repair")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["rebuilt"][0].startswith("code.json:")
    assert (done / "code.json").read_bytes() == expected


def test_one_repair_after_a_crash_leaves_the_run_consistent(done: Path) -> None:
    _torn(done)
    assert _verify(done)[0] == 1
    code, out = _verify(done, "--repair")
    assert code == 0, out
    assert "repaired" in out and "rebuilt" in out
    assert (done / "plan.json").read_bytes() != b""
    assert _verify(done) == (0, _verify(done)[1])


def test_one_json_repair_after_a_crash_leaves_the_run_consistent(done: Path) -> None:
    _torn(done)
    code, out = _verify(done, "--json", "--repair")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert report["repaired"]["moved_bytes"] > 0 and report["torn_bytes"] == 0
    assert report["rebuilt"] == ["plan.json: missing or not what the log says"]
    assert _verify(done, "--json")[0] == 0
    assert EventLog(done).verify().ok


def test_json_says_when_a_running_writer_kept_the_projections_from_being_checked(
    done: Path,
) -> None:
    (done / "plan.json").write_bytes(b"")  # as a live run may have it between two writes
    with EventLog(done).writer():
        code, out = _verify(done, "--json")
    report = json.loads(out)
    assert (code, report["ok"]) == (0, True)
    assert report["note"] == "projections not checked: a run is writing this log"
    assert (done / "plan.json").read_bytes() == b""
