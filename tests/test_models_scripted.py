"""ScriptedModel: canned answers in order, errors, raw content, delays, files, threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.models import (
    ModelError,
    ModelRequest,
    ScriptedModel,
    ScriptError,
    build_request,
    parse_artifact,
)
from events import Plan

PLAN_INPUT: dict[str, Any] = {
    "summary": "Add hello",
    "steps": [{"title": "Write hello.py", "description": "A function"}],
}
PLAN_REQUEST = build_request("plan", task="hello", model="claude-x", max_tokens=100)


def plan_summary(model: ScriptedModel, request: ModelRequest = PLAN_REQUEST) -> str:
    return parse_artifact(model.call(request, timeout=5), Plan).summary


def with_summary(summary: str) -> dict[str, Any]:
    return {"tool_input": {**PLAN_INPUT, "summary": summary}}


def test_tool_input_spec_answers_with_a_call_of_the_requests_tool() -> None:
    response = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT}]}).call(PLAN_REQUEST, timeout=5)
    (block,) = response.content
    assert (block["type"], block["name"], block["input"]) == ("tool_use", "submit_plan", PLAN_INPUT)
    assert response.stop_reason == "tool_use"
    assert response.model == "claude-x"


def test_answers_are_served_in_order_and_the_last_repeats() -> None:
    model = ScriptedModel({"plan": [with_summary("one"), with_summary("two")]})
    assert [plan_summary(model) for _ in range(4)] == ["one", "two", "two", "two"]


def test_each_step_has_its_own_queue() -> None:
    code_request = build_request(
        "code", task="hello", plan=Plan(summary="s", steps=()), model="m", max_tokens=9
    )
    model = ScriptedModel(
        {"plan": [with_summary("p")], "code": [{"tool_input": {"files": [], "notes": "n"}}]}
    )
    model.call(code_request, timeout=5)
    assert plan_summary(model) == "p"


@pytest.mark.parametrize(
    ("kind", "retryable"), [("rate_limit", True), ("timeout", True), ("auth", False)]
)
def test_error_spec_raises_model_error_retryable_per_kind(kind: str, retryable: bool) -> None:
    model = ScriptedModel({"plan": [{"error": {"kind": kind, "message": "scripted"}}]})
    with pytest.raises(ModelError) as info:
        model.call(PLAN_REQUEST, timeout=5)
    assert (info.value.kind, info.value.retryable, str(info.value)) == (kind, retryable, "scripted")


def test_error_spec_can_override_retryable() -> None:
    model = ScriptedModel({"plan": [{"error": {"kind": "server_error", "retryable": False}}]})
    with pytest.raises(ModelError) as info:
        model.call(PLAN_REQUEST, timeout=5)
    assert info.value.retryable is False


def test_failures_then_success_follow_the_script() -> None:
    model = ScriptedModel({"plan": [{"error": {"kind": "overloaded"}}, with_summary("ok")]})
    with pytest.raises(ModelError):
        model.call(PLAN_REQUEST, timeout=5)
    assert plan_summary(model) == "ok"


def test_raw_content_is_served_as_given() -> None:
    content = [{"type": "text", "text": "no tool"}]
    response = ScriptedModel({"plan": [{"content": content}]}).call(PLAN_REQUEST, timeout=5)
    assert response.content == ({"type": "text", "text": "no tool"},)
    assert response.stop_reason == "end_turn"


def test_stop_reason_can_be_scripted() -> None:
    model = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT, "stop_reason": "max_tokens"}]})
    assert model.call(PLAN_REQUEST, timeout=5).stop_reason == "max_tokens"


def test_usage_is_plausible_and_caches_the_prefix_after_the_first_call() -> None:
    model = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT}]})
    first = model.call(PLAN_REQUEST, timeout=5).usage
    second = model.call(PLAN_REQUEST, timeout=5).usage
    assert first.input_tokens > 0 and first.output_tokens > 0
    assert first.cache_creation_input_tokens > 0 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0


def test_answers_are_deterministic() -> None:
    script = {"plan": [{"tool_input": PLAN_INPUT}]}
    one = ScriptedModel(script).call(PLAN_REQUEST, timeout=5)
    other = ScriptedModel(script).call(PLAN_REQUEST, timeout=5)
    assert one == other


def test_delay_longer_than_the_timeout_is_a_timeout_bounded_by_the_timeout() -> None:
    model = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT, "delay": 600}]})
    with pytest.raises(ModelError) as info:  # a call that waited the delay: the test's timeout
        model.call(PLAN_REQUEST, timeout=0.05)
    assert (info.value.kind, info.value.retryable) == ("timeout", True)


def test_global_delay_applies_to_every_call() -> None:
    model = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT}]}, delay=0.02)
    assert model.call(PLAN_REQUEST, timeout=5).latency_ms == 20.0


def test_step_without_answers_is_a_non_retryable_error() -> None:
    model = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT}]})
    review = build_request("review", task="t", model="m", max_tokens=9)
    with pytest.raises(ModelError, match="no answers for step 'review'") as info:
        model.call(review, timeout=5)
    assert info.value.retryable is False


def test_requests_are_recorded() -> None:
    model = ScriptedModel({"plan": [{"tool_input": PLAN_INPUT}]})
    model.call(PLAN_REQUEST, timeout=5)
    assert model.calls == (PLAN_REQUEST,)


def test_from_file_loads_a_json_script(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"plan": [with_summary("from file")]}))
    assert plan_summary(ScriptedModel.from_file(path)) == "from file"


def test_from_file_names_the_file_and_field_of_an_invalid_script(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"plan": [{"error": {"kind": "nope"}}]}))
    with pytest.raises(ScriptError, match=r"script\.json: .*plan\[0\].*\$\.error\.kind"):
        ScriptedModel.from_file(path)


def test_from_file_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read model script"):
        ScriptedModel.from_file(tmp_path / "absent.json")


def test_spec_with_two_answers_is_rejected() -> None:
    with pytest.raises(ScriptError, match="exactly one of"):
        ScriptedModel({"plan": [{"tool_input": PLAN_INPUT, "error": {"kind": "auth"}}]})


def test_unknown_step_is_rejected() -> None:
    with pytest.raises(ScriptError, match="'deploy' is unknown"):
        ScriptedModel({"deploy": [{"tool_input": {}}]})


def test_empty_answer_list_is_rejected() -> None:
    with pytest.raises(ScriptError, match="non-empty list"):
        ScriptedModel({"plan": []})


def test_concurrent_calls_each_get_one_answer() -> None:
    model = ScriptedModel({"plan": [with_summary(str(i)) for i in range(200)]})
    summaries: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            summary = plan_summary(model)
            with lock:
                summaries.append(summary)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(summaries, key=int) == [str(i) for i in range(200)]
