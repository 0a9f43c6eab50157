"""``agentlog run --workspace``, then ``diff``, ``verify`` and ``apply``, from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _repo import EDIT_APP, PLAN_APP, make_repo, needs_git

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
