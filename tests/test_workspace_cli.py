"""``agentlog run --workspace``, then ``diff``, ``verify`` and ``apply``, from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _repo import EDIT_APP, PLAN_APP, make_repo, needs_git

from actors.cli import main
from store import EventLog, workflow_state
from store.base import record_base

pytestmark = needs_git

SCRIPT = {
    "plan": [{"tool_input": PLAN_APP}],
    "code": [{"tool_input": EDIT_APP}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "ok"}}],
}


def agentlog(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CONVEX_"))}
    return subprocess.run(
        [sys.executable, "-c", "from actors.cli import main; raise SystemExit(main())", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_run_diff_verify_apply_from_the_command_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    run = agentlog(
        "run",
        "greet with hi",
        "--workspace",
        str(repo),
        "--script",
        str(script),
        "--run-dir",
        "run",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "tests: python -m pytest -q -p no:cacheprovider (detected)" in run.stdout
    assert "change: 2 files changed, 2 insertions(+), 1 deletion(-)" in run.stdout
    diff = agentlog("diff", "run", cwd=tmp_path)
    assert diff.returncode == 0 and "+++ b/src/extra.py" in diff.stdout
    assert agentlog("verify", "run", cwd=tmp_path).returncode == 0
    applied = agentlog("apply", "run", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert (repo / "src" / "extra.py").read_text() == "X = 1\n"
    again = agentlog("apply", "run", cwd=tmp_path)
    assert again.returncode == 0 and "already holds the change" in again.stdout
    (repo / "src" / "app.py").write_text("# changed meanwhile\n")
    moved = agentlog("apply", "run", cwd=tmp_path)
    assert moved.returncode == 1 and "src/app.py: changed since the run's base" in moved.stderr


def test_a_workspace_that_is_no_directory_is_a_usage_error(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    done = agentlog(
        "run", "x", "--workspace", "nope", "--script", str(script), "--run-dir", "r", cwd=tmp_path
    )
    assert done.returncode == 2 and "--workspace nope: not a directory" in done.stderr
    assert not (tmp_path / "r").exists()


@pytest.fixture
def workspace_run(tmp_path: Path) -> Path:
    """A finished workspace run in ``tmp_path / "r"``, made from the command line."""
    repo = make_repo(tmp_path / "repo")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    run = agentlog(
        "run", "x", "--workspace", str(repo), "--script", str(script), "--run-dir", "r",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return tmp_path / "r"


def test_apply_to_a_missing_directory_is_a_usage_error_naming_it(
    tmp_path: Path, workspace_run: Path
) -> None:
    done = agentlog("apply", "r", "--to", "nowhere", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "agentlog: --to nowhere: no such directory\n"
    assert not (tmp_path / "nowhere").exists()


def test_diff_and_apply_of_a_round_the_run_never_reached_are_usage_errors(
    tmp_path: Path, workspace_run: Path
) -> None:
    assert agentlog("diff", "r", "--round", "0", cwd=tmp_path).stdout.startswith("diff --git")
    done = agentlog("diff", "r", "--round", "1", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "agentlog: --round must be between 0 and 0 (this run's rounds)\n"
    refused = agentlog("apply", "r", "--round", "1", cwd=tmp_path)
    assert refused.returncode == 2 and "--round must be between 0 and 0" in refused.stderr


def test_diff_and_apply_have_help_with_an_example(tmp_path: Path) -> None:
    for command in ("diff", "apply"):
        shown = agentlog(command, "--help", cwd=tmp_path)
        assert shown.returncode == 0 and "example:" in shown.stdout


def test_a_diff_for_a_terminal_is_coloured_and_escapes_what_the_model_wrote() -> None:
    from actors.cli.diff_cmds import colour_diff

    shown = colour_diff("+++ b/x\n+print('\x1b]52;c;evil\x07')\n-old\n")
    assert "\x1b]52" not in shown and "\\x1b]52;c;evil\\x07" in shown
    assert "\033[32m+print" in shown and "\033[31m-old" in shown


ODD_BASE = {
    "src/app.py": "print('v1')\n",
    "old\nname.txt": "one\ntwo\n",
    'say "hi".txt': "q\n",
    "tab\there.txt": "t\n",
}
ODD_CHANGES = {
    "changes": [
        {"op": "edit", "path": "old\nname.txt", "search": "two", "replace": "TWO"},
        {"op": "create", "path": "new\nline.txt", "content": "n\n"},
        {"op": "create", "path": "carriage\rreturn.txt", "content": "r\n"},
        {"op": "create", "path": "\u202etxt.exe", "content": "bidi\n"},
        {"op": "delete", "path": 'say "hi".txt'},
        {"op": "rename", "path": "tab\there.txt", "to": "tab\tthere.txt"},
    ],
    "notes": "names git has to quote",
}


@pytest.fixture
def odd_names_run(tmp_path: Path) -> tuple[Path, Path]:
    """(a clean copy of the base, the run) of a change to files with names git quotes."""
    repo = make_repo(tmp_path / "repo", dict(ODD_BASE))
    script = tmp_path / "script.json"
    script.write_text(json.dumps({**SCRIPT, "code": [{"tool_input": ODD_CHANGES}]}))
    run = agentlog(
        "run", "x", "--workspace", str(repo), "--script", str(script), "--run-dir", "r",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(repo), str(clean)], check=True)
    return clean, tmp_path / "r"


def test_a_diff_of_names_with_newlines_and_returns_is_one_git_apply_takes(
    tmp_path: Path, odd_names_run: tuple[Path, Path]
) -> None:
    clean, run = odd_names_run
    diff = agentlog_bytes("diff", str(run), cwd=tmp_path)
    check = subprocess.run(["git", "apply", "--check"], input=diff, cwd=clean)
    assert check.returncode == 0
    subprocess.run(["git", "apply"], input=diff, cwd=clean, check=True)
    assert (clean / "old\nname.txt").read_text() == "one\nTWO\n"
    assert (clean / "carriage\rreturn.txt").read_text() == "r\n"
    assert (clean / "\u202etxt.exe").read_text() == "bidi\n"
    assert (clean / "tab\tthere.txt").read_text() == "t\n"
    assert not (clean / 'say "hi".txt').exists()
    text = diff.decode()
    assert 'diff --git "a/old\\nname.txt" "b/old\\nname.txt"' in text
    assert '+++ "b/carriage\\rreturn.txt"' in text and "\r" not in text
    assert 'rename from "tab\\there.txt"' in text and "\u202e" not in text


def agentlog_bytes(*args: str, cwd: Path) -> bytes:
    """What ``agentlog ARGS`` writes to a pipe, byte for byte (no newline translation)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CONVEX_"))}
    done = subprocess.run(
        [sys.executable, "-c", "from actors.cli import main; raise SystemExit(main())", *args],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def in_a_terminal(*args: str, cwd: Path) -> str:
    """What ``agentlog ARGS`` writes to a terminal (a pseudo-terminal), as text."""
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CONVEX_"))}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from actors.cli import main; raise SystemExit(main())", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode()


def test_diff_stat_on_a_terminal_quotes_names_as_git_does(
    tmp_path: Path, odd_names_run: tuple[Path, Path]
) -> None:
    _, run = odd_names_run
    shown = in_a_terminal("diff", str(run), "--stat", cwd=tmp_path)
    assert "\u202e" not in shown and "\r" not in shown.replace("\r\n", "\n")
    names = [line.split("|")[0].strip() for line in shown.splitlines() if "|" in line]
    assert '"new\\nline.txt"' in names and '"carriage\\rreturn.txt"' in names
    assert '"\\342\\200\\256txt.exe"' in names
    assert len(names) == 6


def test_a_diff_for_a_terminal_shows_bidirectional_controls_escaped() -> None:
    from actors.cli.diff_cmds import colour_diff

    shown = colour_diff("+access = 'user\u202e \u2066// admin\u2069\u2066'\n")
    assert not any(c in shown for c in "\u202e\u2066\u2069")
    assert "\\u202e" in shown and "\\u2066" in shown


def _cut_before_the_first_event(tmp_path: Path, with_empty_log: bool) -> tuple[Path, Path]:
    """A repository, and a run directory holding only what a workspace run writes before
    its first event: the base's objects (and, if the log was opened, an empty log)."""
    repo = make_repo(tmp_path / "repo")
    run = tmp_path / "run"
    run.mkdir()
    record_base(repo, run)
    if with_empty_log:
        (run / "events.jsonl").touch()
    return repo, run


@pytest.mark.parametrize("with_empty_log", [False, True], ids=["objects-only", "and-empty-log"])
def test_a_workspace_run_cut_before_its_first_event_starts_over(
    tmp_path: Path, with_empty_log: bool
) -> None:
    repo, run = _cut_before_the_first_event(tmp_path, with_empty_log)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    args = ["run", "hi", "--workspace", str(repo), "--script", str(script), "--run-dir", str(run)]
    assert main(args) == 0
    assert workflow_state(EventLog(run).read()).status == "completed"
    assert main(["verify", str(run)]) == 0


@pytest.mark.parametrize("with_empty_log", [False, True], ids=["objects-only", "and-empty-log"])
def test_resuming_a_workspace_run_cut_before_its_first_event_says_run_it_again(
    tmp_path: Path, with_empty_log: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = _cut_before_the_first_event(tmp_path, with_empty_log)
    assert main(["resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "the run never started" in err and "run it again" in err


def test_a_directory_holding_objects_and_something_else_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, run = _cut_before_the_first_event(tmp_path, True)
    (run / "notes.txt").write_text("mine\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    args = ["run", "hi", "--workspace", str(repo), "--script", str(script), "--run-dir", str(run)]
    assert main(args) == 2
    assert "is not empty" in capsys.readouterr().err
    assert (run / "events.jsonl").read_bytes() == b""


def test_a_credential_file_is_taken_in_only_when_allowed_on_the_command_line(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / ".env").write_text("DEBUG=1\n")
    subprocess.run(["git", "-C", str(repo), "add", ".env"], check=True)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    common = ("t", "--workspace", str(repo), "--script", str(script))
    assert agentlog("run", *common, "--run-dir", "plain", cwd=tmp_path).returncode == 0
    allowed = agentlog(
        "run", *common, "--run-dir", "allowed", "--allow-credential-file", ".env", cwd=tmp_path
    )
    assert allowed.returncode == 0, allowed.stderr
    plain = json.loads((tmp_path / "plain" / "events.jsonl").read_text().splitlines()[0])
    opted = json.loads((tmp_path / "allowed" / "events.jsonl").read_text().splitlines()[0])
    assert {"path": ".env", "reason": "a credential file (an environment file)"} in plain[
        "workspace"
    ]["left_out"]
    assert opted["workspace"]["credentials_allowed"] == [".env"]
    assert ".env" in {f["path"] for f in opted["workspace"]["files"]}
    assert (tmp_path / "allowed" / "files" / ".env").read_text() == "DEBUG=1\n"
    assert not (tmp_path / "plain" / "files" / ".env").exists()


def test_allowing_a_credential_file_without_a_workspace_is_bad_usage(tmp_path: Path) -> None:
    done = agentlog("run", "t", "--allow-credential-file", ".env", "--script", "x", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("--allow-credential-file: only with --workspace")
    )
