"""ReplayModel: recorded answers served in order; any divergence is a NonDeterminism."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.models import (
    ModelError,
    ModelRequest,
    NonDeterminism,
    ReplayModel,
    ScriptedModel,
    build_request,
    model_called_event,
    request_digest,
)
from events import (
    ContextPacked,
    Event,
    Forked,
    ModelCalled,
    Plan,
    PlanStep,
    StepFailed,
    StepStarted,
    WorkflowStarted,
)
from store import EventLog
from store.cursor import EventCursor

PLAN_INPUT: dict[str, Any] = {
    "summary": "Add hello",
    "steps": [{"title": "Write hello.py", "description": "A function"}],
}
PLAN = Plan(
    summary="Add hello", steps=(PlanStep(title="Write hello.py", description="A function"),)
)
CODE_INPUT: dict[str, Any] = {"files": [{"path": "hello.py", "content": "x"}], "notes": ""}
PLAN_REQUEST = build_request("plan", task="hello", model="claude-x", max_tokens=100)
CODE_REQUEST = build_request("code", task="hello", plan=PLAN, model="claude-x", max_tokens=100)


def stamped(events: list[Event]) -> list[Event]:
    return [msgspec.structs.replace(ev, seq=seq) for seq, ev in enumerate(events, 1)]


def recorded_run() -> list[Event]:
    """A plan call, a code attempt that timed out (no answer), then a code call."""
    live = ScriptedModel(
        {"plan": [{"tool_input": PLAN_INPUT}], "code": [{"tool_input": CODE_INPUT}]}
    )
    plan = live.call(PLAN_REQUEST, timeout=5)
    code = live.call(CODE_REQUEST, timeout=5)
    return stamped(
        [
            WorkflowStarted(task="hello"),
            StepStarted(step="plan", attempt=1),
            model_called_event(PLAN_REQUEST, plan, attempt=1),
            StepStarted(step="code", attempt=1),
            StepFailed(
                step="code", attempt=1, error_kind="timeout", message="slow", retryable=True
            ),
            StepStarted(step="code", attempt=2),
            model_called_event(CODE_REQUEST, code, attempt=2),
        ]
    )


def seq_of(events: list[Event], request: ModelRequest) -> int:
    digest = request_digest(request)
    return next(
        ev.seq for ev in events if isinstance(ev, ModelCalled) and ev.request_digest == digest
    )


def test_replay_serves_the_recorded_answers() -> None:
    events = recorded_run()
    replay = ReplayModel(events)
    recorded = [ev for ev in events if isinstance(ev, ModelCalled)]
    assert replay.call(PLAN_REQUEST, timeout=1).content == recorded[0].content
    assert replay.call(CODE_REQUEST, timeout=1).content == recorded[1].content


def test_replayed_response_re_records_to_the_same_event() -> None:
    events = recorded_run()
    response = ReplayModel(events).call(PLAN_REQUEST, timeout=1)
    again = model_called_event(PLAN_REQUEST, response, attempt=1)
    assert msgspec.structs.replace(again, seq=events[2].seq) == events[2]


def test_each_step_is_served_in_log_order() -> None:
    first = ScriptedModel({"plan": [{"tool_input": {**PLAN_INPUT, "summary": "first"}}]})
    second = ScriptedModel({"plan": [{"tool_input": {**PLAN_INPUT, "summary": "second"}}]})
    events = stamped(
        [
            model_called_event(PLAN_REQUEST, first.call(PLAN_REQUEST, timeout=1), attempt=1),
            model_called_event(PLAN_REQUEST, second.call(PLAN_REQUEST, timeout=1), attempt=2),
        ]
    )
    replay = ReplayModel(events)
    inputs = [replay.call(PLAN_REQUEST, timeout=1).content[0]["input"]["summary"] for _ in range(2)]
    assert inputs == ["first", "second"]


def test_different_request_is_a_non_determinism_naming_the_seq() -> None:
    events = recorded_run()
    changed = build_request("plan", task="hello, changed", model="claude-x", max_tokens=100)
    with pytest.raises(NonDeterminism) as info:
        ReplayModel(events).call(changed, timeout=1)
    err = info.value
    assert (err.seq, err.step) == (seq_of(events, PLAN_REQUEST), "plan")
    assert (err.expected, err.actual) == (request_digest(PLAN_REQUEST), request_digest(changed))
    assert f"seq {err.seq}" in str(err)
    assert "digest differs" in str(err)


def test_call_beyond_the_recorded_ones_is_a_non_determinism() -> None:
    replay = ReplayModel(recorded_run())
    replay.call(PLAN_REQUEST, timeout=1)
    with pytest.raises(NonDeterminism, match="once more than the recorded run") as info:
        replay.call(PLAN_REQUEST, timeout=1)
    assert info.value.seq is None


def test_recorded_failure_without_an_answer_is_returned() -> None:
    failure = ReplayModel(recorded_run()).recorded_failure("code", 0, 1)
    assert failure is not None
    assert (failure.error_kind, failure.retryable) == ("timeout", True)


def test_attempt_with_an_answer_has_no_recorded_failure() -> None:
    events = recorded_run()
    events.append(
        StepFailed(
            seq=len(events) + 1,
            step="code",
            attempt=2,
            error_kind="invalid_output",
            message="bad",
            retryable=True,
        )
    )
    assert ReplayModel(events).recorded_failure("code", 0, 2) is None


def test_a_call_that_failed_after_the_attempts_own_work_fails_again_in_its_place() -> None:
    events = recorded_run()
    worked = stamped(
        [
            *events[:3],
            StepStarted(step="code", attempt=1),
            ContextPacked(step="code", attempt=1),
            StepFailed(
                step="code", attempt=1, error_kind="rate_limit", message="429", retryable=True
            ),
            *events[5:],
        ]
    )
    replay = ReplayModel(worked)
    assert replay.recorded_failure("code", 0, 1) is None  # the agent runs: it packs again
    replay.call(PLAN_REQUEST, timeout=1)
    with pytest.raises(ModelError) as info:
        replay.call(CODE_REQUEST, timeout=1)
    assert (info.value.kind, info.value.message, info.value.retryable) == (
        "rate_limit",
        "429",
        True,
    )
    answered = worked[-1]
    assert isinstance(answered, ModelCalled)
    assert replay.call(CODE_REQUEST, timeout=1).content == answered.content


def test_successful_attempt_has_no_recorded_failure() -> None:
    assert ReplayModel(recorded_run()).recorded_failure("plan", 0, 1) is None


def test_remaining_counts_unserved_calls() -> None:
    replay = ReplayModel(recorded_run())
    replay.call(PLAN_REQUEST, timeout=1)
    assert (replay.remaining(), replay.remaining("plan"), replay.remaining("code")) == (1, 0, 1)


def test_name_is_the_recorded_model() -> None:
    assert ReplayModel(recorded_run()).name == "claude-x"


def logged(tmp_path: Path, events: list[Event]) -> EventLog:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        writer.append_many([msgspec.structs.replace(ev, seq=0) for ev in events])
    return log


def test_a_model_reading_from_the_log_serves_the_same_answers(tmp_path: Path) -> None:
    log = logged(tmp_path, recorded_run())
    with EventCursor(log) as cursor:
        replay = ReplayModel(log.read(), cursor=cursor)
        served = [replay.call(r, timeout=1).content for r in (PLAN_REQUEST, CODE_REQUEST)]
        failure = replay.recorded_failure("code", 0, 1)
    eager = ReplayModel(log.read())
    assert served == [eager.call(r, timeout=1).content for r in (PLAN_REQUEST, CODE_REQUEST)]
    assert failure is not None and failure.error_kind == "timeout"


def test_calls_copied_before_a_fork_are_not_served() -> None:
    events = recorded_run()
    forked = Forked(seq=len(events) + 1, source="src", source_workflow_id="wf", at_seq=len(events))
    replay = ReplayModel([*events, forked])
    assert replay.remaining() == 0
    assert replay.recorded_failure("code", 0, 1) is None


def test_a_model_reading_from_the_log_keeps_no_answers_in_memory(tmp_path: Path) -> None:
    big = {"summary": "x" * 20_000, "steps": [{"title": "t", "description": "d"}]}
    live = ScriptedModel({"plan": [{"tool_input": big}] * 200})
    answers = [
        model_called_event(PLAN_REQUEST, live.call(PLAN_REQUEST, timeout=1), attempt=n)
        for n in range(1, 201)
    ]
    log = logged(tmp_path, [WorkflowStarted(task="hello"), *answers])  # ~4 MB of answers
    with EventCursor(log) as cursor:
        tracemalloc.start()
        try:
            replay = ReplayModel(log.read(), cursor=cursor)
            kept, _peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert replay.remaining() == 200
    assert kept < 200_000
