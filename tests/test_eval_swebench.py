"""SWE-bench-style instances as an evaluation, and the evaluation as SWE-bench predictions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _workflow import APPROVE

from actors.batch import BatchInputError, ModelSpec
from actors.cli import main
from actors.eval import Evaluation
from actors.eval.swebench import load_swebench, predictions

TEST_PATCH = """\
diff --git a/test_calc.py b/test_calc.py
new file mode 100644
--- /dev/null
+++ b/test_calc.py
@@ -0,0 +1,5 @@
+from calc import add
+
+
+def test_add():
+    assert add(2, 3) == 5
"""
PLAN = {"summary": "fix add", "steps": [{"title": "fix", "description": "+", "files": ["calc.py"]}]}
FIX = {
    "changes": [{"op": "edit", "path": "calc.py", "search": "a - b", "replace": "a + b"}],
    "notes": "add adds",
}
NO_FIX = {"changes": [{"op": "create", "path": "NOTES.md", "content": "looked\n"}], "notes": "-"}


def _repo(root: Path) -> str:
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n", "utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "calc"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return head.stdout.strip()


def _instances(tmp_path: Path, **more: Any) -> Path:
    commit = _repo(tmp_path / "calc-repo")
    instance = {
        "instance_id": "calc__calc-1",
        "repo": "calc-repo",
        "base_commit": commit,
        "problem_statement": "add(2, 3) gives -1; it should add.",
        "test_patch": TEST_PATCH,
        "FAIL_TO_PASS": json.dumps(["test_calc.py::test_add"]),  # as the datasets have it
        "PASS_TO_PASS": "[]",
        **more,
    }
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(instance) + "\n", "utf-8")
    return path


def _model(tmp_path: Path, code: dict[str, Any]) -> ModelSpec:
    path = tmp_path / "script.json"
    answers = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": code}]}
    path.write_text(json.dumps({**answers, "review": [{"tool_input": APPROVE}]}), "utf-8")
    return ModelSpec(script=str(path))


def _evaluate(tmp_path: Path, code: dict[str, Any]) -> tuple[bool, Path]:
    tasks = load_swebench(_instances(tmp_path))
    [outcome] = Evaluation(tasks, tmp_path / "runs", model=_model(tmp_path, code)).run()
    assert outcome.check is not None
    return outcome.passed, tmp_path / "runs"


def test_a_change_that_fixes_the_issue_passes_the_fail_to_pass_tests(tmp_path: Path) -> None:
    passed, _ = _evaluate(tmp_path, FIX)
    assert passed


def test_a_change_that_does_not_fix_it_fails_them(tmp_path: Path) -> None:
    passed, _ = _evaluate(tmp_path, NO_FIX)
    assert not passed


def test_the_test_patch_is_not_in_the_workspace_the_model_sees(tmp_path: Path) -> None:
    _evaluate(tmp_path, FIX)
    prepared = tmp_path / "runs" / ".workspaces" / "calc__calc-1"
    assert (prepared / "calc.py").is_file() and not (prepared / "test_calc.py").exists()


def test_predictions_hold_each_instances_patch_which_git_applies(tmp_path: Path) -> None:
    _, runs = _evaluate(tmp_path, FIX)
    [prediction] = predictions(runs)
    assert prediction.instance_id == "calc__calc-1"
    assert "+    return a + b" in prediction.model_patch
    assert prediction.model_name_or_path
    repo = tmp_path / "calc-repo"
    check = subprocess.run(
        ["git", "-C", str(repo), "apply", "--check", "-"],
        input=prediction.model_patch.encode(),
        capture_output=True,
    )
    assert check.returncode == 0, check.stderr


def test_export_format_swebench_writes_the_predictions_file(tmp_path: Path) -> None:
    _, runs = _evaluate(tmp_path, FIX)
    out = tmp_path / "preds.jsonl"
    argv = ["export", "--format", "swebench", str(runs), "--file", str(out), "--model-name", "m1"]
    assert main(argv) == 0
    [line] = out.read_text("utf-8").splitlines()
    row = json.loads(line)
    assert set(row) == {"instance_id", "model_patch", "model_name_or_path"}
    assert (row["instance_id"], row["model_name_or_path"]) == ("calc__calc-1", "m1")


def test_an_instance_whose_repository_is_missing_is_refused_naming_its_line(
    tmp_path: Path,
) -> None:
    path = _instances(tmp_path, repo="nowhere/else")
    with pytest.raises(BatchInputError, match=r"instances.jsonl:1: repo 'nowhere/else'"):
        load_swebench(path)


def test_a_repository_is_found_under_repos_by_its_swebench_name(tmp_path: Path) -> None:
    path = _instances(tmp_path, repo="calc/calc-repo")
    [task] = load_swebench(path, repos=tmp_path)
    assert task.workspace == str((tmp_path / "calc-repo").resolve())


def test_the_eval_command_reads_swebench_instances(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _instances(tmp_path)
    script = _model(tmp_path, FIX).script
    assert script is not None
    argv = ["eval", str(path), "--format", "swebench", "--runs-dir", str(tmp_path / "runs")]
    assert main([*argv, "--script", script, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["passed"]) == ("calc__calc-1#1", True)
