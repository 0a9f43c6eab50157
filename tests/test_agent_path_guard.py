"""The Coder's path guard in a run that writes no ``files/`` (a replay's scratch run).

Such a run never makes its workspace root, so once the root is found absent that is not
looked up again at every attempt; what the guard refuses stays refused: a root that
cannot be resolved, and, in a live run (which writes ``files/`` between attempts), a
root that appeared since as a link leading out.
"""

from __future__ import annotations

from pathlib import Path

from _events import code, plan

from actors.agents import CoderActor, StepWork
from actors.models import ScriptedModel
from events import CodeProduced, StepFailed
from store import WorkflowState
from store.projections.artifacts import Artifacts

ANSWER = {"code": [{"tool_input": {"files": [{"path": "pkg/a.py", "content": "x = 1\n"}]}}] * 3}


def attempt(workspace: Path, *, live: bool, n: int = 1) -> object:
    """The Coder's answer to attempt ``n`` under ``workspace``."""
    state = WorkflowState(task="t", artifacts=Artifacts(plan=plan(), code=code({"a.py": ""})))
    work = StepWork(
        step="code",
        attempt=n,
        round=0,
        timeout=5,
        state=state,
        workspace=str(workspace),
        run_commands=live,
    )
    return CoderActor(ScriptedModel(ANSWER)).perform(work)[-1]


def test_a_run_writing_no_files_answers_under_its_absent_root_each_time(tmp_path: Path) -> None:
    root = tmp_path / "scratch" / "files"
    for n in (1, 2, 3):
        assert isinstance(attempt(root, live=False, n=n), CodeProduced)


def test_a_run_writing_no_files_still_refuses_a_root_in_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for n in (1, 2):
        failed = attempt(tmp_path / "a" / "files", live=False, n=n)
        assert isinstance(failed, StepFailed)
        assert failed.error_kind == "unsafe_path"


def test_a_live_run_sees_a_root_that_appeared_as_a_link_leading_out(tmp_path: Path) -> None:
    root, outside = tmp_path / "files", tmp_path / "outside"
    assert isinstance(attempt(root, live=True), CodeProduced)
    (outside / "pkg").mkdir(parents=True)
    root.mkdir()
    (root / "pkg").symlink_to(outside / "pkg", target_is_directory=True)
    failed = attempt(root, live=True, n=2)
    assert isinstance(failed, StepFailed)
    assert failed.error_kind == "unsafe_path"
    assert "outside" in failed.message


def test_a_run_writing_no_files_looks_at_its_root_once(tmp_path: Path) -> None:
    # Nothing in such a run makes the root; one made behind its back (here, leading
    # out) is not looked up again: no file is ever written through it.
    root, outside = tmp_path / "once" / "files", tmp_path / "outside"
    assert isinstance(attempt(root, live=False), CodeProduced)
    (outside / "pkg").mkdir(parents=True)
    root.mkdir(parents=True)
    (root / "pkg").symlink_to(outside / "pkg", target_is_directory=True)
    assert isinstance(attempt(root, live=False, n=2), CodeProduced)
    assert isinstance(attempt(root, live=True, n=3), StepFailed)
