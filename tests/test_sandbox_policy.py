"""``--sandbox auto|bwrap|none``: never a silent fallback, always recorded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec
import pytest
from _sandbox import needs_bwrap
from _workflow import FAST, answer, of_type, scripted

from actors import Supervisor
from actors.cli import main
from actors.replaying import replay
from actors.sandbox import SandboxUnavailable, resolve, resolve_trusted
from actors.testrun import run_tests
from events import TestsRan, WorkflowStarted

DEMO_SCRIPT = Path(__file__).parents[1] / "actors" / "demo" / "script.json"
PASSING = [{"path": "test_it.py", "content": "def test_adds():\n    assert 1 + 1 == 2\n"}]


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH on which bubblewrap cannot be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def bwrap_without_userns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``bwrap`` on PATH that fails as bubblewrap does where user namespaces are off."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "bwrap"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "bubblewrap 0.8.0"; exit 0; fi\n'
        "echo 'bwrap: No permissions to creating new namespace, likely because the kernel "
        "does not allow non-privileged user namespaces.' >&2\n"
        "exit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_run_tests_without_bwrap_is_refused_in_one_line(
    no_bwrap: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    args = ["run", "task", "--script", str(DEMO_SCRIPT), "--run-tests", "--run-dir", str(run_dir)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "install bubblewrap" in err and "--sandbox none" in err
    assert not run_dir.exists()  # refused before anything was written


def test_bwrap_that_cannot_make_namespaces_says_so(bwrap_without_userns: None) -> None:
    with pytest.raises(SandboxUnavailable, match=r"user namespaces.*--sandbox none"):
        resolve("auto")


def test_an_explicit_bwrap_policy_refuses_too(no_bwrap: None) -> None:
    with pytest.raises(SandboxUnavailable):
        resolve("bwrap")


def test_the_demo_runs_unconfined_without_bwrap_and_says_so(no_bwrap: None) -> None:
    policy, note = resolve_trusted("auto")
    assert policy == "none"
    assert note is not None and "unconfined" in note


def test_the_demo_keeps_an_explicit_bwrap_policy(no_bwrap: None) -> None:
    assert resolve_trusted("bwrap") == ("bwrap", None)


def test_tests_never_run_unconfined_when_the_sandbox_is_missing(
    no_bwrap: None, tmp_path: Path
) -> None:
    (tmp_path / "test_it.py").write_text("def test_x():\n    open('ran', 'w')\n")
    ran = run_tests(tmp_path, timeout=30, policy="auto")
    assert (ran.outcome, ran.exit_code, ran.sandbox) == ("error", None, "")
    assert "install bubblewrap" in ran.output


def test_sandbox_none_runs_and_is_recorded(run_dir: Path) -> None:
    config = msgspec.structs.replace(FAST, run_tests=True, test_timeout=30, sandbox="none")
    Supervisor(config, model=scripted(code=[answer({"files": PASSING})])).run("task", run_dir)
    assert of_type(run_dir, WorkflowStarted)[0].config.sandbox == "none"
    ran = of_type(run_dir, TestsRan)[0]
    assert (ran.sandbox, ran.sandbox_version, ran.outcome) == ("none", "", "passed")


@needs_bwrap
def test_the_cli_records_the_sandbox_choice(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["run", "task", "--script", str(DEMO_SCRIPT), "--run-dir", str(run_dir)]
    assert main([*args, "--sandbox", "bwrap"]) in (0, 1)
    assert of_type(run_dir, WorkflowStarted)[0].config.sandbox == "bwrap"


@needs_bwrap
def test_a_replay_without_bwrap_shows_the_recorded_sandbox(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = msgspec.structs.replace(FAST, run_tests=True, test_timeout=30)
    Supervisor(config, model=scripted(code=[answer({"files": PASSING})])).run("task", run_dir)
    version = of_type(run_dir, TestsRan)[0].sandbox_version
    assert f"bwrap {version}" not in replay(run_dir).verdict  # same sandbox here: no note
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    report = replay(run_dir)
    assert report.ok
    assert f"recorded under bwrap {version}, here: no bubblewrap" in report.verdict


def test_a_fork_with_tests_and_no_sandbox_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source"
    Supervisor(FAST, model=scripted()).run("task", source)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    fork_dir = tmp_path / "fork"
    args = ["fork", str(source), "--at", "3", "--run-tests", "--run-dir", str(fork_dir)]
    assert main([*args, "--script", str(DEMO_SCRIPT)]) == 2
    assert "install bubblewrap" in capsys.readouterr().err
    assert not fork_dir.exists()
