"""The small things a user meets in the first hour: version, stdin, flags, help, colour, widths."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path

import pytest
from _cli import CLI, cli, write_script
from _workflow import CHANGES, CODE, PLAN, answer

from actors.cli import main
from events import ModelCalled, StepFailed
from store import EventLog

LONG = "a summary far longer than any terminal line " * 8
USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "cache_creation_input_tokens": 3,
    "cache_read_input_tokens": 7,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with a retry, a long one-comment review and known token counts."""
    tmp = tmp_path_factory.mktemp("cuts")
    review = {**CHANGES, "summary": LONG}
    script = write_script(
        tmp / "s.json",
        plan=[{"error": {"kind": "overloaded"}}, {"tool_input": PLAN, "usage": USAGE}],
        code=[{"tool_input": CODE, "usage": USAGE}],
        review=[{"tool_input": review, "usage": USAGE}],
    )
    done = cli("run", "t", "--script", script, "--run-dir", tmp / "run")
    assert done.returncode == 0, done.stderr
    (tmp / "summary.txt").write_text(done.stdout)
    return tmp / "run"


def _on_a_terminal(*args: str | Path, env: dict[str, str] | None = None) -> str:
    """What ``agentlog ARGS`` writes to a terminal (a pty) 80 columns wide."""
    primary, secondary = pty.openpty()
    environ = {**os.environ, "COLUMNS": "80", "LINES": "24", **(env or {})}
    proc = subprocess.Popen(
        [*CLI, *map(str, args)], stdout=secondary, stderr=subprocess.PIPE, env=environ
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks).decode()


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"agentlog \d+\.\d+.*\n", capsys.readouterr().out)


def test_the_task_can_come_from_stdin(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json")
    done = cli("run", "-", "--script", script, "--run-dir", tmp_path / "r", input="from stdin\n")
    assert done.returncode == 0, done.stderr
    first = next(iter(EventLog(tmp_path / "r").read()))
    assert getattr(first, "task", None) == "from stdin"


def test_global_flags_are_accepted_after_the_command(run: Path) -> None:
    done = cli("log", run, "--log-format", "json", "--log-level", "debug")
    assert done.returncode == 0, done.stderr
    assert cli("--log-level", "debug", "log", run).returncode == 0


def test_type_filter_is_case_insensitive(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", str(run), "--type", "stepfailed", "--type", "MODELCALLED"]) == 0
    kinds = {line.split()[4] for line in capsys.readouterr().out.splitlines()}
    assert kinds == {"StepFailed", "ModelCalled"}


def test_a_bad_flag_shows_the_usage_of_its_command(run: Path) -> None:
    done = cli("log", run, "--frobnicate")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: agentlog log ")
    assert "--frobnicate" in done.stderr


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 3)" in text  # --max-retries, from WorkflowConfig
    assert "(default: 600.0)" in text  # --step-timeout
    assert "(default: warning)" in text  # --log-level


def test_colour_on_a_terminal_unless_no_color_is_set(run: Path) -> None:
    assert "\x1b[" in _on_a_terminal("log", run)
    assert "\x1b[" not in _on_a_terminal("log", run, env={"NO_COLOR": "1"})


def test_log_cuts_lines_only_on_a_terminal_and_not_when_wide(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = " ".join(LONG.split())
    assert main(["log", str(run)]) == 0  # piped: nothing cut
    assert whole in capsys.readouterr().out
    on_terminal = _on_a_terminal("log", run, env={"NO_COLOR": "1"})
    assert whole not in on_terminal
    assert all(len(line) <= 80 for line in on_terminal.splitlines())
    assert whole in _on_a_terminal("log", run, "--wide", env={"NO_COLOR": "1"}).replace("\r\n", "")


def test_stats_fits_80_columns(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("plan overloaded x1" in line for line in lines)


def test_timestamps_carry_a_date_and_a_zone(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", str(run)]) == 0
    for line in capsys.readouterr().out.splitlines():
        assert re.match(r"\s+\d+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  ", line), line


def test_one_comment_is_singular(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", str(run), "--type", "ReviewProduced"]) == 0
    out = capsys.readouterr().out
    assert "request_changes, 1 comment:" in out and "1 comments" not in out


def test_verify_and_log_agree_that_a_non_log_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("hello, I am not a log\n")
    assert main(["log", str(tmp_path)]) == 2
    assert main(["verify", str(tmp_path)]) == 2


def test_tokens_mean_the_same_in_the_summary_stats_and_the_log(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    per_call = sum(USAGE.values())
    calls = sum(isinstance(e, ModelCalled) for e in EventLog(run).read())
    assert main(["stats", str(run), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)[-1]
    assert total["tokens"] == calls * per_call == 3 * 130  # as Convex's totalTokens
    summary = (run.parent / "summary.txt").read_text()
    assert f", {calls * per_call:,} tokens," in summary


@pytest.mark.parametrize(
    "command",
    [
        ["log", "--json"],
        ["stats", "--json"],
        ["verify", "--json"],
        ["project", "--json"],
        ["replay", "--json"],
        ["show", "1"],
    ],
)
def test_data_commands_print_json(
    run: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command[0], str(run), *command[1:]]) == 0
    out = capsys.readouterr().out
    docs = (
        [json.loads(line) for line in out.splitlines()] if "\n{" in out[1:] else [json.loads(out)]
    )
    assert docs


def test_run_json_prints_the_outcome_only(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", code=[answer(CODE)])
    done = cli("run", "t", "--script", script, "--run-dir", tmp_path / "r", "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "completed" and outcome["files"] == ["hello.py", "pkg/util.py"]


def test_sync_with_a_convex_url_that_is_no_url_is_one_line_and_exit_2(run: Path) -> None:
    done = cli("sync", run, env={**os.environ, "CONVEX_URL": "my-deployment"})
    assert done.returncode == 2
    assert done.stderr.startswith("agentlog: CONVEX_URL 'my-deployment' is not an http(s) URL")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("argv", [["ls"], ["ui"], ["apply", "RUN", "--to"]], ids=" ".join)
def test_a_file_where_a_directory_is_expected_is_named_as_such(
    run: Path, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes\x1b[2J").write_text("mine")
    args = [str(run) if a == "RUN" else a for a in argv]
    assert main([*args, str(tmp_path / "notes\x1b[2J")]) == 2
    assert capsys.readouterr().err.endswith("notes\\u001b[2J: not a directory\n")
    missing = cli(*args, tmp_path / "nowhere")
    assert (missing.returncode, missing.stderr.count("\n")) == (2, 1)
    assert missing.stderr.endswith("nowhere: no such directory\n")


@pytest.fixture(scope="module")
def workspace_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace run whose Coder edits src/app.py and creates src/extra.py."""
    from _repo import EDIT_APP, PLAN_APP, make_repo

    tmp = tmp_path_factory.mktemp("ws")
    repo = make_repo(tmp / "repo")
    script = tmp / "s.json"
    script.write_text(
        json.dumps(
            {
                "plan": [answer(PLAN_APP)],
                "code": [answer(EDIT_APP)],
                "review": [answer({"verdict": "approve", "summary": "ok"})],
            }
        )
    )
    done = cli(
        "run", "t", "--workspace", repo, "--script", script, "--run-dir", tmp / "run", "--json"
    )
    assert done.returncode == 0, done.stderr
    (tmp / "outcome.json").write_text(done.stdout)
    return tmp / "run"


def test_no_color_is_honoured_by_diff_and_ls(workspace_run: Path) -> None:
    assert "\x1b[" in _on_a_terminal("diff", workspace_run)
    assert "\x1b[" in _on_a_terminal("ls", workspace_run.parent)
    assert "\x1b[" not in _on_a_terminal("diff", workspace_run, env={"NO_COLOR": "1"})
    assert "\x1b[" not in _on_a_terminal("ls", workspace_run.parent, env={"NO_COLOR": "1"})


def test_run_json_names_the_files_a_workspace_run_changed(workspace_run: Path) -> None:
    outcome = json.loads((workspace_run.parent / "outcome.json").read_text())
    assert outcome["files"] == ["src/app.py", "src/extra.py"]


def test_an_empty_change_reads_change_colon_space_0_files(tmp_path: Path) -> None:
    from _repo import PLAN_APP, make_repo

    repo = make_repo(tmp_path / "repo")
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps(
            {
                "plan": [answer(PLAN_APP)],
                "code": [answer({"changes": [], "notes": "nothing to do"})],
                "review": [answer({"verdict": "approve", "summary": "ok"})],
            }
        )
    )
    done = cli("run", "t", "--workspace", repo, "--script", script, "--run-dir", tmp_path / "r")
    assert done.returncode == 0, done.stderr
    assert "\nchange: 0 files changed\n" in done.stdout


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["lgo"], "agentlog: unknown command 'lgo' (did you mean 'log'?)"),
        (
            ["--log-level", "debug", "shwo", "x"],
            "agentlog: unknown command 'shwo' (did you mean 'show'?)",
        ),
        (
            ["frobnicate"],
            "agentlog: unknown command 'frobnicate' (`agentlog --help` lists the commands)",
        ),
    ],
    ids=["lgo", "after-a-global-flag", "nothing-close"],
)
def test_a_mistyped_command_is_one_line_with_the_closest_commands(
    argv: list[str], line: str
) -> None:
    done = cli(*argv)
    assert (done.returncode, done.stderr) == (2, line + "\n")


def test_batch_help_says_each_default_once(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert text.count("(default: 8)") == 1


def _tasks(path: Path, n: int) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"t{i}", "task": f"task {i}"}) + "\n" for i in range(n))
    )
    return path


def test_batch_piped_says_what_starts_and_ends_counting_what_runs(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json")
    tasks = _tasks(tmp_path / "tasks.jsonl", 3)
    done = cli(
        "batch", tasks, "--script", script, "--runs-dir", tmp_path / "runs", "--concurrency", "2"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 6  # a start and an end per run
    running = ended = 0
    for line in lines:
        news, totals = line.removeprefix("batch: ").split(" · ", 1)
        if news.endswith(" started"):
            running += 1
        else:
            assert news.endswith(" completed"), line
            running, ended = running - 1, ended + 1
        assert totals.startswith(f"{ended}/3 done · 0 failed · {running} running · "), line
    assert lines[0].endswith(" started · 0/3 done · 0 failed · 1 running · 0 tokens · $0.0000")


def test_a_batch_of_one_run_is_singular(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json")
    done = cli(
        "batch", _tasks(tmp_path / "t.jsonl", 1), "--script", script, "--runs-dir", tmp_path / "r"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n1 run: 1 ok, 0 failed\n")


def test_a_fork_answered_by_a_script_records_and_prices_the_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from store import workflow_state

    script = write_script(tmp_path / "s.json")
    source = cli(
        "run",
        "t",
        "--script",
        script,
        "--model",
        "claude-sonnet-5-5",
        "--run-dir",
        tmp_path / "src",
    )
    assert source.returncode == 0, source.stderr
    done = cli(
        "fork", tmp_path / "src", "--at", "4", "--script", script, "--run-dir", tmp_path / "f"
    )
    assert done.returncode == 0, done.stderr
    assert workflow_state(EventLog(tmp_path / "f").read()).config.model == "scripted"
    after_fork = [
        e for e in EventLog(tmp_path / "f").read() if isinstance(e, ModelCalled) and e.seq > 4
    ]
    assert after_fork and {e.model for e in after_fork} == {"scripted"}
    assert main(["stats", str(tmp_path / "f"), "--json"]) == 0
    steps = {row["step"]: row for row in json.loads(capsys.readouterr().out)}
    assert steps["code"]["models"] == ["scripted"] and steps["code"]["cost_usd"] is None
    named = cli(
        "fork", tmp_path / "src", "--at", "4", "--script", script, "--model", "claude-opus-5-5",
        "--run-dir", tmp_path / "g",
    )  # fmt: skip
    assert named.returncode == 0, named.stderr  # --model names the fork's model: kept
    assert workflow_state(EventLog(tmp_path / "g").read()).config.model == "claude-opus-5-5"


@pytest.mark.parametrize("gate", ["plan", "code"])
def test_the_approval_hint_shows_the_event_holding_what_waits(
    tmp_path: Path, gate: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write_script(tmp_path / "s.json")
    done = cli("run", "t", "--script", script, "--run-dir", tmp_path / "r", "--approve", gate)
    assert done.returncode == 3, done.stderr
    shown = re.search(rf"  agentlog show \S+ (\d+)      # the {gate} that waits\n", done.stdout)
    assert shown is not None, done.stdout
    assert main(["show", str(tmp_path / "r"), shown.group(1)]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["type"] == {"plan": "PlanProduced", "code": "CodeProduced"}[gate]


def test_the_approval_hint_of_a_workspace_change_is_its_diff(tmp_path: Path) -> None:
    from _repo import EDIT_APP, PLAN_APP, make_repo

    repo = make_repo(tmp_path / "repo")
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"plan": [answer(PLAN_APP)], "code": [answer(EDIT_APP)]}))
    run = tmp_path / "run"
    done = cli(
        "run", "t", "--workspace", repo, "--script", script, "--run-dir", run, "--approve", "code"
    )
    assert done.returncode == 3, done.stderr
    assert f"\n  agentlog diff {run}      # the code that waits\n" in done.stdout


def test_the_documented_script_runs_as_documented(tmp_path: Path) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "script-format.md").read_text()
    example = re.search(r"```json\n(.*?)```", doc, re.S)
    assert example is not None
    script = tmp_path / "s.json"
    script.write_text(example.group(1))
    done = cli("run", "t", "--script", script, "--run-dir", tmp_path / "r", "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["verdict"], outcome["files"]) == ("approve", ["hello.py"])
    failed = [e for e in EventLog(tmp_path / "r").read() if isinstance(e, StepFailed)]
    assert [e.error_kind for e in failed] == ["overloaded"]


def test_batch_draws_its_bar_on_a_terminal_stderr_while_stdout_is_piped(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json")
    tasks = _tasks(tmp_path / "t.jsonl", 2)
    args = ["batch", tasks, "--script", script, "--runs-dir", tmp_path / "runs"]
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "150"},
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while chunk := _read(primary):
        chunks.append(chunk)
    out = proc.communicate(timeout=60)[0].decode()
    os.close(primary)
    drawn = b"".join(chunks).decode(errors="replace")
    assert "batch" in drawn and " running · " in drawn  # the bar, on the terminal
    assert out.endswith("\n2 runs: 2 ok, 0 failed\n") and "\x1b[" not in out


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the other side is closed
        return b""
