"""``agentlog eval``: task sets with hidden checks, run as a batch, checked after each run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _batch import FAST_CONFIG, HAPPY_BY_TOOL, api_env
from _workflow import APPROVE, CODE, PLAN
from fake_anthropic import FakeAnthropic

from actors.batch import BatchInputError, ModelSpec
from actors.cli import main
from actors.eval import Evaluation, load_eval_tasks
from events import CheckRan, WorkflowCompleted
from store import EventLog, workflow_state

PASSING = "python -c \"from hello import hello; assert hello('x') == 'hello x'\""
FAILING = "python -c \"from hello import hello; assert hello('x') == 'hi x'\""


def _tasks(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def _task(id: str, check: str, **more: Any) -> dict[str, Any]:
    return {"id": id, "task": "write hello(name)", "check": check, "config": FAST_CONFIG, **more}


def _script(tmp_path: Path, code: dict[str, Any] = CODE) -> ModelSpec:
    path = tmp_path / "script.json"
    answers = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": code}]}
    path.write_text(json.dumps({**answers, "review": [{"tool_input": APPROVE}]}), "utf-8")
    return ModelSpec(script=str(path))


def _events(run: Path) -> list[Any]:
    return list(EventLog(run).read())


def test_each_run_is_checked_and_the_outcome_logged_after_the_run(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING), _task("bad", FAILING))
    outcomes = Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    assert {o.id: o.passed for o in outcomes} == {"good#1": True, "bad#1": False}
    for name in ("good#1", "bad#1"):
        events = _events(tmp_path / "runs" / name)
        assert type(events[-2]) is WorkflowCompleted and type(events[-1]) is CheckRan
        assert workflow_state(events).status == "completed"
    bad = _events(tmp_path / "runs" / "bad#1")[-1]
    assert (bad.task_id, bad.sample, bad.exit_code, bad.command) == ("bad", 1, 1, FAILING)


def test_a_second_evaluation_checks_nothing_again(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING))
    Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    log = tmp_path / "runs" / "good#1" / "events.jsonl"
    before = log.read_bytes()
    again = Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    assert [(o.run.action, o.check_action, o.passed) for o in again] == [
        ("skipped", "skipped", True)
    ]
    assert log.read_bytes() == before


def test_a_run_that_ended_unchecked_is_checked_by_the_next_evaluation(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING))
    Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    log = tmp_path / "runs" / "good#1" / "events.jsonl"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))  # no check
    again = Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    assert [(o.run.action, o.check_action, o.passed) for o in again] == [
        ("skipped", "checked", True)
    ]


def test_samples_run_each_task_k_times_as_id_hash_k(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING))
    outcomes = Evaluation(tasks, tmp_path / "runs", samples=3, model=_script(tmp_path)).run()
    assert sorted((o.id, o.sample, o.passed) for o in outcomes) == [
        ("good#1", 1, True),
        ("good#2", 2, True),
        ("good#3", 3, True),
    ]


def test_the_check_runs_on_the_change_applied_to_a_fresh_copy_of_the_workspace(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hello.py").write_text("def hello(name):\n    return 'no'\n", "utf-8")
    (repo / "test_hidden.py").write_text(
        "from hello import hello\nassert hello('x') == 'hello x'\n", "utf-8"
    )
    edit = {"op": "edit", "path": "hello.py", "search": "'no'", "replace": "f'hello {name}'"}
    change = {"changes": [edit], "notes": "greets"}
    tasks = _tasks(
        tmp_path / "tasks.jsonl",
        _task("ws", "python test_hidden.py", workspace=str(repo)),
    )
    [outcome] = Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path, change)).run()
    assert outcome.passed, outcome.check
    assert (repo / "hello.py").read_text("utf-8") == "def hello(name):\n    return 'no'\n"


_COPIES: list[tuple[str, str]] = []
_HOOKED: list[bool] = []


def _record_copies(event: str, args: tuple[Any, ...]) -> None:
    if event == "shutil.copytree":
        _COPIES.append((str(args[0]), str(args[1])))


@pytest.fixture
def copies() -> list[tuple[str, str]]:
    """The ``(src, dst)`` of every ``shutil.copytree`` from now on (an audit hook: it only
    observes, and stays for the life of the process)."""
    if not _HOOKED:
        sys.addaudithook(_record_copies)
        _HOOKED.append(True)
    _COPIES.clear()
    return _COPIES


def test_the_changed_copy_is_checked_where_it_is_without_a_second_copy(
    tmp_path: Path, copies: list[tuple[str, str]]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hello.py").write_text("def hello(name):\n    return 'no'\n", "utf-8")
    edit = {"op": "edit", "path": "hello.py", "search": "'no'", "replace": "f'hello {name}'"}
    change = {"changes": [edit], "notes": "greets"}
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("ws", PASSING, workspace=str(repo)))
    [outcome] = Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path, change)).run()
    assert outcome.passed, outcome.check
    assert [src for src, _ in copies if src == str(repo)] == [str(repo)]
    assert not [src for src, _ in copies if "agentlog-check-" in src]


def test_a_workspace_at_a_commit_is_checked_out_for_the_runs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "marker.txt").write_text("old\n", "utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "old"], check=True)
    old = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    (repo / "marker.txt").write_text("new\n", "utf-8")
    subprocess.run([*git, "commit", "-qam", "new"], check=True)
    check = "grep -q old marker.txt"
    row = _task("old", check, workspace=str(repo), commit=old.strip())
    tasks = _tasks(tmp_path / "tasks.jsonl", row)
    [outcome] = Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    assert outcome.passed, outcome.check


def test_the_model_never_sees_the_check(
    fake_anthropic: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_anthropic.answer_by_tool(HAPPY_BY_TOOL)
    for name, value in api_env(fake_anthropic).items():
        monkeypatch.setenv(name, value)
    secret = "python -c 'import hello' # HIDDEN-CHECK-7f3a"
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("t", secret))
    [outcome] = Evaluation(tasks, tmp_path / "runs").run()
    assert outcome.passed
    assert fake_anthropic.requests and not any(
        "HIDDEN-CHECK-7f3a" in json.dumps(request.body) for request in fake_anthropic.requests
    )
    lines = (tmp_path / "runs" / "t#1" / "events.jsonl").read_bytes().splitlines()
    assert [b"HIDDEN-CHECK-7f3a" in line for line in lines].index(True) == len(lines) - 1
    assert type(_events(tmp_path / "runs" / "t#1")[-1]) is CheckRan


def test_a_task_without_a_check_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"id": "a", "task": "x", "check": "true"}\n{"id": "b", "task": "y"}\n')
    with pytest.raises(BatchInputError, match=r"tasks.jsonl:2: .*check"):
        load_eval_tasks(path)


def test_the_command_prints_each_sample_and_exits_1_when_a_check_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING), _task("bad", FAILING))
    script = _script(tmp_path).script
    assert script is not None
    argv = ["eval", str(tasks), "--runs-dir", str(tmp_path / "runs"), "--script", script]
    assert main([*argv, "--json"]) == 1
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert (rows["good#1"]["passed"], rows["bad#1"]["passed"]) == (True, False)


def test_the_timeline_shows_the_check_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("bad", FAILING))
    Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    assert main(["log", str(tmp_path / "runs" / "bad#1")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert "CheckRan" in last and "hidden check of bad#1 failed (exit 1)" in last


def test_an_evaluation_whose_runs_all_ended_needs_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING))
    Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AGENTLOG_SCRIPT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["eval", str(tasks), "--runs-dir", str(tmp_path / "runs"), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["check_action"], row["passed"]) == ("skipped", True)


def test_an_evaluation_with_a_run_to_start_asks_for_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AGENTLOG_SCRIPT"):
        monkeypatch.delenv(name, raising=False)
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING))
    assert main(["eval", str(tasks), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "no API key" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "good#1").exists()


def test_a_run_whose_log_another_process_writes_is_left_unchecked_for_the_next_evaluation(
    tmp_path: Path,
) -> None:
    tasks = _tasks(tmp_path / "tasks.jsonl", _task("good", PASSING), _task("bad", FAILING))
    Evaluation(tasks, tmp_path / "runs", model=_script(tmp_path)).run()
    for name in ("good#1", "bad#1"):  # as if stopped between the runs and their checks
        log = tmp_path / "runs" / name / "events.jsonl"
        log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path / "runs" / "good#1")],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        outcomes = {o.id: o for o in Evaluation(tasks, tmp_path / "runs").run()}
    finally:
        holder.communicate(b"\n")
    assert outcomes["good#1"].check_action == "unchecked"
    assert "not checked" in (outcomes["good#1"].problem or "")
    assert (outcomes["bad#1"].check_action, outcomes["bad#1"].passed) == ("checked", False)
    again = Evaluation(tasks, tmp_path / "runs").run()
    assert {o.id: o.check_action for o in again} == {"good#1": "checked", "bad#1": "skipped"}


#: Holds a run's log open for writing until a line arrives on stdin.
_HOLD = """
import sys
from store import EventLog
writer = EventLog(sys.argv[1]).writer()
print("locked", flush=True)
sys.stdin.readline()
writer.close()
"""
