"""A Coder's paths come from a model: none may write outside ``files/``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec
from _workflow import FAST, answer, kinds, of_type, scripted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import Supervisor
from actors.models import ModelRequest, ModelResponse, ScriptedModel
from events import CodeProduced, StepFailed, WorkflowFailed

ONE_SHOT = msgspec.structs.replace(FAST, max_retries=0)


def code_writing(path: str) -> ScriptedModel:
    return scripted(code=[answer({"files": [{"path": path, "content": "pwned\n"}]})])


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (links not followed)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def assert_refused(run_dir: Path) -> StepFailed:
    assert of_type(run_dir, CodeProduced) == []
    failed = of_type(run_dir, StepFailed)[0]
    assert failed.step == "code"
    assert failed.error_kind in ("unsafe_path", "invalid_output")
    assert of_type(run_dir, WorkflowFailed)[0].step == "code"
    return failed


def test_dotdot_path_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    Supervisor(ONE_SHOT, model=code_writing("../x")).run("task", run_dir)
    assert "'..'" in assert_refused(run_dir).message
    assert not (tmp_path / "x").exists()
    assert tree(run_dir / "files") == set()


def test_absolute_path_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "x"
    run_dir = tmp_path / "run"
    Supervisor(ONE_SHOT, model=code_writing(str(target))).run("task", run_dir)
    assert "absolute" in assert_refused(run_dir).message
    assert not target.exists()


def test_etc_path_is_refused(run_dir: Path) -> None:
    Supervisor(ONE_SHOT, model=code_writing("/etc/x")).run("task", run_dir)
    assert_refused(run_dir)
    assert not Path("/etc/x").exists()


class PlantsSymlink:
    """Plants ``files/escape -> outside`` just before the Coder answers (an attacker's move)."""

    def __init__(self, inner: ScriptedModel, run_dir: Path, outside: Path) -> None:
        self.name = inner.name
        self.inner, self.run_dir, self.outside = inner, run_dir, outside

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        if request.step == "code":
            (self.run_dir / "files").mkdir(exist_ok=True)
            os.symlink(self.outside, self.run_dir / "files" / "escape")
        return self.inner.call(request, timeout=timeout)


def test_path_through_a_planted_symlink_is_refused(tmp_path: Path) -> None:
    run_dir, outside = tmp_path / "run", tmp_path / "outside"
    outside.mkdir()
    model = PlantsSymlink(code_writing("escape/pwn.py"), run_dir, outside)
    Supervisor(ONE_SHOT, model=model).run("task", run_dir)
    failed = assert_refused(run_dir)
    assert (failed.error_kind, failed.retryable) == ("unsafe_path", True)
    assert tree(outside) == set()


def test_refused_path_is_retried_and_a_safe_answer_completes(run_dir: Path) -> None:
    bad = answer({"files": [{"path": "../x", "content": ""}]})
    good = answer({"files": [{"path": "ok.py", "content": "OK = 1\n"}]})
    Supervisor(FAST, model=scripted(code=[bad, good])).run("task", run_dir)
    assert [f.error_kind for f in of_type(run_dir, StepFailed)] == ["invalid_output"]
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    assert tree(run_dir / "files") == {"ok.py"}


escaping_paths = st.one_of(
    st.lists(st.sampled_from(["..", "a", ".", "b.py"]), min_size=1, max_size=5)
    .filter(lambda parts: ".." in parts)
    .map("/".join),
    st.lists(st.sampled_from(["..", "tmp", "etc", "x.py"]), min_size=1, max_size=4).map(
        lambda parts: "/" + "/".join(parts)
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(escaping_paths)
def test_no_escaping_path_writes_outside_files(path: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sentinel").write_text("untouched")
        run_dir = root / "deep" / "run"
        Supervisor(ONE_SHOT, model=code_writing(path)).run("task", run_dir)
        assert_refused(run_dir)
        outside = tree(root) - {p for p in tree(root) if p.startswith("deep/run")}
        assert outside == {"sentinel", "deep"}
        assert tree(run_dir / "files") == set()
