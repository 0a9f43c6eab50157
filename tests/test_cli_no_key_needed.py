"""A key is asked for only when a model call is about to be made; input is checked first.

Every test runs with no ``ANTHROPIC_API_KEY`` (nor a token, base URL or script) in the
environment, as for someone who has not set one up yet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import write_script

from actors.cli import main
from store import EventLog, workflow_state

NO_KEY = "no API key"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "AGENTLOG_SCRIPT",
        "CONVEX_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_run_names_a_missing_workspace_not_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["run", "t", "--workspace", str(missing), "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"--workspace {missing}: not a directory" in err
    assert NO_KEY not in err


def test_run_names_a_used_run_directory_not_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    assert main(["run", "t", "--run-dir", str(used)]) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "notes.txt" in err
    assert NO_KEY not in err
    assert sorted(p.name for p in used.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--max-revisions", "-1", "--max-revisions -1: must be a whole number, 0 or more"),
        ("--max-retries", "-2", "--max-retries -2: must be a whole number, 0 or more"),
        ("--step-timeout", "0", "--step-timeout 0.0: must be a number above 0"),
        ("--max-tokens", "0", "--max-tokens 0: must be a whole number above 0"),
    ],
)
def test_a_number_out_of_range_is_one_line_in_our_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, says: str
) -> None:
    assert main(["run", "t", "--run-dir", str(tmp_path / "r"), flag, value]) == 2
    err = capsys.readouterr().err
    assert err == f"agentlog: {says}\n"
    assert not (tmp_path / "r").exists()


def test_reject_needs_no_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = write_script(tmp_path / "s.json")
    run_dir = tmp_path / "run"
    argv = ["run", "t", "--script", str(script), "--model", "claude-sonnet-5-5"]
    assert main([*argv, "--run-dir", str(run_dir), "--approve", "plan"]) == 3
    capsys.readouterr()
    assert main(["reject", str(run_dir), "--comment", "wrong approach"]) == 1
    assert NO_KEY not in capsys.readouterr().err
    assert workflow_state(EventLog(run_dir).read()).status == "failed"


def _tasks(tmp_path: Path) -> Path:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "".join(json.dumps({"id": f"t{n}", "task": f"task {n}"}) + "\n" for n in range(2))
    )
    return tasks


def test_a_batch_whose_runs_all_ended_needs_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path / "s.json")
    runs = tmp_path / "runs"
    argv = ["batch", str(_tasks(tmp_path)), "--runs-dir", str(runs)]
    assert main([*argv, "--script", str(script)]) == 0
    before = {p: p.read_bytes() for p in runs.glob("*/events.jsonl")}
    capsys.readouterr()
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert NO_KEY not in err
    assert out.count("skipped") == 2
    assert {p: p.read_bytes() for p in runs.glob("*/events.jsonl")} == before


def test_a_batch_checks_its_tasks_file_before_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "one"}\n{"id": "b"}\n')
    assert main(["batch", str(tasks), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert f"{tasks}:2" in err
    assert NO_KEY not in err


def test_a_batch_with_a_run_to_start_asks_for_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    assert main(["batch", str(_tasks(tmp_path)), "--runs-dir", str(runs)]) == 2
    assert NO_KEY in capsys.readouterr().err
    assert not list(runs.glob("*/events.jsonl"))


def test_fork_names_a_used_run_directory_not_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path / "s.json")
    run_dir = tmp_path / "run"
    argv = ["run", "t", "--script", str(script), "--model", "claude-sonnet-5-5"]
    assert main([*argv, "--run-dir", str(run_dir)]) == 0
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["fork", str(run_dir), "--at", "3", "--run-dir", str(used)]) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and NO_KEY not in err
