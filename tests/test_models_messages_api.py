"""Real Messages API shapes, through the real SDK: what agentlog records and what it decides.

Each shape in ``tests/fixtures/messages_api/`` (status, headers and body as the API sends
them) is served by the fake API to the real ``anthropic`` client. The first half checks
what :class:`AnthropicModel` makes of it (the recorded response or the error); the second
runs a whole workflow on it and checks the supervisor's decision (go on, retry after how
long, or stop).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CODE, FAST, KEY, kinds, of_type
from fake_anthropic import FakeAnthropic, fixture_names, load_fixture

from actors import Supervisor, WorkflowConfig
from actors.models import AnthropicModel, ModelError, ModelRequest, build_request, parse_artifact
from actors.replaying import replay
from events import ModelCalled, Plan, StepFailed, Usage, WorkflowCompleted, WorkflowFailed

MODEL = "claude-sonnet-5-5"
ANSWERS = [
    "tool_use_forced",
    "thinking_then_tool_use",
    "redacted_thinking_then_tool_use",
    "text_then_tool_use",
    "cache_usage_5m_1h",
]
REFUSALS = ["refusal_empty_content", "refusal_empty_text"]
ERRORS = {  # fixture -> (kind, retryable)
    "error_400_invalid_request": ("bad_request", False),
    "error_401_authentication": ("auth", False),
    "error_403_permission": ("permission", False),
    "error_404_not_found": ("not_found", False),
    "error_413_request_too_large": ("bad_request", False),
    "error_429_rate_limit": ("rate_limit", True),
    "error_500_api": ("server_error", True),
    "error_529_overloaded": ("overloaded", True),
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


def call_error(model: AnthropicModel, request: ModelRequest) -> ModelError:
    with pytest.raises(ModelError) as info:
        parse_artifact(model.call(request, timeout=10), Plan)
    return info.value


def run(server: FakeAnthropic, run_dir: Path, config: WorkflowConfig = FAST) -> list[float]:
    """Run a workflow on the fake API; the waits the supervisor chose between attempts."""
    slept: list[float] = []
    claude = AnthropicModel(MODEL, api_key=KEY, base_url=server.url)
    Supervisor(config, model=claude, sleep=slept.append).run("write a greeting", run_dir)
    return slept


def queue_code_and_review(server: FakeAnthropic) -> None:
    server.reply_tool_use(CODE)
    server.reply_tool_use(APPROVE)


def test_every_fixture_is_a_complete_response_shape() -> None:
    names = fixture_names()
    assert set(ANSWERS + REFUSALS + list(ERRORS) + ["max_tokens_truncated_tool_input"]) == set(
        names
    )
    for name in names:
        fixture = load_fixture(name)
        assert set(fixture) == {"about", "status", "headers", "body"}, name
        assert fixture["body"]["type"] == ("message" if fixture["status"] == 200 else "error")


# -- what is recorded -------------------------------------------------------------------


@pytest.mark.parametrize("name", ANSWERS)
def test_answer_shapes_keep_every_content_block_as_sent(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest, name: str
) -> None:
    sent = server.reply_fixture(name)["body"]
    response = model.call(request_, timeout=10)
    assert list(response.content) == sent["content"]
    assert (response.stop_reason, response.response_id) == ("tool_use", sent["id"])


@pytest.mark.parametrize("name", ANSWERS)
def test_answer_shapes_parse_into_the_plan_of_their_tool_call(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest, name: str
) -> None:
    sent = server.reply_fixture(name)["body"]
    tool_input = next(b["input"] for b in sent["content"] if b["type"] == "tool_use")
    plan = parse_artifact(model.call(request_, timeout=10), Plan)
    assert plan == msgspec.convert(tool_input, Plan)


def test_thinking_signature_and_redacted_data_are_recorded_verbatim(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    sent = server.reply_fixture("redacted_thinking_then_tool_use")["body"]["content"]
    content = model.call(request_, timeout=10).content
    assert content[0] == {"type": "redacted_thinking", "data": sent[0]["data"]}
    assert content[1]["signature"] == sent[1]["signature"]


def test_cache_usage_records_the_1h_part_of_the_cache_write(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_fixture("cache_usage_5m_1h")
    usage = model.call(request_, timeout=10).usage
    assert usage == Usage(
        input_tokens=12,
        output_tokens=298,
        cache_creation_input_tokens=4096,
        cache_read_input_tokens=0,
        cache_creation_1h_input_tokens=3072,
    )


@pytest.mark.parametrize("name", REFUSALS)
def test_refusal_shapes_are_refusals_not_invalid_output(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest, name: str
) -> None:
    sent = server.reply_fixture(name)["body"]
    err = call_error(model, request_)
    assert (err.kind, err.retryable) == ("refusal", False)
    assert err.response is not None
    assert err.response.stop_details == sent["stop_details"]


def test_refusal_message_names_the_category_and_explanation(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_fixture("refusal_empty_content")
    message = str(call_error(model, request_))
    assert "category cyber" in message
    assert "could enable cyber harm" in message


def test_truncated_tool_input_at_max_tokens_is_max_tokens_not_invalid_output(
    server: FakeAnthropic, model: AnthropicModel, request_: ModelRequest
) -> None:
    server.reply_fixture("max_tokens_truncated_tool_input")
    err = call_error(model, request_)
    assert (err.kind, err.retryable) == ("max_tokens", False)
    assert "--max-tokens" in str(err)


@pytest.mark.parametrize(("name", "expected"), ERRORS.items(), ids=list(ERRORS))
def test_error_shapes_map_to_their_kind_and_retryability(
    model: AnthropicModel,
    server: FakeAnthropic,
    request_: ModelRequest,
    name: str,
    expected: tuple[str, bool],
) -> None:
    fixture = server.reply_fixture(name)
    err = call_error(model, request_)
    assert (err.kind, err.retryable, err.status_code) == (*expected, fixture["status"])
    assert fixture["body"]["error"]["message"] in str(err)


@pytest.mark.parametrize("name", [n for n in ERRORS if n != "error_413_request_too_large"])
def test_error_messages_name_the_request_id(
    model: AnthropicModel, server: FakeAnthropic, request_: ModelRequest, name: str
) -> None:
    fixture = server.reply_fixture(name)
    assert fixture["headers"]["request-id"] in str(call_error(model, request_))


def test_rate_limit_carries_the_retry_after_header(
    model: AnthropicModel, server: FakeAnthropic, request_: ModelRequest
) -> None:
    server.reply_fixture("error_429_rate_limit")
    err = call_error(model, request_)
    assert err.retry_after == 16.0
    assert "wait 16s" in str(err)


# -- what is decided --------------------------------------------------------------------


@pytest.mark.parametrize("name", ANSWERS)
def test_answer_shapes_complete_the_workflow_recording_the_whole_answer(
    server: FakeAnthropic, run_dir: Path, name: str
) -> None:
    sent = server.reply_fixture(name)["body"]
    queue_code_and_review(server)
    run(server, run_dir)
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"
    plan_call = of_type(run_dir, ModelCalled)[0]
    assert (list(plan_call.content), plan_call.response_id) == (sent["content"], sent["id"])


@pytest.mark.parametrize("name", REFUSALS)
def test_refusal_fails_the_workflow_after_one_call_with_its_details_recorded(
    server: FakeAnthropic, run_dir: Path, name: str
) -> None:
    sent = server.reply_fixture(name)["body"]
    run(server, run_dir)
    assert len(server.requests) == 1
    assert of_type(run_dir, ModelCalled)[0].stop_details == sent["stop_details"]
    failed = of_type(run_dir, StepFailed)
    assert [(f.step, f.error_kind, f.retryable) for f in failed] == [("plan", "refusal", False)]
    assert of_type(run_dir, WorkflowFailed)[0].error_kind == "refusal"


def test_max_tokens_fails_the_workflow_after_one_call(server: FakeAnthropic, run_dir: Path) -> None:
    server.reply_fixture("max_tokens_truncated_tool_input")
    run(server, run_dir)
    assert len(server.requests) == 1
    assert kinds(run_dir)[:4] == ["WorkflowStarted", "StepStarted", "ModelCalled", "StepFailed"]
    assert of_type(run_dir, WorkflowFailed)[0].error_kind == "max_tokens"


@pytest.mark.parametrize("name", [n for n, (_, retry) in ERRORS.items() if not retry])
def test_permanent_errors_fail_the_workflow_without_a_second_call(
    server: FakeAnthropic, run_dir: Path, name: str
) -> None:
    server.reply_fixture(name)
    run(server, run_dir)
    assert len(server.requests) == 1
    assert of_type(run_dir, WorkflowFailed)[0].error_kind == ERRORS[name][0]


@pytest.mark.parametrize("name", [n for n, (_, retry) in ERRORS.items() if retry])
def test_transient_errors_are_retried_and_the_workflow_completes(
    server: FakeAnthropic, run_dir: Path, name: str
) -> None:
    server.reply_fixture(name)
    server.reply_fixture("tool_use_forced")
    queue_code_and_review(server)
    run(server, run_dir)
    assert [f.error_kind for f in of_type(run_dir, StepFailed)] == [ERRORS[name][0]]
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"


def test_429_waits_what_retry_after_asks_and_records_it(
    server: FakeAnthropic, run_dir: Path
) -> None:
    server.reply_fixture("error_429_rate_limit")
    server.reply_fixture("tool_use_forced")
    queue_code_and_review(server)
    config = msgspec.structs.replace(FAST, step_timeout=60)  # no backoff of its own
    slept = run(server, run_dir, config)
    assert slept == [16.0]
    assert of_type(run_dir, StepFailed)[0].retry_after_s == 16.0


def test_retry_after_longer_than_the_step_timeout_waits_the_step_timeout(
    server: FakeAnthropic, run_dir: Path
) -> None:
    server.reply_fixture("error_429_rate_limit")
    server.reply_fixture("tool_use_forced")
    queue_code_and_review(server)
    slept = run(server, run_dir, msgspec.structs.replace(FAST, step_timeout=5))
    assert slept == [5.0]


def test_retry_after_is_a_floor_under_a_longer_backoff(
    server: FakeAnthropic, run_dir: Path
) -> None:
    server.reply_fixture("error_429_rate_limit")
    server.reply_fixture("tool_use_forced")
    queue_code_and_review(server)
    config = msgspec.structs.replace(FAST, backoff_base=40.0, backoff_max=60.0)
    slept = run(server, run_dir, config)
    assert len(slept) == 1 and 20.0 <= slept[0] <= 40.0  # jittered backoff above the 16 s


@pytest.mark.parametrize("name", ["refusal_empty_content", "error_429_rate_limit"])
def test_a_run_through_a_refusal_or_a_rate_limit_replays_identically(
    server: FakeAnthropic, run_dir: Path, name: str
) -> None:
    server.reply_fixture(name)
    server.reply_fixture("tool_use_forced")
    queue_code_and_review(server)
    run(server, run_dir, msgspec.structs.replace(FAST, step_timeout=60))
    report = replay(run_dir)
    assert report.ok, report.verdict
