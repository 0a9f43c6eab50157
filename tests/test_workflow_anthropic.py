"""The whole workflow on the real ``AnthropicModel`` and SDK, against the fake Messages API."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CODE, FAST, KEY, PLAN, kinds, of_type
from fake_anthropic import FakeAnthropic

from actors import Supervisor, WorkflowConfig
from actors.models import AnthropicModel
from events import CodeChange, ModelCalled, Plan, StepFailed, WorkflowCompleted, WorkflowFailed

MODEL = "claude-sonnet-5-5"
HAPPY = [
    "WorkflowStarted",
    "StepStarted",
    "ModelCalled",
    "PlanProduced",
    "StepStarted",
    "ModelCalled",
    "CodeProduced",
    "StepStarted",
    "ModelCalled",
    "ReviewProduced",
    "WorkflowCompleted",
]


def claude(server: FakeAnthropic) -> AnthropicModel:
    return AnthropicModel(MODEL, api_key=KEY, base_url=server.url)


def run(server: FakeAnthropic, run_dir: Path, config: WorkflowConfig = FAST) -> None:
    Supervisor(config, model=claude(server)).run("write a greeting module", run_dir)


def queue_happy(server: FakeAnthropic) -> None:
    for tool_input in (PLAN, CODE, APPROVE):
        server.reply_tool_use(tool_input)


def test_tool_use_answers_complete_the_workflow(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    assert kinds(run_dir) == HAPPY
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"


def test_completed_workflow_writes_the_three_artifacts_and_files(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    assert msgspec.json.decode((run_dir / "plan.json").read_bytes(), type=Plan) == msgspec.convert(
        PLAN, Plan
    )
    assert msgspec.json.decode(
        (run_dir / "code.json").read_bytes(), type=CodeChange
    ) == msgspec.convert(CODE, CodeChange)
    assert json.loads((run_dir / "review.json").read_text())["verdict"] == "approve"
    assert (run_dir / "files/hello.py").read_text() == CODE["files"][0]["content"]
    assert (run_dir / "files/pkg/util.py").read_text() == "X = 1\n"


def test_each_step_asks_for_its_own_tool(fake_anthropic: FakeAnthropic, run_dir: Path) -> None:
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    offered = [[t["name"] for t in r.body["tools"]] for r in fake_anthropic.requests]
    assert offered == [["submit_plan"], ["submit_code"], ["submit_review"]]


def test_model_called_records_the_full_response(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    plan_call = of_type(run_dir, ModelCalled)[0]
    assert plan_call.content[0]["input"] == PLAN
    assert (plan_call.model, plan_call.stop_reason) == (MODEL, "tool_use")
    assert plan_call.usage.cache_creation_input_tokens == 800
    assert plan_call.response_id == "msg_fake_0001"


@pytest.mark.parametrize(
    ("status_reply", "kind"),
    [
        (FakeAnthropic.reply_rate_limited, "rate_limit"),
        (FakeAnthropic.reply_overloaded, "overloaded"),
        (FakeAnthropic.reply_server_error, "server_error"),
    ],
)
def test_transient_http_error_is_a_retryable_failure_then_success(
    fake_anthropic: FakeAnthropic, run_dir: Path, status_reply: object, kind: str
) -> None:
    status_reply(fake_anthropic)  # type: ignore[operator]
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    failed = of_type(run_dir, StepFailed)
    assert [(f.step, f.attempt, f.error_kind, f.retryable) for f in failed] == [
        ("plan", 1, kind, True)
    ]
    assert kinds(run_dir)[:5] == [
        "WorkflowStarted",
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "ModelCalled",
    ]
    assert kinds(run_dir)[-1] == "WorkflowCompleted"


def test_429_529_and_500_in_a_row_are_each_retried(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    fake_anthropic.reply_rate_limited(retry_after=0)
    fake_anthropic.reply_overloaded()
    fake_anthropic.reply_server_error()
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    failed = of_type(run_dir, StepFailed)
    assert [(f.attempt, f.error_kind) for f in failed] == [
        (1, "rate_limit"),
        (2, "overloaded"),
        (3, "server_error"),
    ]
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"


def test_malformed_tool_input_is_recorded_then_retried(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    fake_anthropic.reply_tool_use({"summary": "no steps field"})
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir)
    assert kinds(run_dir)[:6] == [
        "WorkflowStarted",
        "StepStarted",
        "ModelCalled",
        "StepFailed",
        "StepStarted",
        "ModelCalled",
    ]
    failed = of_type(run_dir, StepFailed)[0]
    assert (failed.error_kind, failed.retryable) == ("invalid_output", True)
    assert "steps" in failed.message
    assert of_type(run_dir, ModelCalled)[0].content[0]["input"] == {"summary": "no steps field"}
    assert kinds(run_dir)[-1] == "WorkflowCompleted"


def test_response_slower_than_the_step_timeout_fails_the_step_as_timeout(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN, delay=600)  # waiting for it: the test's timeout fails
    config = msgspec.structs.replace(FAST, step_timeout=0.5, max_retries=0)
    run(fake_anthropic, run_dir, config)
    failed = of_type(run_dir, StepFailed)
    assert [(f.step, f.error_kind, f.retryable) for f in failed] == [("plan", "timeout", True)]
    assert of_type(run_dir, WorkflowFailed)[0].error_kind == "timeout"


def test_slow_first_answer_times_out_then_the_retry_succeeds(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    fake_anthropic.reply_tool_use(PLAN, delay=30)
    queue_happy(fake_anthropic)
    run(fake_anthropic, run_dir, msgspec.structs.replace(FAST, step_timeout=0.5))
    assert [f.error_kind for f in of_type(run_dir, StepFailed)] == ["timeout"]
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"


def test_401_fails_the_step_without_retry_and_fails_the_workflow(
    fake_anthropic: FakeAnthropic, run_dir: Path
) -> None:
    fake_anthropic.reply_auth_error()
    run(fake_anthropic, run_dir)
    assert kinds(run_dir) == [
        "WorkflowStarted",
        "StepStarted",
        "StepFailed",
        "StepSkipped",
        "StepSkipped",
        "WorkflowFailed",
    ]
    failed = of_type(run_dir, StepFailed)[0]
    assert (failed.error_kind, failed.retryable) == ("auth", False)
    final = of_type(run_dir, WorkflowFailed)[0]
    assert (final.step, final.error_kind) == ("plan", "auth")
    assert len(fake_anthropic.requests) == 1


def test_env_credentials_are_honoured(
    fake_anthropic: FakeAnthropic, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.url)
    queue_happy(fake_anthropic)
    Supervisor(msgspec.structs.replace(FAST, model=MODEL)).run("greet", run_dir)
    assert kinds(run_dir) == HAPPY
    assert FakeAnthropic.sent_key(fake_anthropic.requests[0]) == KEY
