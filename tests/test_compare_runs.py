"""``agentlog diff RUN_A RUN_B``: two runs of one task compared — where they parted, the
plans, a diff of their changes, and their figures as A | B | delta."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _cli import cli, write_script
from _loop_run import make_loop_run
from _repo import make_repo, needs_git, workspace_model
from _sandbox import needs_bwrap
from _workflow import APPROVE, CHANGES, CODE, FAST, answer, of_type, scripted

from actors import Supervisor, what_if
from actors.models import ScriptedModel
from events import ModelCalled

STRICT = "You are a strict reviewer. Request changes unless the code has docstrings.\n"
TASK = "write hello(name)"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recorded run (plan, code, an approving review); tests only read it."""
    run = tmp_path_factory.mktemp("source") / "run"
    Supervisor(FAST, model=scripted()).run(TASK, run)
    return run


def _compared(a: Path, b: Path) -> dict[str, Any]:
    done = cli("diff", a, b, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _figure(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in data["figures"] if f["name"] == name)


def test_a_what_if_with_a_stricter_reviewer_names_where_it_diverged_and_the_setting(
    source: Path, tmp_path: Path
) -> None:
    what_if(source, tmp_path / "strict", prompts={"reviewer": STRICT}, live=scripted())
    review_seq = next(ev.seq for ev in of_type(source, ModelCalled) if ev.step == "review")
    done = cli("diff", source, tmp_path / "strict")
    assert done.returncode == 0, done.stderr
    assert "B is a what-if of A" in done.stdout
    assert f"diverged: B's review request differs from A's at A seq {review_seq}" in done.stdout
    assert "prompts.reviewer: (built-in) | 'You are a strict reviewer." in done.stdout


@needs_git
def test_two_workspace_runs_with_different_changes_show_a_diff_of_their_diffs(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    hey = {
        "changes": [
            {
                "op": "edit",
                "path": "src/app.py",
                "search": 'return "hello " + name',
                "replace": 'return "hey " + name',
            }
        ],
        "notes": "greet says hey",
    }
    Supervisor(FAST, model=workspace_model()).run("greet", tmp_path / "a", workspace=repo)
    model = workspace_model(code=[{"tool_input": hey}])
    Supervisor(FAST, model=model).run("greet", tmp_path / "b", workspace=repo)
    done = cli("diff", tmp_path / "a", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "changes (workspace): 2 files, 0 the same" in out
    assert "src/app.py: A modified, B modified: results differ" in out
    assert '  -    return "hi " + name\n  +    return "hey " + name\n' in out
    assert "src/extra.py: A added, B unchanged: results differ" in out
    assert "  --- A/src/extra.py\n  +++ /dev/null\n" in out


def test_two_runs_that_did_the_same_say_no_difference_and_exit_0(
    source: Path, tmp_path: Path
) -> None:
    Supervisor(FAST, model=scripted()).run(TASK, tmp_path / "again")
    done = cli("diff", source, tmp_path / "again")
    assert done.returncode == 0, done.stderr
    assert "no difference: the same events" in done.stdout
    assert "first differing event" not in done.stdout and "results differ" not in done.stdout
    assert done.stderr == ""


def _priced(cache_read: int, output: int) -> ScriptedModel:
    """A scripted model named as a priced Claude model, with every input token class used."""
    usage = {
        "input_tokens": 100,
        "cache_creation_input_tokens": 300,
        "cache_creation_1h_input_tokens": 100,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output,
    }
    script = {
        "plan": [
            {
                **answer({"summary": "s", "steps": [{"title": "t", "description": ""}]}),
                "usage": usage,
            }
        ],
        "code": [{**answer(CODE), "usage": usage}],
        "review": [{**answer(CHANGES), "usage": usage}],
    }
    return ScriptedModel(script, name="claude-opus-4-8")


def test_token_and_cost_deltas_are_the_stats_views_numbers(tmp_path: Path) -> None:
    Supervisor(FAST, model=_priced(1000, 50)).run(TASK, tmp_path / "a")
    Supervisor(FAST, model=_priced(4000, 80)).run(TASK, tmp_path / "b")
    data = _compared(tmp_path / "a", tmp_path / "b")
    totals = [json.loads(cli("stats", tmp_path / r, "--json").stdout)[-1] for r in "ab"]
    names = (
        "input_tokens",
        "cache_read_input_tokens",
        "cache_creation_5m_input_tokens",
        "cache_creation_1h_input_tokens",
        "output_tokens",
        "tokens",
        "cost_usd",
    )
    for name in names:
        figure = _figure(data, name)
        assert (figure["a"], figure["b"]) == (totals[0][name], totals[1][name]), name
        assert figure["delta"] == totals[1][name] - totals[0][name], name
    assert _figure(data, "cache_read_input_tokens")["delta"] == 3 * 3000
    assert _figure(data, "cost_usd")["delta"] > 0


def test_json_holds_every_part_of_the_comparison(source: Path, tmp_path: Path) -> None:
    what_if(source, tmp_path / "strict", prompts={"reviewer": STRICT}, live=scripted())
    data = _compared(source, tmp_path / "strict")
    assert set(data) == {
        "a",
        "b",
        "same_task",
        "identical",
        "lineage",
        "settings",
        "first_difference",
        "plan",
        "changes_kind",
        "changes",
        "tests",
        "figures",
    }
    assert set(data["a"]) == {"run", "workflow_id", "task", "status", "verdict"}
    assert data["lineage"]["child"] == "b" and data["lineage"]["what_if"] is True
    assert set(data["lineage"]["diverged"]) == {"seq", "step", "source_seq", "reason"}
    assert data["settings"] == [{"key": "prompts.reviewer", "a": None, "b": STRICT}]
    assert data["first_difference"]["a_type"] == "ModelCalled"
    assert set(data["plan"]) == {"same", "a", "b", "diff"}
    assert set(data["changes"][0]) == {"path", "a", "b", "same", "diff"}
    assert set(data["tests"]) == {"a", "b"}
    assert [f["name"] for f in data["figures"]][:4] == ["status", "verdict", "tests", "revisions"]
    assert all(set(f) == {"name", "a", "b", "delta"} for f in data["figures"])


def test_an_argument_that_is_no_run_is_refused_in_one_line_naming_it(
    source: Path, tmp_path: Path
) -> None:
    done = cli("diff", source, tmp_path / "nothing")
    assert done.returncode == 2
    assert done.stderr.startswith("agentlog: RUN_B: ") and "no such event log" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def test_a_file_that_holds_no_run_is_refused_in_one_line_naming_it(
    source: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an event log\n")
    done = cli("diff", notes, source)
    assert done.returncode == 2
    assert (
        done.stderr.startswith("agentlog: RUN_A: ") and "not an agentlog event log" in done.stderr
    )
    assert len(done.stderr.strip().splitlines()) == 1


def test_runs_of_different_tasks_are_compared_with_a_warning(source: Path, tmp_path: Path) -> None:
    Supervisor(FAST, model=scripted()).run("write goodbye(name)", tmp_path / "other")
    done = cli("diff", source, tmp_path / "other")
    assert done.returncode == 0
    assert done.stderr == "agentlog: warning: A and B are runs of different tasks\n"
    assert "B's task: write goodbye(name)" in done.stdout


def test_a_hostile_file_name_and_content_reach_the_terminal_escaped(tmp_path: Path) -> None:
    evil = "evil\x1b]0;owned\x07\u202e.py"
    files = [{"path": evil, "content": "x = 1\x1b[2J\u202e\n"}]
    Supervisor(FAST, model=scripted(code=[answer({"files": files})])).run(TASK, tmp_path / "a")
    Supervisor(FAST, model=scripted()).run(TASK, tmp_path / "b")
    done = cli("diff", tmp_path / "a", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout and "\x07" not in done.stdout
    assert '"evil\\033]0;owned\\a\\342\\200\\256.py": A written, B unchanged' in done.stdout
    assert "  -x = 1\\u001b[2J\\u202e" in done.stdout


@needs_bwrap
def test_tests_outcomes_and_counts_are_shown_side_by_side(tmp_path: Path) -> None:
    with_tests = msgspec.structs.replace(FAST, run_tests=True, test_timeout=30)
    for run, body in (("a", "assert 1 + 1 == 2"), ("b", "assert 1 + 1 == 3")):
        files = [{"path": "test_it.py", "content": f"def test_adds():\n    {body}\n"}]
        model = scripted(code=[answer({"files": files})])
        Supervisor(with_tests, model=model).run(TASK, tmp_path / run)
    data = _compared(tmp_path / "a", tmp_path / "b")
    assert _figure(data, "tests")["a"] == "passed" and _figure(data, "tests")["b"] == "failed"
    assert _figure(data, "tests failed") == {"name": "tests failed", "a": 0, "b": 1, "delta": 1}
    assert data["tests"]["b"]["counts"] == {"failed": 1}


@needs_bwrap
def test_agent_loops_are_compared_by_turns_tool_calls_and_their_last_test_command(
    tmp_path: Path,
) -> None:
    make_loop_run(tmp_path / "a", tmp_path / "wa")
    make_loop_run(tmp_path / "b", tmp_path / "wb", max_turns=3)  # stops before its fix
    data = _compared(tmp_path / "a", tmp_path / "b")
    totals = [json.loads(cli("stats", tmp_path / r, "--json").stdout)[-1] for r in "ab"]
    turns = _figure(data, "model_calls")
    assert (turns["a"], turns["b"]) == (totals[0]["model_calls"], totals[1]["model_calls"])
    assert turns["delta"] < 0 and _figure(data, "tool_calls")["delta"] < 0
    assert data["tests"]["a"]["by"] == "run_command" and data["tests"]["a"]["counts"] == {
        "passed": 3
    }
    assert data["tests"]["b"]["counts"] == {"failed": 1, "passed": 2}
    assert data["settings"] == [{"key": "max_turns", "a": 50, "b": 3}]


def test_a_fork_compared_with_its_source_names_the_events_it_shares_and_its_setting(
    source: Path, tmp_path: Path
) -> None:
    script = write_script(tmp_path / "s.json", review=[answer(CHANGES), answer(APPROVE)])
    fork = tmp_path / "fork"
    made = cli(
        "fork", source, "--at", "7", "--run-dir", fork, "--max-revisions", "1", "--script", script
    )
    assert made.returncode == 0, made.stderr
    done = cli("diff", source, fork)
    assert "B is a fork of A: it copied A's first 7 events (its marker is B seq 8)" in done.stdout
    assert "max_revisions: 0 | 1" in done.stdout


def test_two_plans_that_differ_are_shown_as_a_diff(source: Path, tmp_path: Path) -> None:
    steps = [{"title": "Write hello.py", "description": "hello(name)", "files": ["hello.py"]}]
    other = {"summary": "A greeting module, no test", "steps": steps, "risks": ["no tests"]}
    Supervisor(FAST, model=scripted(plan=[answer(other)])).run(TASK, tmp_path / "b")
    done = cli("diff", source, tmp_path / "b")
    assert "plan (A -> B):" in done.stdout
    assert "  -summary: A greeting module and its test\n" in done.stdout
    assert "  +summary: A greeting module, no test\n" in done.stdout
    assert "  +risk: no tests\n" in done.stdout
