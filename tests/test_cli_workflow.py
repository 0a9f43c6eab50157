"""The ``agentlog`` command line: running workflows, reading runs, help and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from _workflow import APPROVE, CODE, KEY, PLAN, answer, error, kinds
from fake_anthropic import FakeAnthropic

from actors.cli import build_parser, main

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no key, no base URL and no script in the environment."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "AGENTLOG_SCRIPT",
        "CONVEX_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def demo_run(shared_demo: tuple[Path, int, str]) -> tuple[Path, int, str]:
    """One ``agentlog demo`` run (it runs tests twice, so it is shared): dir, exit, stdout."""
    return shared_demo


@pytest.fixture
def corrupted(demo_run: tuple[Path, int, str], tmp_path: Path) -> Path:
    """A copy of the demo run with one byte of its third line changed."""
    run_dir = tmp_path / "corrupted"
    run_dir.mkdir()
    lines = (demo_run[0] / "events.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"seq":3', b'"seq":9', 1)
    (run_dir / "events.jsonl").write_bytes(b"".join(lines))
    return run_dir


def write_script(path: Path, **steps: list[dict[str, object]]) -> Path:
    script = {
        "plan": steps.get("plan", [answer(PLAN)]),
        "code": steps.get("code", [answer(CODE)]),
        "review": steps.get("review", [answer(APPROVE)]),
    }
    path.write_text(json.dumps(script))
    return path


# -- run ---------------------------------------------------------------------------------


def test_run_without_an_api_key_explains_and_exits_2(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "write a greeting", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "ANTHROPIC_API_KEY" in err
    assert "agentlog demo" in err
    assert not (run_dir / "events.jsonl").exists()


def test_run_with_a_script_works_offline(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path / "script.json")
    code = main(["run", "write a greeting", "--run-dir", str(run_dir), "--script", str(script)])
    assert code == 0
    assert "completed: verdict approve" in capsys.readouterr().out
    assert (run_dir / "files" / "hello.py").is_file()


def test_run_reads_the_task_from_a_file(run_dir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json")
    (tmp_path / "task.txt").write_text("  greet the world\n")
    main(["run", f"@{tmp_path / 'task.txt'}", "--run-dir", str(run_dir), "--script", str(script)])
    assert "greet the world" in (run_dir / "events.jsonl").read_text()


def test_run_exits_1_when_the_workflow_fails(run_dir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json", plan=[error("auth")])
    assert main(["run", "t", "--run-dir", str(run_dir), "--script", str(script)]) == 1
    assert kinds(run_dir)[-1] == "WorkflowFailed"


def test_run_exits_1_when_a_step_was_passed_over(run_dir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json", code=[error("bad_request")])
    args = ["run", "t", "--run-dir", str(run_dir), "--script", str(script), "--continue-on-error"]
    assert main(args) == 1
    assert kinds(run_dir)[-1] == "WorkflowCompleted"


def test_run_options_are_recorded_in_the_config(run_dir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json")
    options = ["--max-retries", "5", "--step-timeout", "7", "--max-revisions", "2"]
    main(["run", "t", "--run-dir", str(run_dir), "--script", str(script), *options])
    started = json.loads((run_dir / "events.jsonl").read_text().splitlines()[0])
    assert (started["config"]["max_retries"], started["config"]["step_timeout"]) == (5, 7.0)
    assert started["config"]["max_revisions"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--max-retries", "-1"],
        ["--step-timeout", "0"],
        ["--script", "/nonexistent/script.json"],
    ],
)
def test_run_with_bad_options_exits_2(
    run_dir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "t", "--run-dir", str(run_dir), *args]) == 2
    assert capsys.readouterr().err.startswith("agentlog: ")


def test_run_with_a_missing_task_file_exits_2(run_dir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json")
    args = ["run", "@/nonexistent/task.txt", "--run-dir", str(run_dir), "--script", str(script)]
    assert main(args) == 2


def test_run_into_a_used_run_dir_exits_2(run_dir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "script.json")
    args = ["run", "t", "--run-dir", str(run_dir), "--script", str(script)]
    main(args)
    assert main(args) == 2


def test_run_on_claude_honours_the_sdk_environment(
    fake_anthropic: FakeAnthropic, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.url)
    for tool_input in (PLAN, CODE, APPROVE):
        fake_anthropic.reply_tool_use(tool_input)
    assert main(["run", "write a greeting", "--run-dir", str(run_dir)]) == 0
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    assert len(fake_anthropic.requests) == 3


# -- demo --------------------------------------------------------------------------------


def test_demo_exits_0(demo_run: tuple[Path, int, str]) -> None:
    assert demo_run[1] == 0


def test_demo_writes_the_artifacts_and_files(demo_run: tuple[Path, int, str]) -> None:
    run_dir = demo_run[0]
    assert {p.name for p in run_dir.iterdir()} >= {
        "events.jsonl",
        "plan.json",
        "code.json",
        "review.json",
        "files",
    }
    assert {p.name for p in (run_dir / "files").iterdir()} == {"wordfreq.py", "test_wordfreq.py"}


def test_demo_review_approves(demo_run: tuple[Path, int, str]) -> None:
    run_dir, _, out = demo_run
    assert json.loads((run_dir / "review.json").read_text())["verdict"] == "approve"
    assert "completed: verdict approve" in out


# -- read commands -----------------------------------------------------------------------


def test_log_prints_one_line_per_event(
    demo_run: tuple[Path, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["log", str(demo_run[0])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(kinds(demo_run[0]))
    assert "WorkflowCompleted" in lines[-1]


def test_log_json_prints_the_events(
    demo_run: tuple[Path, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["log", str(demo_run[0] / "events.jsonl"), "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (first["seq"], first["type"]) == (1, "WorkflowStarted")


def test_show_prints_one_whole_event(
    demo_run: tuple[Path, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(demo_run[0]), "5"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert (event["seq"], event["type"]) == (5, "ModelCalled")
    assert event["content"][0]["type"] == "tool_use"


def test_verify_passes_an_intact_log(
    demo_run: tuple[Path, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(demo_run[0])]) == 0
    assert "ok" in capsys.readouterr().out


def test_project_rebuilds_identical_artifacts(
    demo_run: tuple[Path, int, str], tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(demo_run[0] / "events.jsonl", copy / "events.jsonl")
    assert main(["project", str(copy)]) == 0
    for name in ("plan.json", "code.json", "review.json", "files/wordfreq.py"):
        assert (copy / name).read_bytes() == (demo_run[0] / name).read_bytes()


@pytest.mark.parametrize("command", ["log", "show", "verify", "project", "stats"])
def test_read_command_on_a_missing_run_exits_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [command, str(tmp_path / "nope")] + (["1"] if command == "show" else [])
    assert main(args) == 2
    assert "no such event log" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["log", "show", "verify", "project"])
def test_read_command_on_a_corrupted_log_exits_1(
    command: str, corrupted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [command, str(corrupted)] + (["3"] if command == "show" else [])
    assert main(args) == 1
    assert ":3" in capsys.readouterr().err  # names the bad line


def test_file_that_is_no_log_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("hello, I am not a log\n")
    assert main(["log", str(tmp_path)]) == 2


@pytest.mark.parametrize("seq", ["0", "999"])
def test_show_of_a_seq_not_in_the_log_exits_2(demo_run: tuple[Path, int, str], seq: str) -> None:
    assert main(["show", str(demo_run[0]), seq]) == 2


# -- help --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_exits_0_with_an_example(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"] if command else ["--help"])
    assert exit_.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_unknown_command_is_bad_usage() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2


def test_console_script_runs() -> None:
    done = subprocess.run(["agentlog", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "example:" in done.stdout
