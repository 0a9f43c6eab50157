"""build_request: deterministic prompts that give each role what it needs."""

from __future__ import annotations

import hashlib
import re

import pytest

from actors.models import PromptError, build_request, request_bytes, request_digest
from events import (
    CodeChange,
    FileChange,
    Plan,
    PlanStep,
    Review,
    ReviewComment,
    Step,
    TestsRan,
    artifact_schema,
)

TASK = "Write a hello() function that greets by name"
PLAN = Plan(
    summary="A single module with hello()",
    steps=(
        PlanStep(title="Write hello.py", description="Define hello(name)", files=("hello.py",)),
    ),
    risks=("Empty names",),
)
CODE = CodeChange(
    files=(FileChange(path="hello.py", content="def hello(name):\n    return f'hi {name}'\n"),),
    notes="Run python -c 'import hello'",
)
REVIEW = Review(
    verdict="request_changes",
    summary="Handle empty names",
    comments=(
        ReviewComment(severity="error", message="Empty name crashes", path="hello.py", line=2),
    ),
)
TESTS = TestsRan(command=("pytest", "-q"), exit_code=1, output="1 failed", truncated=True)


def user_text(
    step: Step,
    *,
    plan: Plan | None = None,
    code: CodeChange | None = None,
    review: Review | None = None,
    tests: TestsRan | None = None,
) -> str:
    request = build_request(
        step, task=TASK, plan=plan, code=code, review=review, tests=tests, model="m", max_tokens=9
    )
    return str(request.messages[0]["content"])


@pytest.mark.parametrize(
    ("step", "tool", "kind"),
    [
        ("plan", "submit_plan", Plan),
        ("code", "submit_code", CodeChange),
        ("review", "submit_review", Review),
    ],
)
def test_request_asks_for_the_steps_artifact_tool(step: Step, tool: str, kind: type) -> None:
    request = build_request(step, task=TASK, plan=PLAN, code=CODE, model="m", max_tokens=100)
    assert (request.tool_name, request.input_schema) == (tool, artifact_schema(kind))
    assert request.step == step


def test_request_carries_model_and_max_tokens() -> None:
    request = build_request("plan", task=TASK, model="claude-x", max_tokens=777)
    assert (request.model, request.max_tokens) == ("claude-x", 777)


def test_planner_sees_the_task_in_a_single_user_message() -> None:
    request = build_request("plan", task=TASK, model="m", max_tokens=100)
    assert [m["role"] for m in request.messages] == ["user"]
    assert TASK in user_text("plan")


def test_same_inputs_give_the_same_digest() -> None:
    first = build_request(
        "review", task=TASK, plan=PLAN, code=CODE, tests=TESTS, model="m", max_tokens=9
    )
    again = build_request(
        "review", task=TASK, plan=PLAN, code=CODE, tests=TESTS, model="m", max_tokens=9
    )
    assert request_digest(first) == request_digest(again)
    assert re.fullmatch(r"[0-9a-f]{64}", request_digest(first))


def test_a_digested_request_keeps_the_bytes_it_was_hashed_from() -> None:
    request = build_request("plan", task=TASK, model="m", max_tokens=9)
    digest = request_digest(request)
    kept = request_bytes(request)
    assert request_bytes(request) is kept  # encoded once, not again for objects/
    assert hashlib.sha256(kept).hexdigest() == digest
    other = build_request("plan", task=TASK + "?", model="m", max_tokens=9)
    assert request_bytes(other) != kept
    assert request_bytes(request) == kept


def test_digest_changes_with_the_model() -> None:
    one = build_request("plan", task=TASK, model="a", max_tokens=9)
    other = build_request("plan", task=TASK, model="b", max_tokens=9)
    assert request_digest(one) != request_digest(other)


def test_digest_changes_with_the_task() -> None:
    one = build_request("plan", task=TASK, model="a", max_tokens=9)
    other = build_request("plan", task=TASK + "!", model="a", max_tokens=9)
    assert request_digest(one) != request_digest(other)


def test_coder_sees_task_and_plan() -> None:
    text = user_text("code", plan=PLAN)
    assert TASK in text
    assert "Write hello.py" in text
    assert "Define hello(name)" in text
    assert "Files: hello.py" in text
    assert "Empty names" in text


def test_coder_first_pass_has_no_review() -> None:
    assert "<review>" not in user_text("code", plan=PLAN)


def test_coder_revision_sees_review_comments_and_previous_files() -> None:
    text = user_text("code", plan=PLAN, code=CODE, review=REVIEW)
    assert "[error] hello.py:2: Empty name crashes" in text
    assert '<file path="hello.py">' in text
    assert "revision" in text


def test_coder_without_plan_is_a_prompt_error() -> None:
    with pytest.raises(PromptError, match="needs the plan"):
        build_request("code", task=TASK, model="m", max_tokens=9)


def test_reviewer_sees_task_plan_files_with_paths_and_notes() -> None:
    text = user_text("review", plan=PLAN, code=CODE)
    assert TASK in text
    assert "A single module with hello()" in text
    assert '<file path="hello.py">\ndef hello(name):' in text
    assert "Run python -c 'import hello'" in text


def test_reviewer_sees_the_test_run_output() -> None:
    text = user_text("review", plan=PLAN, code=CODE, tests=TESTS)
    assert "Command: pytest -q" in text
    assert "exit code 1" in text
    assert "1 failed" in text
    assert "(output truncated)" in text


def test_reviewer_is_told_when_the_coder_failed() -> None:
    assert "the Coder failed" in user_text("review", plan=PLAN)


@pytest.mark.parametrize("step", ["plan", "code", "review"])
def test_system_prompt_requires_the_tool_and_relative_paths(step: Step) -> None:
    request = build_request(step, task=TASK, plan=PLAN, model="m", max_tokens=9)
    assert f"calling the {request.tool_name} tool" in request.system
    assert "relative to the workspace" in request.system
    assert "'..'" in request.system
