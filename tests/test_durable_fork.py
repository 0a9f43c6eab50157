"""Fork: a new run sharing a completed run's first events, continued live; the source untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CHANGES, CODE, FAST, answer, scripted

from actors import Supervisor, WorkflowResult, fork, replay
from actors.models import ScriptedModel
from events import (
    AgentlogError,
    CodeProduced,
    Forked,
    PlanProduced,
    ReviewProduced,
    StepStarted,
    WorkflowCompleted,
    WorkflowStarted,
)
from store import EventLog, workflow_state

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
TASK = "add a greeting module"
REVISING = msgspec.structs.replace(FAST, max_revisions=1)


def revising_model() -> ScriptedModel:
    return scripted(code=[answer(CODE), answer(CODE)], review=[answer(CHANGES), answer(APPROVE)])


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


def boundaries(run_dir: Path) -> list[int]:
    """Every seq after which one step ended and the next had not started."""
    events = list(EventLog(run_dir).read())
    return [
        ev.seq
        for ev in events
        if isinstance(ev, WorkflowStarted | PlanProduced | CodeProduced | ReviewProduced)
    ]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("source") / "run"
    Supervisor(REVISING, model=revising_model()).run(TASK, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def forks(
    source: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]]:
    """Fork ``source`` at each step boundary (always approving); the source before/after."""
    before = snapshot(source)
    root = tmp_path_factory.mktemp("forks")
    made: dict[int, tuple[Path, WorkflowResult]] = {}
    for at in boundaries(source):
        out = root / f"at-{at}"
        made[at] = (out, fork(source, at=at, new_run_dir=out, model=scripted()))
    return before, made, snapshot(source)


def test_the_source_run_has_a_boundary_before_and_after_every_step(source: Path) -> None:
    assert len(boundaries(source)) == 6  # start, plan, code, review, code r1, review r1


def test_a_fork_at_each_step_boundary_completes(
    forks: tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]],
) -> None:
    _, made, _ = forks
    for at, (_, result) in made.items():
        assert result.status == "completed", at
        assert result.verdict == "approve", at


def test_a_fork_at_each_step_boundary_is_a_valid_log(
    forks: tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]],
) -> None:
    _, made, _ = forks
    for at, (out, _) in made.items():
        report = EventLog(out).verify()
        assert report.ok, (at, report.reason)
        events = list(EventLog(out).read())
        assert isinstance(events[at], Forked) and events[at].at_seq == at
        assert isinstance(events[-1], WorkflowCompleted)


def test_a_fork_shares_the_source_lines_byte_for_byte(
    source: Path,
    forks: tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]],
) -> None:
    _, made, _ = forks
    lines = (source / "events.jsonl").read_bytes().splitlines(keepends=True)
    for at, (out, _) in made.items():
        assert (out / "events.jsonl").read_bytes().startswith(b"".join(lines[:at])), at


def test_forking_leaves_the_source_byte_identical(
    forks: tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]],
) -> None:
    before, _, after = forks
    assert after == before


def test_a_fork_gets_a_new_workflow_id_naming_its_source(
    source: Path,
    forks: tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]],
) -> None:
    _, made, _ = forks
    origin = workflow_state(EventLog(source).read()).workflow_id
    for at, (out, result) in made.items():
        marker = list(EventLog(out).read())[at]
        assert isinstance(marker, Forked)
        assert result.workflow_id != origin
        assert (marker.source_workflow_id, marker.source) == (origin, str(source))


def test_a_fork_at_each_step_boundary_replays_identically(
    forks: tuple[dict[str, bytes], dict[int, tuple[Path, WorkflowResult]], dict[str, bytes]],
) -> None:
    _, made, _ = forks
    for at, (out, _) in made.items():
        report = replay(out)
        assert report.ok, (at, report.verdict)


def test_a_fork_with_a_new_task_asks_the_model_with_it(source: Path, tmp_path: Path) -> None:
    model = scripted()
    fork(source, at=1, new_run_dir=tmp_path / "f", task="a farewell module", model=model)
    assert "a farewell module" in str(model.calls[0].messages)
    assert workflow_state(EventLog(tmp_path / "f").read()).task == "a farewell module"


def test_a_fork_with_fewer_revisions_stops_at_the_first_review(
    source: Path, tmp_path: Path
) -> None:
    at = boundaries(source)[3]  # after the first review asked for changes
    no_revisions = msgspec.structs.replace(REVISING, max_revisions=0)
    result = fork(source, at=at, new_run_dir=tmp_path / "f", config=no_revisions, model=scripted())
    assert (result.status, result.verdict) == ("completed", "request_changes")


def test_fork_cli_applies_max_revisions_and_records_it(source: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_bytes(msgspec.json.encode({"code": [answer(CODE)], "review": [answer(APPROVE)]}))
    at = boundaries(source)[3]
    out = tmp_path / "f"
    done = cli(
        "fork", source, "--at", at, "--run-dir", out, "--script", script, "--max-revisions", 0
    )
    assert done.returncode == 0, done.stderr
    marker = list(EventLog(out).read())[at]
    assert isinstance(marker, Forked) and marker.config is not None
    assert marker.config.max_revisions == 0


def test_fork_cli_refuses_an_at_out_of_range(source: Path, tmp_path: Path) -> None:
    done = cli("fork", source, "--at", 999, "--run-dir", tmp_path / "f")
    assert done.returncode == 2
    assert "--at must be between 1 and" in done.stderr
    assert not (tmp_path / "f" / "events.jsonl").exists()


def test_fork_refuses_a_run_dir_that_holds_a_run(source: Path) -> None:
    with pytest.raises(AgentlogError, match="already holds a run"):
        fork(source, at=2, new_run_dir=source, model=scripted())


def test_a_fork_before_the_plan_starts_every_step_afresh(source: Path, tmp_path: Path) -> None:
    fork(source, at=1, new_run_dir=tmp_path / "f", model=scripted())
    starts = [ev.step for ev in EventLog(tmp_path / "f").read() if isinstance(ev, StepStarted)]
    assert starts == ["plan", "code", "review"]
