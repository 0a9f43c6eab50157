"""Replay, resume and fork of a workspace run use the recorded base, never the live tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest
from _repo import EDIT_APP, FIX_TEST, make_repo, needs_git
from _workflow import kinds

from actors import Supervisor, fork, replay
from actors.cli import main
from actors.models import ScriptedModel
from actors.workspace.apply import run_change
from events import WorkflowConfig
from store import EventLog, WorkflowFold, check_projections, render_diff

pytestmark = needs_git

CHANGES = {"verdict": "request_changes", "summary": "fix the test", "comments": []}
APPROVE = {"verdict": "approve", "summary": "ok"}
PLAN = {
    "summary": "hi",
    "steps": [{"title": "t", "description": "d", "files": ["src/app.py", "tests/test_app.py"]}],
}
CONFIG = WorkflowConfig(
    backoff_base=0,
    step_timeout=20,
    max_revisions=1,
    test_cmd="python -m pytest -q -p no:cacheprovider",
)


def model() -> ScriptedModel:
    return ScriptedModel(
        {
            "plan": [{"tool_input": PLAN}],
            "code": [{"tool_input": EDIT_APP}, {"tool_input": FIX_TEST}],
            "review": [{"tool_input": CHANGES}, {"tool_input": APPROVE}],
        }
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-round run (its tests run twice) whose workspace was deleted afterwards."""
    tmp = tmp_path_factory.mktemp("durable")
    repo = make_repo(tmp / "repo")
    run = tmp / "run"
    assert Supervisor(CONFIG, model=model()).run("greet with hi", run, workspace=repo).ok
    shutil.rmtree(repo)
    return run


@pytest.fixture
def gone(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded run for one test."""
    return Path(shutil.copytree(recorded, tmp_path / "run", symlinks=True))


def test_the_revision_round_builds_on_the_first_change(gone: Path) -> None:
    _, result, _ = run_change(gone)
    assert "'hi x'" in result.text("tests/test_app.py")
    assert 'return "hi "' in result.text("src/app.py")
    first = render_diff(run_change(gone, round=0)[2])
    assert "tests/test_app.py" not in first


def test_the_tests_ran_against_the_changed_tree(gone: Path) -> None:
    from events import TestsRan

    runs = [ev for ev in EventLog(gone).read() if isinstance(ev, TestsRan)]
    assert [r.exit_code == 0 for r in runs] == [False, True]
    assert runs[0].command == ("sh", "-c", CONFIG.test_cmd)


def test_replay_needs_no_workspace(gone: Path) -> None:
    report = replay(gone)
    assert report.ok, report.verdict


def test_fork_continues_from_the_recorded_base(gone: Path, tmp_path: Path) -> None:
    events = list(EventLog(gone).read())
    at = next(ev.seq for ev in events if type(ev).__name__ == "PlanProduced")
    untested = msgspec.structs.replace(CONFIG, test_cmd="")  # the fork runs no tests
    result = fork(gone, at=at, new_run_dir=tmp_path / "fork", model=model(), config=untested)
    assert result.ok
    shutil.rmtree(gone)  # the fork keeps its own objects
    assert render_diff(run_change(tmp_path / "fork")[2]) != ""
    assert replay(tmp_path / "fork").ok


def test_resume_finishes_a_killed_run_from_the_recorded_base(gone: Path, tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    killed.mkdir()
    lines = (gone / "events.jsonl").read_bytes().splitlines(keepends=True)
    cut = kinds(gone).index("CodeProduced") + 1  # killed right after the first change
    (killed / "events.jsonl").write_bytes(b"".join(lines[:cut]))
    shutil.copytree(gone / "objects", killed / "objects")
    result = Supervisor.resume(killed, model=model(), test_cmd=CONFIG.test_cmd)  # its command
    assert result.ok
    assert (killed / "files" / "src" / "app.py").read_text() == (
        gone / "files" / "src" / "app.py"
    ).read_text()


def test_resume_after_a_file_request_neither_asks_nor_records_it_twice(tmp_path: Path) -> None:
    def reading_model() -> ScriptedModel:
        return ScriptedModel(
            {
                "plan": [{"tool_input": PLAN}],
                "code": [{"tool_input": {"read_files": ["README.md"]}}, {"tool_input": EDIT_APP}],
                "review": [{"tool_input": APPROVE}],
            }
        )

    repo = make_repo(tmp_path / "repo")
    whole = tmp_path / "whole"
    config = WorkflowConfig(backoff_base=0, step_timeout=20)
    assert Supervisor(config, model=reading_model()).run("hi", whole, workspace=repo).ok
    shutil.rmtree(repo)
    killed = tmp_path / "killed"
    killed.mkdir()
    lines = (whole / "events.jsonl").read_bytes().splitlines(keepends=True)
    cut = kinds(whole).index("FilesRequested") + 1  # died before the second call
    (killed / "events.jsonl").write_bytes(b"".join(lines[:cut]))
    shutil.copytree(whole / "objects", killed / "objects")
    rest = ScriptedModel(  # what the killed run had not asked yet
        {"code": [{"tool_input": EDIT_APP}], "review": [{"tool_input": APPROVE}]}
    )
    assert Supervisor.resume(killed, model=rest).ok
    assert len(rest.calls) == 2  # the second code call and the review; nothing asked twice
    assert kinds(killed) == kinds(whole)
    assert replay(killed).ok


@pytest.mark.parametrize(
    "failed_call",
    [
        pytest.param({"error": {"kind": "rate_limit", "message": "429"}}, id="first-call-429"),
        pytest.param({"error": {"kind": "server_error", "message": "529"}}, id="first-call-529"),
        pytest.param(
            {"error": {"kind": "timeout", "message": "timed out"}}, id="first-call-timeout"
        ),
    ],
)
def test_replay_reproduces_a_model_call_that_failed_without_an_answer(
    failed_call: dict[str, object], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    failing = ScriptedModel(
        {
            "plan": [failed_call, {"tool_input": PLAN}],
            "code": [{"tool_input": EDIT_APP}],
            "review": [{"tool_input": APPROVE}],
        }
    )
    config = WorkflowConfig(backoff_base=0, step_timeout=20)
    assert Supervisor(config, model=failing).run("hi", run, workspace=repo).ok
    assert kinds(run)[1:4] == ["StepStarted", "ContextPacked", "StepFailed"]
    report = replay(run)
    assert report.ok, report.verdict


def test_replay_reproduces_a_call_that_failed_after_a_file_request(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    failing = ScriptedModel(
        {
            "plan": [{"tool_input": PLAN}],
            "code": [
                {"tool_input": {"read_files": ["README.md"]}},
                {"error": {"kind": "overloaded", "message": "529"}},
                {"tool_input": EDIT_APP},
            ],
            "review": [{"tool_input": APPROVE}],
        }
    )
    config = WorkflowConfig(backoff_base=0, step_timeout=20)
    assert Supervisor(config, model=failing).run("hi", run, workspace=repo).ok
    at = kinds(run).index("FilesRequested")
    assert kinds(run)[at + 1] == "StepFailed"
    report = replay(run)
    assert report.ok, report.verdict


def test_a_workspace_runs_files_are_its_base_from_the_start(tmp_path: Path) -> None:
    """One rule for the supervisor and `project`: files/ holds the base before any change."""
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    gated = WorkflowConfig(backoff_base=0, step_timeout=20, approve=("plan",))
    result = Supervisor(gated, model=model()).run("hi", run, workspace=repo)
    assert result.status == "waiting"
    assert (run / "files" / "src" / "app.py").read_bytes() == (repo / "src" / "app.py").read_bytes()
    assert check_projections(run, EventLog(run).read()) == []
    assert main(["verify", str(run)]) == 0


def test_the_fold_of_a_workspace_run_survives_a_dump_anywhere(recorded: Path) -> None:
    events = list(EventLog(recorded).read())
    whole = WorkflowFold().extend(events)
    for cut in range(len(events) + 1):
        resumed = WorkflowFold.load(WorkflowFold().extend(events[:cut]).dump()).extend(events[cut:])
        assert resumed.snapshot() == whole.snapshot(), cut
        assert resumed.artifact_events() == whole.artifact_events(), cut
