"""Where a run may go: a new or empty directory only; bad paths and task files are input errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import cli, write_script

from actors.cli import main


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return write_script(tmp_path / "script.json")


def _run(script: Path, run_dir: Path, *extra: str) -> int:
    return main(["run", "task", "--script", str(script), "--run-dir", str(run_dir), *extra])


def test_a_run_into_a_directory_holding_other_files_is_refused_untouched(
    tmp_path: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "project"
    (mine / "files").mkdir(parents=True)
    (mine / "files" / "keep.py").write_text("precious\n")
    (mine / "plan.json").write_text("{}\n")
    assert _run(script, mine) == 2
    assert "is not empty" in capsys.readouterr().err
    assert (mine / "files" / "keep.py").read_text() == "precious\n"
    assert (mine / "plan.json").read_text() == "{}\n"
    assert not (mine / "events.jsonl").exists()


def test_a_run_into_an_existing_run_points_to_resume_and_fork(
    tmp_path: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert _run(script, run) == 0
    before = (run / "events.jsonl").read_bytes()
    capsys.readouterr()
    assert _run(script, run) == 2
    err = capsys.readouterr().err
    assert f"agentlog resume {run}" in err and f"agentlog fork {run}" in err
    assert (run / "events.jsonl").read_bytes() == before


def test_a_run_into_an_empty_directory_is_fine(tmp_path: Path, script: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert _run(script, tmp_path / "empty") == 0


def test_a_fork_into_a_directory_holding_other_files_is_refused(
    tmp_path: Path, script: Path
) -> None:
    assert _run(script, tmp_path / "run") == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    fork = ["fork", str(tmp_path / "run"), "--at", "3", "--run-dir", str(tmp_path / "other")]
    assert main([*fork, "--script", str(script)]) == 2
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["notes.txt"]


def test_a_run_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path, script: Path) -> None:
    (tmp_path / "afile").write_text("x")
    commands: list[list[str | Path]] = [
        ["run", "t", "--script", script, "--run-dir", tmp_path / "afile"],
        ["run", "t", "--script", script, "--run-dir", tmp_path / "afile" / "run"],
        ["log", tmp_path / "afile" / "run"],
    ]
    for command in commands:
        done = cli(*command)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert (tmp_path / "afile").read_text() == "x"


def test_a_directory_named_events_jsonl_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "run" / "events.jsonl").mkdir(parents=True)
    done = cli("log", tmp_path / "run")
    assert done.returncode == 2
    assert "is a directory, not an event log" in done.stderr


def test_a_task_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path, script: Path) -> None:
    (tmp_path / "task.txt").write_bytes(b"write \xff\xfe a thing")
    done = cli("run", f"@{tmp_path / 'task.txt'}", "--script", script, "--run-dir", tmp_path / "r")
    assert done.returncode == 2
    assert "not UTF-8" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["project", "resume", "retry"])
@pytest.mark.parametrize("content", [b"", None], ids=["empty file", "a copied log"])
def test_a_writing_command_on_a_log_file_not_named_events_jsonl_leaves_its_directory_alone(
    tmp_path: Path, script: Path, command: str, content: bytes | None
) -> None:
    assert _run(script, tmp_path / "run") == 0
    mine = tmp_path / "mine"
    (mine / "files").mkdir(parents=True)
    (mine / "files" / "keep.py").write_text("precious\n")
    (mine / "plan.json").write_text("{}\n")
    log = mine / "notes.jsonl"
    log.write_bytes(
        (tmp_path / "run" / "events.jsonl").read_bytes() if content is None else content
    )
    done = cli(command, log)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not a run's events.jsonl" in done.stderr
    assert sorted(p.name for p in mine.rglob("*")) == [
        "files",
        "keep.py",
        "notes.jsonl",
        "plan.json",
    ]
    assert (mine / "plan.json").read_text() == "{}\n"
