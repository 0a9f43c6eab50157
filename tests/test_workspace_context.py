"""What the models see of a workspace: a map within the budget, named files whole, what
was left out recorded and told, and files asked for served from the base."""

from __future__ import annotations

from pathlib import Path

import pytest
from _repo import EDIT_APP, PLAN_APP, commit_all, git, make_big_tree, make_repo, needs_git
from _workflow import FAST, KEY, of_type
from fake_anthropic import FakeAnthropic

from actors import Supervisor, replay
from actors.models import AnthropicModel, ScriptedModel
from actors.workspace.context import outline, repository_map
from events import ContextPacked, FilesRequested, ModelCalled, WorkflowConfig
from store import ObjectStore, base_tree, record_base

pytestmark = needs_git

APPROVE = {"verdict": "approve", "summary": "ok"}


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of 2,000 Python modules (about 400 KB)."""
    root = tmp_path_factory.mktemp("big") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    make_big_tree(root, files=2000)
    commit_all(root, "two thousand modules")
    return root


def test_the_outline_lists_top_level_definitions() -> None:
    source = "import os\n\ndef f(a, b):\n    pass\n\nclass C:\n    def m(self): ...\n"
    assert outline("x.py", source) == ["def f(a, b)", "class C"]
    assert outline("x.txt", source) == []
    assert outline("bad.py", "def (:\n") == []


def test_a_map_that_fits_has_every_path_size_and_outline(tmp_path: Path) -> None:
    base = record_base(make_repo(tmp_path / "repo"), tmp_path / "run")
    packed = repository_map(base_tree(base, ObjectStore(tmp_path / "run")), 10_000)
    assert packed.left_out == []
    assert "src/app.py (" in packed.text and "    def greet(name)" in packed.text


def test_a_big_repository_map_keeps_within_the_budget_and_names_what_it_left_out(
    big_repo: Path, tmp_path: Path
) -> None:
    base = record_base(big_repo, tmp_path / "run")
    tree = base_tree(base, ObjectStore(tmp_path / "run"))
    packed = repository_map(tree, 20_000)
    assert packed.tokens <= 20_000
    assert len(packed.shown) == 2000  # every path listed, outlines while they fit
    assert packed.left_out and all("outline left out" in lo.reason for lo in packed.left_out)
    tiny = repository_map(tree, 2_000)
    assert tiny.tokens <= 2_000 and len(tiny.shown) < 2000
    assert len(tiny.shown) + len(tiny.left_out) == 2000


def test_the_planner_is_told_what_did_not_fit_and_it_is_recorded(
    big_repo: Path, tmp_path: Path
) -> None:
    plan = {
        "summary": "s",
        "steps": [{"title": "t", "description": "d", "files": ["pkg0/mod_0.py"]}],
    }
    edit = {"changes": [{"op": "edit", "path": "pkg0/mod_0.py", "search": "x + 0", "replace": "x"}]}
    model = ScriptedModel(
        {
            "plan": [{"tool_input": plan}],
            "code": [{"tool_input": edit}],
            "review": [{"tool_input": APPROVE}],
        }
    )
    config = WorkflowConfig(backoff_base=0, step_timeout=30, context_tokens=8_000)
    run = tmp_path / "run"
    assert Supervisor(config, model=model).run("simplify", run, workspace=big_repo).ok
    packed = {ev.step: ev for ev in of_type(run, ContextPacked)}
    assert packed["plan"].left_out and packed["plan"].tokens <= 8_000
    assert packed["code"].full == ("pkg0/mod_0.py",)
    planner, coder = model.calls[0], model.calls[1]
    assert "<left_out>" in planner.messages[0]["content"]
    assert len(planner.messages[0]["content"]) / 4 < 8_000 + 1_000  # the note is short too
    assert packed["plan"].left_out[0].path in planner.messages[0]["content"]
    assert "def func_0(x):\n    return x + 0" in coder.messages[0]["content"]


def test_files_the_coder_asks_for_are_served_from_the_base_and_recorded(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    ask = {"read_files": ["README.md", "missing.py", "../etc/passwd"]}
    model = ScriptedModel(
        {
            "plan": [{"tool_input": PLAN_APP}],
            "code": [{"tool_input": ask}, {"tool_input": EDIT_APP}],
            "review": [{"tool_input": APPROVE}],
        }
    )
    run = tmp_path / "run"
    assert Supervisor(FAST, model=model).run("greet", run, workspace=repo).ok
    (asked,) = of_type(run, FilesRequested)
    assert asked.served == ("README.md",)
    assert {lo.path for lo in asked.left_out} == {"missing.py", "../etc/passwd"}
    follow_up = model.calls[2]
    result = follow_up.messages[-1]["content"][0]
    assert (
        result["type"] == "tool_result" and '<file path="README.md">\n# demo\n' in result["content"]
    )
    assert len(of_type(run, ModelCalled)) == 4
    assert replay(run).ok


def test_asking_for_files_forever_is_a_retryable_invalid_output(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    model = ScriptedModel(
        {
            "plan": [{"tool_input": PLAN_APP}],
            "code": [{"tool_input": {"read_files": ["README.md"]}}],
            "review": [{"tool_input": APPROVE}],
        }
    )
    config = WorkflowConfig(backoff_base=0, step_timeout=10, max_retries=0)
    result = Supervisor(config, model=model).run("greet", tmp_path / "run", workspace=repo)
    assert result.status == "failed"
    assert result.error is not None and "asked to read files 4 times" in result.error.message


def test_the_real_sdk_runs_a_workspace_against_the_fake_server(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    fake_anthropic.reply_tool_use(PLAN_APP)
    fake_anthropic.reply_tool_use({"read_files": ["README.md"]})
    fake_anthropic.reply_tool_use(EDIT_APP)
    fake_anthropic.reply_tool_use(APPROVE)
    model = AnthropicModel("claude-sonnet-5-5", api_key=KEY, base_url=fake_anthropic.url)
    run = tmp_path / "run"
    assert Supervisor(FAST, model=model).run("greet with hi", run, workspace=repo).ok
    bodies = [r.body for r in fake_anthropic.requests]
    assert [[t["name"] for t in b["tools"]] for b in bodies] == [
        ["submit_plan"],
        ["submit_code"],
        ["submit_code"],
        ["submit_review"],
    ]
    third = bodies[2]["messages"]
    assert third[1]["role"] == "assistant" and third[1]["content"][0]["type"] == "tool_use"
    assert third[2]["content"][0]["tool_use_id"] == third[1]["content"][0]["id"]
    assert "diff --git a/src/app.py" in bodies[3]["messages"][0]["content"]
    assert 'return "hi " + name' in (run / "files" / "src" / "app.py").read_text()
    assert KEY not in (run / "events.jsonl").read_text()
    assert replay(run).ok


def test_the_reviewer_is_told_when_there_is_no_test_command(tmp_path: Path) -> None:
    from _repo import APP, workspace_model

    repo = make_repo(tmp_path / "repo", {"src/app.py": APP})  # no tests at all
    model = workspace_model()
    config = WorkflowConfig(backoff_base=0, step_timeout=10, run_tests=True)
    assert Supervisor(config, model=model).run("hi", tmp_path / "run", workspace=repo).ok
    review = model.calls[-1].messages[0]["content"]
    assert (
        "<test_run>\nNo test command: none was given (--test-cmd) and none was detected." in review
    )


def test_the_reviewer_is_told_when_the_tests_were_not_run(tmp_path: Path) -> None:
    from _repo import workspace_model

    model = workspace_model()
    run = tmp_path / "run"
    assert Supervisor(FAST, model=model).run("hi", run, workspace=make_repo(tmp_path / "r")).ok
    assert "The tests were not run (run with --run-tests" in model.calls[-1].messages[0]["content"]
