"""The real ``AnthropicModel`` (through the real SDK) against the offline fake Messages API."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fake_anthropic import FakeAnthropic

from actors.models import (
    AnthropicModel,
    ModelError,
    ModelRequest,
    ModelResponse,
    build_request,
    parse_artifact,
)
from events import Plan, Usage, artifact_schema

KEY = "sk-ant-" + "test-0123456789abcdef-SECRET"  # fake; split so it reads as no real key
MODEL = "claude-sonnet-5-5"
PLAN_INPUT: dict[str, Any] = {
    "summary": "Add a greeting module",
    "steps": [
        {"title": "Write hello.py", "description": "A hello() function", "files": ["hello.py"]}
    ],
}


@pytest.fixture
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def model(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel(MODEL, api_key=KEY, base_url=server.url)


@pytest.fixture
def request_() -> ModelRequest:
    return build_request("plan", task="Write a greeting module", model=MODEL, max_tokens=1024)


def call_error(model: AnthropicModel, request: ModelRequest, timeout: float = 10) -> ModelError:
    with pytest.raises(ModelError) as info:
        model.call(request, timeout=timeout)
    return info.value


def test_tool_use_answer_parses_into_a_plan(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    plan = parse_artifact(model.call(request_, timeout=10), Plan)
    assert plan.summary == "Add a greeting module"
    assert plan.steps[0].files == ("hello.py",)


def test_response_records_usage_with_cache_tokens(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    usage = {
        "input_tokens": 11,
        "output_tokens": 22,
        "cache_creation_input_tokens": 33,
        "cache_read_input_tokens": 44,
    }
    server.reply_tool_use(PLAN_INPUT, usage=usage)
    response = model.call(request_, timeout=10)
    assert response.usage == Usage(**usage)


def test_missing_cache_token_counts_become_zero(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_text("no tool", stop_reason="end_turn")
    response = model.call(request_, timeout=10)
    assert response.usage.cache_creation_input_tokens == 0
    assert response.usage.cache_read_input_tokens == 0


def test_response_keeps_content_blocks_as_plain_dicts(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT, text="Here is the plan.")
    response = model.call(request_, timeout=10)
    assert response.content == (
        {"type": "text", "text": "Here is the plan."},
        {"type": "tool_use", "id": "toolu_fake_0001", "name": "submit_plan", "input": PLAN_INPUT},
    )
    assert (response.stop_reason, response.model, response.response_id) == (
        "tool_use",
        MODEL,
        "msg_fake_0001",
    )
    assert response.latency_ms > 0


def test_request_offers_only_the_artifact_tool(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    model.call(request_, timeout=10)
    assert [tool["name"] for tool in server.requests[0].body["tools"]] == ["submit_plan"]


def test_a_model_that_allows_it_is_forced_to_call_the_artifact_tool(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    request = build_request("plan", task="greet", model="claude-opus-4-8", max_tokens=1024)
    model.call(request, timeout=10)
    assert server.requests[0].body["tool_choice"] == {
        "type": "tool",
        "name": "submit_plan",
        "disable_parallel_tool_use": True,
    }


@pytest.mark.parametrize("name", ["claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1"])
def test_a_model_known_to_reject_forcing_is_offered_the_tool_with_auto(
    server: FakeAnthropic, model: AnthropicModel, name: str
) -> None:
    server.reject_forced_tool_choice = True
    server.reply_tool_use(PLAN_INPUT)
    request = build_request("plan", task="greet", model=name, max_tokens=1024)
    plan = parse_artifact(model.call(request, timeout=10), Plan)
    assert plan.summary == PLAN_INPUT["summary"]
    assert len(server.requests) == 1
    assert server.requests[0].body["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }


def test_a_model_rejecting_forcing_is_asked_again_at_once_with_auto(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.reject_forced_tool_choice = True
    server.reply_tool_use(PLAN_INPUT)
    request = build_request("plan", task="greet", model="claude-newer-9", max_tokens=1024)
    parse_artifact(model.call(request, timeout=10), Plan)
    sent = [r.body["tool_choice"]["type"] for r in server.requests]
    assert sent == ["tool", "auto"]


def test_after_one_rejection_the_model_is_asked_with_auto_straight_away(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.reject_forced_tool_choice = True
    server.reply_tool_use(PLAN_INPUT)
    server.reply_tool_use(PLAN_INPUT)
    request = build_request("plan", task="greet", model="claude-newer-9", max_tokens=1024)
    model.call(request, timeout=10)
    model.call(request, timeout=10)
    assert [r.body["tool_choice"]["type"] for r in server.requests] == ["tool", "auto", "auto"]


def test_another_bad_request_is_not_asked_again(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.reply_bad_request("messages: at least one message is required")
    request = build_request("plan", task="greet", model="claude-newer-9", max_tokens=1024)
    with pytest.raises(ModelError):
        model.call(request, timeout=10)
    assert len(server.requests) == 1


def test_request_input_schema_is_the_plan_schema(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    model.call(request_, timeout=10)
    sent = server.requests[0].body["tools"][0]["input_schema"]
    assert sent == json.loads(json.dumps(artifact_schema(Plan)))


def test_system_prompt_is_sent_with_ephemeral_cache_control(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    model.call(request_, timeout=10)
    assert server.requests[0].body["system"] == [
        {"type": "text", "text": request_.system, "cache_control": {"type": "ephemeral"}}
    ]


def test_request_carries_model_messages_and_max_tokens(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    model.call(request_, timeout=10)
    body = server.requests[0].body
    assert (body["model"], body["max_tokens"]) == (MODEL, 1024)
    assert body["messages"] == list(request_.messages)


def test_api_key_travels_in_the_auth_header(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    model.call(request_, timeout=10)
    assert FakeAnthropic.sent_key(server.requests[0]) == KEY


def test_environment_key_and_base_url_are_honored(
    server: FakeAnthropic, request_: ModelRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-from-env-000")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    server.reply_tool_use(PLAN_INPUT)
    AnthropicModel(MODEL).call(request_, timeout=10)
    assert FakeAnthropic.sent_key(server.requests[0]) == "sk-ant-test-from-env-000"


def test_missing_credentials_is_a_non_retryable_auth_error(
    server: FakeAnthropic,
    request_: ModelRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))
    err = call_error(AnthropicModel(MODEL, base_url=server.url), request_)
    assert (err.kind, err.retryable) == ("auth", False)
    assert "ANTHROPIC_API_KEY" in str(err)


def test_sdk_does_not_retry_on_its_own(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_server_error()
    server.reply_tool_use(PLAN_INPUT)
    call_error(model, request_)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("program", "kind", "retryable", "status"),
    [
        (FakeAnthropic.reply_rate_limited, "rate_limit", True, 429),
        (FakeAnthropic.reply_overloaded, "overloaded", True, 529),
        (FakeAnthropic.reply_server_error, "server_error", True, 500),
        (FakeAnthropic.reply_auth_error, "auth", False, 401),
        (FakeAnthropic.reply_bad_request, "bad_request", False, 400),
    ],
    ids=["429", "529", "500", "401", "400"],
)
def test_http_error_status_maps_to_error_kind(
    server: FakeAnthropic,
    model: AnthropicModel,
    request_: ModelRequest,
    program: Any,
    kind: str,
    retryable: bool,
    status: int,
) -> None:
    program(server)
    err = call_error(model, request_)
    assert (err.kind, err.retryable, err.status_code) == (kind, retryable, status)
    assert err.response is None


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [(403, "permission_error", "permission"), (404, "not_found_error", "not_found")],
)
def test_permission_and_not_found_are_not_retryable(
    server: FakeAnthropic,
    model: AnthropicModel,
    request_: ModelRequest,
    status: int,
    error_type: str,
    kind: str,
) -> None:
    server.reply_error(status, error_type, "nope")
    err = call_error(model, request_)
    assert (err.kind, err.retryable) == (kind, False)


def test_rate_limit_error_carries_the_retry_after_hint(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_rate_limited(retry_after=7)
    err = call_error(model, request_)
    assert err.retry_after == 7.0
    assert "rate limit" in str(err)


def test_error_message_quotes_the_api_message_and_request_id(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_bad_request("messages: at least one message is required")
    err = call_error(model, request_)
    assert "messages: at least one message is required" in str(err)
    assert "HTTP 400" in str(err)
    assert "req_fake_1" in str(err)


def test_slow_answer_times_out_within_the_timeout(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT, delay=600)  # answered only if the timeout failed
    err = call_error(model, request_, timeout=0.5)
    assert (err.kind, err.retryable) == ("timeout", True)


def test_unreachable_server_is_a_retryable_connection_error(request_: ModelRequest) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = AnthropicModel(MODEL, api_key=KEY, base_url=f"http://127.0.0.1:{port}")
    err = call_error(model, request_, timeout=5)
    assert (err.kind, err.retryable) == ("connection", True)


def test_malformed_tool_input_is_retryable_invalid_output_with_the_response(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use({"summary": 42, "steps": []})
    response = model.call(request_, timeout=10)
    with pytest.raises(ModelError) as info:
        parse_artifact(response, Plan)
    assert (info.value.kind, info.value.retryable) == ("invalid_output", True)
    assert info.value.response == response
    assert "$.summary" in str(info.value)


def test_answer_without_tool_call_is_invalid_output(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_text("I would rather chat.")
    with pytest.raises(ModelError) as info:
        parse_artifact(model.call(request_, timeout=10), Plan)
    assert (info.value.kind, info.value.retryable) == ("invalid_output", True)
    assert "submit_plan" in str(info.value)


def test_max_tokens_stop_reason_is_a_non_retryable_max_tokens_error(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use({"summary": "trunc"}, stop_reason="max_tokens")
    response = model.call(request_, timeout=10)
    with pytest.raises(ModelError) as info:
        parse_artifact(response, Plan)
    assert (info.value.kind, info.value.retryable) == ("max_tokens", False)
    assert "raise max_tokens" in str(info.value)
    assert info.value.response == response


@pytest.mark.parametrize(
    "program",
    [
        lambda s: s.reply_error(401, "authentication_error", f"invalid x-api-key {KEY}"),
        lambda s: s.reply_error(400, "invalid_request_error", f"bad header {KEY}"),
        lambda s: s.reply_error(500, "api_error", f"boom sk-ant-api03-{'x' * 20}"),
        lambda s: s.reply_tool_use(PLAN_INPUT, delay=10),
    ],
    ids=["401-echo", "400-echo", "500-other-key", "timeout"],
)
def test_api_key_never_appears_in_errors_or_reprs(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest, program: Any
) -> None:
    program(server)
    err = call_error(model, request_, timeout=0.5)
    shown = [str(err), repr(err), repr(model), repr(err.args)]
    assert not any(KEY in text or "sk-ant-api03" in text for text in shown)
    assert err.__cause__ is None
    assert err.__suppress_context__


def test_api_key_never_appears_in_a_response_repr(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_tool_use(PLAN_INPUT)
    response = model.call(request_, timeout=10)
    assert isinstance(response, ModelResponse)
    assert KEY not in repr(response)
    assert KEY not in repr(model)


def test_request_model_is_the_model_sent(server: FakeAnthropic, request_: ModelRequest) -> None:
    server.reply_tool_use(PLAN_INPUT)
    AnthropicModel("claude-haiku-5-5", api_key=KEY, base_url=server.url).call(request_, timeout=10)
    assert server.requests[0].body["model"] == MODEL


def test_fake_server_shutdown_does_not_wait_for_a_delayed_reply(request_: ModelRequest) -> None:
    with FakeAnthropic() as fake:
        fake.reply_tool_use(PLAN_INPUT, delay=600)  # a wait for it is caught by the test timeout
        model = AnthropicModel(MODEL, api_key=KEY, base_url=fake.url)
        call_error(model, request_, timeout=0.3)
    assert fake.requests  # the server was reached and has shut down with the reply pending


def test_a_model_offered_auto_is_not_asked_again_on_a_400_naming_tool_choice(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_bad_request("tool_choice: some other problem")
    with pytest.raises(ModelError):
        model.call(request_, timeout=10)
    assert len(server.requests) == 1
