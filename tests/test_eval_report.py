"""``agentlog report``: an evaluation directory's pass rate, costs, and two compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _batch import FAST_CONFIG
from _workflow import APPROVE, CODE, PLAN

from actors.batch import ModelSpec
from actors.cli import main
from actors.eval import Evaluation
from actors.eval.report import compare, report
from actors.eval.stats import wilson_interval

SAYS_HELLO = "python -c \"from hello import hello; assert hello('x') == 'hello x'\""
SAYS_HI = "python -c \"from hello import hello; assert hello('x') == 'hi x'\""
HI_CODE = {
    "files": [{"path": "hello.py", "content": "def hello(name):\n    return 'hi ' + name\n"}]
}


def _evaluate(tmp_path: Path, name: str, code: dict[str, Any], samples: int = 1) -> Path:
    script = tmp_path / f"{name}.json"
    answers = {"plan": [{"tool_input": PLAN}], "code": [{"tool_input": code}]}
    script.write_text(json.dumps({**answers, "review": [{"tool_input": APPROVE}]}), "utf-8")
    tasks = tmp_path / "tasks.jsonl"
    rows = [
        {"id": "hello", "task": "greet", "check": SAYS_HELLO, "config": FAST_CONFIG},
        {"id": "hi", "task": "greet", "check": SAYS_HI, "config": FAST_CONFIG},
    ]
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    runs = tmp_path / name
    Evaluation(tasks, runs, samples=samples, model=ModelSpec(script=str(script))).run()
    return runs


def test_the_report_gives_the_pass_rate_with_its_wilson_interval(tmp_path: Path) -> None:
    rep = report(_evaluate(tmp_path, "a", CODE, samples=2))
    assert (rep.runs, rep.checked, rep.passed, rep.pass_rate) == (4, 4, 2, 0.5)
    assert rep.ci95 == wilson_interval(2, 4)
    assert {(t.task_id, t.samples, t.passed) for t in rep.tasks} == {("hello", 2, 2), ("hi", 2, 0)}


def test_the_report_sums_the_four_token_classes_and_counts_turns(tmp_path: Path) -> None:
    rep = report(_evaluate(tmp_path, "a", CODE))
    classes = (
        rep.input_tokens
        + rep.cache_creation_input_tokens
        + rep.cache_read_input_tokens
        + rep.output_tokens
    )
    assert rep.tokens == classes == sum(r.tokens for r in rep.run_rows)
    assert rep.tokens > 0
    assert [r.turns for r in rep.run_rows] == [3, 3]  # plan, code, review
    assert rep.mean_turns == 3.0


def test_two_evaluations_are_compared_task_by_task(tmp_path: Path) -> None:
    first = report(_evaluate(tmp_path, "a", CODE))
    second = report(_evaluate(tmp_path, "b", HI_CODE))
    cmp = compare(first, second)
    assert (cmp.common_tasks, cmp.fixed, cmp.regressed) == (2, ("hi",), ("hello",))
    assert cmp.p_value == 1.0


def test_the_command_prints_the_table_and_the_flips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _evaluate(tmp_path, "a", CODE), _evaluate(tmp_path, "b", HI_CODE)
    assert main(["report", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "pass rate 50.0% (1/2 runs), 95% CI 9.5% to 90.5% (Wilson)" in out
    assert "fixed in the second (1): hi" in out
    assert "regressed in the second (1): hello" in out
    assert "McNemar exact p = 1" in out


def test_the_command_reports_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _evaluate(tmp_path, "a", CODE)
    assert main(["report", str(a), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["first"]["passed"] == 1 and data["first"]["checked"] == 2
    assert "comparison" not in data


def test_a_directory_without_runs_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("no runs in this directory (agentlog eval TASKS --runs-dir)")
    )
