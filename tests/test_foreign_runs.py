"""A run directory made by someone else is data, not permission.

The attack: a log whose configuration says ``sandbox: none`` and whose test command is
the attacker's (here ``touch MARKER``). Continuing it (``resume``, ``retry``, ``fork``,
``approve``, a batch) must not run that command unless the person continuing it says
so; without that the command stops with one line naming what the log asks, exit 2, and
the log is unchanged byte for byte. ``replay`` never runs a command at all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from _cli import write_script
from _repo import EDIT_APP, PLAN_APP, write
from _sandbox import needs_bwrap
from _workflow import APPROVE, answer, error, of_type

from actors import Supervisor, fork, replay
from actors.cli import main
from actors.consent import LogAsksMore
from actors.models import ScriptedModel
from events import (
    Forked,
    StepStarted,
    TestsRan,
    WorkflowConfig,
    WorkflowStarted,
    decode_line,
    encode_line,
)
from store import EventLog, workflow_state

RECORDED = WorkflowConfig(backoff_base=0, step_timeout=20, max_retries=0)
APP = 'def greet(name):\n    return "hello " + name\n'


def record(tmp: Path, review: dict[str, object]) -> Path:
    """An honest workspace run with no tests, its review answered by ``review``."""
    workspace = tmp / "ws"
    write(workspace, {"src/app.py": APP})
    model = ScriptedModel(
        {"plan": [answer(PLAN_APP)], "code": [answer(EDIT_APP)], "review": [review]}
    )
    Supervisor(RECORDED, model=model).run("greet with hi", tmp / "run", workspace=workspace)
    shutil.rmtree(workspace)
    return tmp / "run"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose review failed (so the run failed), before asking the model."""
    run = record(tmp_path_factory.mktemp("foreign"), error("overloaded"))
    assert workflow_state(EventLog(run).read()).status == "failed"
    return run


def forged(source: Path, dest: Path, marker: Path, **config: object) -> Path:
    """A copy of ``source`` whose WorkflowStarted asks for no sandbox and ``touch marker``
    (its seal recomputed: anyone can write a valid log)."""
    shutil.copytree(source, dest, symlinks=True)
    log = dest / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    started = decode_line(lines[0])
    assert isinstance(started, WorkflowStarted)
    changes = {"sandbox": "none", "test_cmd": f"touch {marker}", **config}
    asks = msgspec.structs.replace(started.config, **changes)
    lines[0] = encode_line(msgspec.structs.replace(started, config=asks))
    log.write_bytes(b"".join(lines))
    return dest


def review_started(run: Path) -> int:
    return next(ev.seq for ev in of_type(run, StepStarted) if ev.step == "review")


def killed(run: Path) -> Path:
    """``run`` cut just before its review started (killed there): resume goes on."""
    log = run / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: review_started(run) - 1]))
    return run


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "owned"


@pytest.fixture
def failed(recorded: Path, tmp_path: Path, marker: Path) -> Path:
    return forged(recorded, tmp_path / "foreign", marker)


@pytest.fixture
def stopped(failed: Path) -> Path:
    return killed(failed)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return write_script(tmp_path / "script.json", review=[answer(APPROVE)])


def refused(
    capsys: pytest.CaptureFixture[str], run: Path, marker: Path, before: bytes, code: int
) -> str:
    """Assert a refusal: exit 2, one line, nothing ran, nothing written; the line."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert not marker.exists()
    assert (run / "events.jsonl").read_bytes() == before
    return err


def test_resume_of_a_log_asking_for_no_sandbox_stops_and_writes_nothing(
    stopped: Path, marker: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (stopped / "events.jsonl").read_bytes()
    code = main(["resume", str(stopped), "--script", str(script)])
    err = refused(capsys, stopped, marker, before, code)
    assert f"{stopped}: the log asks for --sandbox none" in err
    assert f"--sandbox none --test-cmd 'touch {marker}' to allow it" in err


def test_resume_with_no_sandbox_allowed_still_refuses_the_logs_command(
    stopped: Path, marker: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (stopped / "events.jsonl").read_bytes()
    code = main(["resume", str(stopped), "--sandbox", "none", "--script", str(script)])
    err = refused(capsys, stopped, marker, before, code)
    assert f"the log asks for its test command 'touch {marker}'" in err


def test_resume_runs_what_the_person_allows(
    stopped: Path, marker: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = ["--sandbox", "none", "--test-cmd", f"touch {marker}"]
    assert main(["resume", str(stopped), *allow, "--script", str(script)]) == 0
    assert marker.exists()
    assert [ev.sandbox for ev in of_type(stopped, TestsRan)] == ["none"]


def test_a_command_recorded_with_the_base_needs_consent_even_in_the_sandbox(
    recorded: Path, tmp_path: Path, marker: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = killed(shutil.copytree(recorded, tmp_path / "foreign", symlinks=True))
    log = run / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    started = decode_line(lines[0])
    assert isinstance(started, WorkflowStarted) and started.workspace is not None
    lying = msgspec.structs.replace(  # labelled as detected, but the log's own command
        started.workspace, test_command=("sh", "-c", f"touch {marker}"), test_source="pytest"
    )
    config = msgspec.structs.replace(started.config, run_tests=True)
    lines[0] = encode_line(msgspec.structs.replace(started, workspace=lying, config=config))
    log.write_bytes(b"".join(lines))
    before = log.read_bytes()
    code = main(["resume", str(run), "--script", str(script)])
    err = refused(capsys, run, marker, before, code)
    assert f"the log asks for its test command 'touch {marker}'; pass --test-cmd" in err
    assert "--sandbox none" not in err


def test_retry_of_a_log_asking_for_no_sandbox_stops_and_writes_nothing(
    failed: Path, marker: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (failed / "events.jsonl").read_bytes()
    code = main(["retry", str(failed), "--script", str(script)])
    err = refused(capsys, failed, marker, before, code)
    assert "the log asks for --sandbox none (tests run unconfined on this machine)" in err


def test_retry_with_trust_log_runs_what_the_log_records(
    failed: Path, marker: Path, script: Path
) -> None:
    assert main(["retry", str(failed), "--trust-log", "--script", str(script)]) == 0
    assert marker.exists()


def test_fork_of_a_log_asking_for_no_sandbox_stops_before_writing(
    failed: Path, marker: Path, script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (failed / "events.jsonl").read_bytes()
    out = tmp_path / "fork"
    at = str(review_started(failed) - 1)
    code = main(["fork", str(failed), "--at", at, "--run-dir", str(out), "--script", str(script)])
    err = refused(capsys, failed, marker, before, code)
    assert "the log asks for --sandbox none" in err
    assert not out.exists()


def test_fork_with_no_sandbox_and_the_command_allowed_runs_it(
    failed: Path, marker: Path, script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fork"
    at = str(review_started(failed) - 1)
    allow = ["--sandbox", "none", "--test-cmd", f"touch {marker}"]
    args = ["fork", str(failed), "--at", at, "--run-dir", str(out), *allow]
    assert main([*args, "--script", str(script)]) == 0
    assert marker.exists()


@needs_bwrap
def test_a_fork_confines_a_log_that_asked_for_no_sandbox_and_records_it(
    failed: Path, marker: Path, script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fork"
    at = str(review_started(failed) - 1)
    allow = ["--sandbox", "bwrap", "--test-cmd", f"touch {marker}"]
    args = ["fork", str(failed), "--at", at, "--run-dir", str(out), *allow]
    assert main([*args, "--script", str(script)]) == 0
    assert not marker.exists()  # it ran, in the sandbox's own view of the file system
    (marked,) = of_type(out, Forked)
    assert marked.config is not None and marked.config.sandbox == "bwrap"
    assert [ev.sandbox for ev in of_type(out, TestsRan)] == ["bwrap"]


def test_approve_of_a_log_asking_for_no_sandbox_records_no_decision(
    recorded: Path, tmp_path: Path, marker: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = killed(forged(recorded, tmp_path / "gated", marker, approve=("code",)))
    allow = ["--sandbox", "none", "--test-cmd", f"touch {marker}"]
    assert main(["resume", str(run), *allow, "--script", str(script)]) == 3  # parks
    capsys.readouterr()
    before = (run / "events.jsonl").read_bytes()
    code = main(["approve", str(run), "--script", str(script)])
    err = refused(capsys, run, marker, before, code)
    assert "the log asks for --sandbox none" in err
    assert main(["approve", str(run), *allow, "--script", str(script)]) == 0
    assert marker.exists()


def test_the_python_api_takes_the_same_consent(stopped: Path, marker: Path) -> None:
    before = (stopped / "events.jsonl").read_bytes()

    def model() -> ScriptedModel:
        return ScriptedModel({"review": [answer(APPROVE)]})

    with pytest.raises(LogAsksMore, match="--sandbox none"):
        Supervisor.resume(stopped, model=model())
    with pytest.raises(LogAsksMore, match="its test command"):
        Supervisor.resume(stopped, model=model(), sandbox="none")
    assert (stopped / "events.jsonl").read_bytes() == before
    assert not marker.exists()
    result = Supervisor.resume(stopped, model=model(), sandbox="none", test_cmd=f"touch {marker}")
    assert result.ok and marker.exists()


def test_fork_in_python_needs_the_same_consent(failed: Path, marker: Path, tmp_path: Path) -> None:
    model = ScriptedModel({"review": [answer(APPROVE)]})
    at = review_started(failed) - 1
    with pytest.raises(LogAsksMore, match="--sandbox none"):
        fork(failed, at=at, new_run_dir=tmp_path / "fork", model=model)
    assert not (tmp_path / "fork").exists() and not marker.exists()
    result = fork(failed, at=at, new_run_dir=tmp_path / "fork", model=model, trust_log=True)
    assert result.ok and marker.exists()


def test_a_batch_resumes_a_foreign_run_only_with_its_own_consent(
    stopped: Path, marker: Path, script: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    run = Path(shutil.move(stopped, runs / "a"))
    before = (run / "events.jsonl").read_bytes()
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "task": "greet with hi"}) + "\n")
    batch = ["batch", str(tasks), "--runs-dir", str(runs), "--script", str(script), "--json"]
    assert main(batch) == 1
    assert not marker.exists()
    assert (run / "events.jsonl").read_bytes() == before
    own = {"id": "a", "task": "greet with hi", "test_cmd": f"touch {marker}"}
    tasks.write_text(json.dumps(own) + "\n")
    assert main([*batch, "--sandbox", "none"]) == 0
    assert marker.exists()


def test_replay_runs_no_command_the_log_names(tmp_path: Path, marker: Path) -> None:
    run = forged(record(tmp_path / "honest", answer(APPROVE)), tmp_path / "foreign", marker)
    report = replay(run)  # the recording has no test run where the forged config asks one
    assert not marker.exists()
    assert not report.ok  # the review request it recorded had no such test run
