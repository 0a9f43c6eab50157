"""parse_artifact: an answer becomes a validated artifact, or a precise ModelError."""

from __future__ import annotations

from typing import Any

import pytest

from actors.models import ModelError, ModelResponse, parse_artifact, path_problem
from events import CodeChange, FileChange, Plan, Review

PLAN_INPUT: dict[str, Any] = {
    "summary": "Add hello",
    "steps": [{"title": "Write hello.py", "description": "A function"}],
}


def answer(name: str, tool_input: Any, stop_reason: str = "tool_use") -> ModelResponse:
    block = {"type": "tool_use", "id": "toolu_1", "name": name, "input": tool_input}
    return ModelResponse(content=(block,), stop_reason=stop_reason)


def code_answer(*paths: str) -> ModelResponse:
    files = [{"path": p, "content": "x = 1\n"} for p in paths]
    return answer("submit_code", {"files": files, "notes": ""})


def parse_error(response: ModelResponse, kind: Any) -> ModelError:
    with pytest.raises(ModelError) as info:
        parse_artifact(response, kind)
    return info.value


def test_valid_plan_input_becomes_a_plan() -> None:
    plan = parse_artifact(answer("submit_plan", PLAN_INPUT), Plan)
    assert plan == Plan(summary="Add hello", steps=plan.steps)
    assert plan.steps[0].title == "Write hello.py"


def test_valid_code_input_becomes_a_code_change() -> None:
    code = parse_artifact(code_answer("pkg/hello.py"), CodeChange)
    assert code.files == (FileChange(path="pkg/hello.py", content="x = 1\n"),)


def test_valid_review_input_becomes_a_review() -> None:
    review_input = {
        "verdict": "request_changes",
        "summary": "Close",
        "comments": [{"severity": "error", "message": "Off by one", "path": "a.py", "line": 3}],
    }
    review = parse_artifact(answer("submit_review", review_input), Review)
    assert (review.verdict, review.comments[0].line) == ("request_changes", 3)


def test_invalid_field_names_its_path() -> None:
    bad = {"summary": "s", "steps": [{"title": 7, "description": "d"}]}
    err = parse_error(answer("submit_plan", bad), Plan)
    assert (err.kind, err.retryable) == ("invalid_output", True)
    assert "$.steps[0].title" in str(err)


def test_unknown_field_is_invalid_output() -> None:
    err = parse_error(answer("submit_plan", {**PLAN_INPUT, "extra": 1}), Plan)
    assert err.kind == "invalid_output"
    assert "extra" in str(err)


def test_validation_is_strict_about_types() -> None:
    bad = {
        "verdict": "approve",
        "summary": "ok",
        "comments": [{"severity": "info", "message": "m", "line": "3"}],
    }
    err = parse_error(answer("submit_review", bad), Review)
    assert "$.comments[0].line" in str(err)


def test_call_of_another_tool_is_invalid_output_naming_both() -> None:
    err = parse_error(answer("submit_review", PLAN_INPUT), Plan)
    assert err.kind == "invalid_output"
    assert "submit_plan" in str(err)
    assert "submit_review" in str(err)


def test_text_only_answer_is_invalid_output() -> None:
    response = ModelResponse(content=({"type": "text", "text": "hi"},), stop_reason="end_turn")
    err = parse_error(response, Plan)
    assert err.kind == "invalid_output"
    assert "without a tool call" in str(err)


def test_invalid_output_error_carries_the_response() -> None:
    response = answer("submit_plan", {"summary": ""})
    assert parse_error(response, Plan).response is response


def test_max_tokens_is_not_retryable_and_says_to_raise_max_tokens() -> None:
    err = parse_error(answer("submit_plan", PLAN_INPUT, stop_reason="max_tokens"), Plan)
    assert (err.kind, err.retryable) == ("max_tokens", False)
    assert "raise max_tokens" in str(err)


def test_full_context_window_is_not_retryable() -> None:
    response = answer("submit_plan", PLAN_INPUT, stop_reason="model_context_window_exceeded")
    err = parse_error(response, Plan)
    assert (err.kind, err.retryable) == ("max_tokens", False)


def test_refusal_is_its_own_kind_and_not_retryable() -> None:
    response = ModelResponse(content=(), stop_reason="refusal")
    err = parse_error(response, Plan)
    assert (err.kind, err.retryable, err.response) == ("refusal", False, response)
    assert "refused" in str(err)


def test_refusal_names_the_category_and_explanation_of_its_stop_details() -> None:
    details = {"type": "refusal", "category": "cyber", "explanation": "could enable\nharm."}
    response = ModelResponse(content=(), stop_reason="refusal", stop_details=details)
    assert "(category cyber: could enable harm.)" in str(parse_error(response, Plan))


def test_refusal_wins_over_a_tool_call_in_the_same_answer() -> None:
    response = answer("submit_plan", PLAN_INPUT, stop_reason="refusal")
    assert parse_error(response, Plan).kind == "refusal"


def test_refusal_with_null_details_says_no_category() -> None:
    details = {"type": "refusal", "category": None, "explanation": None}
    response = ModelResponse(content=(), stop_reason="refusal", stop_details=details)
    assert "category" not in str(parse_error(response, Plan))


@pytest.mark.parametrize("path", ["../evil.py", "/etc/passwd", "a/../../b", "C:/x.py", "a\\b.py"])
def test_code_path_escaping_the_workspace_is_invalid_output(path: str) -> None:
    err = parse_error(code_answer("ok.py", path), CodeChange)
    assert (err.kind, err.retryable) == ("invalid_output", True)
    assert "$.files[1].path" in str(err)


def test_duplicate_code_paths_are_invalid_output() -> None:
    err = parse_error(code_answer("a.py", "./a.py"), CodeChange)
    assert "appears twice" in str(err)


@pytest.mark.parametrize("path", ["a.py", "src/pkg/__init__.py", ".github/workflows/ci.yml"])
def test_relative_paths_inside_the_workspace_are_accepted(path: str) -> None:
    assert path_problem(path) is None
