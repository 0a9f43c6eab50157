"""The pure projection from events to ``mirror:apply`` batches (no network)."""

from __future__ import annotations

import json

import pytest
from _events import START, completed_run, failed_run, forked_run, stamp, started

from actors.convex.cursor import seq_of
from actors.convex.errors import ConvexCallError
from actors.convex.rows import batch_payload, mirror_event, ts_ms
from events import Diverged, TestsRan, UnknownEvent, WorkflowStarted


def test_timestamps_become_epoch_milliseconds() -> None:
    assert ts_ms("2025-01-01T00:00:01.500000Z") == START.timestamp() * 1000 + 1500
    assert ts_ms("") == 0.0
    assert ts_ms("not a time") == 0.0


def test_a_complete_run_maps_to_one_record_per_shown_event() -> None:
    events = completed_run()
    payload = batch_payload("wf-test", events)
    assert payload["fromSeq"] == 1.0
    assert payload["toSeq"] == float(events[-1].seq)
    records = payload["events"]
    assert isinstance(records, list)
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "workflowStarted"
    assert kinds[-1] == "workflowCompleted"
    assert kinds.count("stepFailed") == 1
    assert kinds.count("stepSucceeded") == 3
    review = [r for r in records if r["kind"] == "stepSucceeded"][-1]
    assert review["step"] == "review"
    assert review["verdict"] == "approve"


def test_numbers_are_floats_and_everything_is_plain_json() -> None:
    for events in (completed_run(), failed_run(), forked_run()):
        payload = batch_payload("wf", events)
        assert json.loads(json.dumps(payload)) == payload
        for record in payload["events"]:  # type: ignore[union-attr]
            assert isinstance(record, dict)
            for key, value in record.items():
                assert not isinstance(value, int) or isinstance(value, bool), key


def test_model_calls_carry_tokens_and_latency() -> None:
    called = next(r for r in map(mirror_event, completed_run()) if r and r["kind"] == "modelCalled")
    assert set(called) >= {
        "inputTokens",
        "outputTokens",
        "cacheCreationInputTokens",
        "cacheReadInputTokens",
        "latencyMs",
        "model",
        "step",
        "round",
        "attempt",
    }
    assert all(isinstance(called[k], float) for k in ("inputTokens", "latencyMs", "attempt"))


def test_a_failed_run_records_errors_and_the_failing_step() -> None:
    records = [r for r in map(mirror_event, failed_run()) if r is not None]
    failed = [r for r in records if r["kind"] == "stepFailed"]
    assert [r["retryable"] for r in failed] == [True, False]
    end = records[-1]
    assert end["kind"] == "workflowFailed"
    assert end["step"] == "code"


def test_a_fork_names_its_source() -> None:
    record = next(r for r in map(mirror_event, forked_run()) if r and r["kind"] == "forked")
    assert isinstance(record["sourceWorkflowId"], str) and record["sourceWorkflowId"]
    assert isinstance(record["atSeq"], float)


def test_a_what_if_is_marked_and_its_divergence_recorded() -> None:
    forked = next(r for r in map(mirror_event, forked_run()) if r and r["kind"] == "forked")
    assert forked["whatIf"] is False
    diverged = Diverged(step="review", source_seq=11, seq=7, ts=forked_run()[-1].ts)
    assert mirror_event(diverged) == {
        "kind": "diverged",
        "seq": 7.0,
        "ts": ts_ms(diverged.ts),
        "step": "review",
        "sourceSeq": 11.0,
    }


def test_events_the_tables_ignore_still_count_in_the_range() -> None:
    tests_ran = TestsRan(command=("pytest",), exit_code=0, output="ok")
    events = stamp([started(), tests_ran])
    unknown = UnknownEvent(type="FromTheFuture", seq=3, ts=events[-1].ts)
    assert mirror_event(events[1]) is None
    assert mirror_event(unknown) is None
    payload = batch_payload("wf", [*events, unknown])
    assert payload["toSeq"] == 3.0
    assert [r["kind"] for r in payload["events"]] == ["workflowStarted"]  # type: ignore[union-attr]


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        batch_payload("wf", [])


@pytest.mark.parametrize("answer", [{"lastSeq": "7"}, {"lastSeq": None}, {}, 7, {"lastSeq": 1.5}])
def test_a_malformed_convex_answer_is_a_call_error_not_a_crash(answer: object) -> None:
    with pytest.raises(ConvexCallError, match="mirror:head"):
        seq_of("mirror:head", answer)


def test_a_numeric_last_seq_is_read_as_a_seq() -> None:
    assert seq_of("mirror:apply", {"lastSeq": 12.0, "applied": 3.0}) == 12
    assert seq_of("mirror:apply", {"lastSeq": 12.0, "applied": 3.0}, "applied") == 3


def test_a_secret_in_a_log_written_before_masking_is_not_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BILLING_SECRET", "billing-0123456789")
    token = "AKIA" + "ABCDEFGHIJKLMNOP"  # a fake key id, cut in two
    leaky = WorkflowStarted(task=f"use {token} and billing-0123456789")
    payload = batch_payload("wf-1", stamp([leaky, *failed_run()[1:]]))
    text = json.dumps(payload)
    assert token not in text and "billing-0123456789" not in text
    records = payload["events"]
    assert isinstance(records, list)
    assert records[0]["task"] == "use [redacted] and [redacted]"
