"""A project's defaults for ``agentlog run``: ``[tool.agentlog]`` or ``agentlog.toml``.

The settings in force (file defaults under the command line's options) are what the
run's ``WorkflowStarted`` records; a bad file is one line naming the file and the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import write_script
from _repo import EDIT_APP, PLAN_APP, make_repo, needs_git

from actors.cli import main
from events import WorkflowStarted
from store import EventLog

pytestmark = needs_git

SCRIPT = {
    "plan": [{"tool_input": PLAN_APP}],
    "code": [{"tool_input": EDIT_APP}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "ok"}}],
}

PYPROJECT = """\
[project]
name = "demo"

[tool.agentlog]
model = "claude-opus-5-5"
test-cmd = "python -m pytest -q tests"
max_revisions = 2
max-retries = 1
step_timeout = 90
approve = ["plan"]
"""


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AGENTLOG_SCRIPT", "AGENTLOG_MODEL"):
        monkeypatch.delenv(name, raising=False)


def _script(tmp_path: Path) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return str(path)


def _started(run_dir: Path) -> WorkflowStarted:
    first = next(iter(EventLog(run_dir).read()))
    assert isinstance(first, WorkflowStarted)
    return first


def test_the_workspace_pyproject_gives_the_run_its_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "pyproject.toml").write_text(PYPROJECT)
    run_dir = tmp_path / "run"
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(run_dir)]) == 3  # the plan gate came from the file
    config = _started(run_dir).config
    assert config.model == "claude-opus-5-5"
    assert config.test_cmd == "python -m pytest -q tests"
    assert (config.max_revisions, config.max_retries, config.step_timeout) == (2, 1, 90.0)
    assert config.approve == ("plan",)
    assert f"from {repo / 'pyproject.toml'}: model='claude-opus-5-5'" in capsys.readouterr().err


def test_an_option_on_the_command_line_wins_over_the_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "pyproject.toml").write_text(PYPROJECT)
    run_dir = tmp_path / "run"
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(run_dir), "--max-revisions", "0", "--approve", "code"])
    config = _started(run_dir).config
    assert (config.max_revisions, config.approve) == (0, ("code",))
    assert config.max_retries == 1  # not given: still the file's


def test_agentlog_toml_in_the_current_directory_serves_a_run_without_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "agentlog.toml").write_text('max_revisions = 3\nsandbox = "bwrap"\n')
    monkeypatch.chdir(tmp_path)
    script = write_script(tmp_path / "plain.json")
    assert main(["run", "t", "--script", str(script), "--run-dir", "run"]) == 0
    config = _started(tmp_path / "run").config
    assert (config.max_revisions, config.sandbox) == (3, "bwrap")


def test_agentlog_toml_wins_over_pyproject(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "agentlog.toml").write_text("max_revisions = 1\n")
    run_dir = tmp_path / "run"
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(run_dir)]) == 0  # no gate: pyproject is not read
    assert _started(run_dir).config.max_revisions == 1


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ("max_revision = 2", "[tool.agentlog] max_revision: not a setting (known: model, "),
        ("max_revisions = -1", "[tool.agentlog] max_revisions = -1: must be a whole number, 0"),
        ('max-retries = "3"', '[tool.agentlog] max-retries = "3": must be a whole number, 0'),
        ('sandbox = "off"', '[tool.agentlog] sandbox = "off": must be one of auto, bwrap, none'),
        ('approve = ["review"]', '[tool.agentlog] approve = ["review"]: must be a list of code'),
        ("run_tests = 1", "[tool.agentlog] run_tests = 1: must be true or false"),
    ],
)
def test_a_bad_key_or_value_names_the_file_and_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, says: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "pyproject.toml").write_text(f"[tool.agentlog]\n{table}\n")
    run_dir = tmp_path / "run"
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"agentlog: {repo / 'pyproject.toml'}: {says}"), err
    assert len(err.splitlines()) == 1
    assert not run_dir.exists()


def test_a_file_that_is_not_toml_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "agentlog.toml").write_text("max_revisions = \n")
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(tmp_path / "run")]) == 2
    assert f"{repo / 'agentlog.toml'}: not valid TOML" in capsys.readouterr().err


def test_a_project_file_cannot_lift_the_sandbox_on_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "agentlog.toml").write_text('sandbox = "none"\n')
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert 'sets sandbox = "none"' in err and "--sandbox none" in err
    assert not (tmp_path / "run").exists()


def test_a_project_files_no_sandbox_holds_when_the_command_line_says_so_too(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "agentlog.toml").write_text('sandbox = "none"\n')
    argv = ["run", "t", "--workspace", str(repo), "--script", _script(tmp_path)]
    assert main([*argv, "--run-dir", str(tmp_path / "run"), "--sandbox", "none"]) == 0
    assert _started(tmp_path / "run").config.sandbox == "none"
