"""Projections: workflow_state, artifacts and step_stats folded from event lists."""

from __future__ import annotations

from _events import (
    FIRST_FILES,
    FORK_CONFIG,
    FORK_TASK,
    MODEL,
    REVISED_FILES,
    TASK,
    WORKFLOW_ID,
    called,
    completed_run,
    continue_on_error_run,
    failed_run,
    forked_run,
    plan,
    revision_run,
    stamp,
    started,
    ts_at,
)

from events import StepStarted, UnknownEvent, Usage, WorkflowConfig
from store.projections import (
    ErrorInfo,
    ForkOrigin,
    StepStats,
    artifacts,
    step_stats,
    total_stats,
    workflow_state,
)


def test_no_events_is_a_pending_workflow() -> None:
    state = workflow_state([])
    assert state.status == "pending"
    assert state.last_seq == 0
    assert state.current_step is None
    assert all(s.status == "pending" for s in state.steps.values())


def test_completed_run_reports_status_task_config_and_verdict() -> None:
    events = completed_run()
    state = workflow_state(events)
    assert state.status == "completed"
    assert state.workflow_id == WORKFLOW_ID
    assert state.task == TASK
    assert state.config == WorkflowConfig(model=MODEL)
    assert state.verdict == "approve"
    assert state.current_step is None
    assert state.last_seq == len(events)
    assert state.done_steps == ("plan", "code", "review")


def test_completed_run_sums_tokens_and_model_calls_over_steps() -> None:
    state = workflow_state(completed_run())
    assert state.model_calls == 4
    assert state.usage == Usage(input_tokens=400, output_tokens=550, cache_read_input_tokens=30)


def test_failed_attempt_then_retry_counts_attempts_and_failures_by_kind() -> None:
    code = workflow_state(completed_run()).steps["code"]
    assert code.status == "done"
    assert (code.attempts, code.failures) == (2, 1)
    assert code.failures_by_kind == {"invalid_output": 1}
    assert code.model_calls == 2
    assert code.usage == Usage(input_tokens=200, output_tokens=450)
    assert code.latency_ms == 500.0


def test_step_times_are_its_first_start_and_its_last_event() -> None:
    # completed_run: code runs from StepStarted at seq 5 to CodeProduced at seq 10.
    code = workflow_state(completed_run()).steps["code"]
    assert code.first_ts == ts_at(5)
    assert code.last_ts == ts_at(10)


def test_a_step_in_progress_is_the_current_step() -> None:
    events = completed_run()
    prefix = events[: next(i for i, e in enumerate(events) if type(e).__name__ == "CodeProduced")]
    state = workflow_state(prefix)
    assert state.status == "running"
    assert state.current_step == "code"
    assert state.steps["code"].status == "running"
    assert state.steps["review"].status == "pending"


def test_a_failed_attempt_awaiting_retry_is_failed_and_not_current() -> None:
    events = completed_run()
    upto = next(i for i, e in enumerate(events) if type(e).__name__ == "StepFailed")
    state = workflow_state(events[: upto + 1])
    assert state.steps["code"].status == "failed"
    assert state.current_step is None
    assert state.last_error == ErrorInfo(
        step="code",
        kind="invalid_output",
        message="submit_code input did not validate",
        seq=upto + 1,
    )


def test_failed_run_has_failed_status_and_the_workflow_error_last() -> None:
    events = failed_run()
    state = workflow_state(events)
    assert state.status == "failed"
    assert state.last_error == ErrorInfo(
        step="code", kind="api_error", message="code failed: 400 bad", seq=len(events)
    )
    assert state.steps["code"].status == "failed"
    assert state.steps["code"].failures_by_kind == {"rate_limit": 1, "api_error": 1}
    assert state.steps["review"].status == "skipped"
    assert state.verdict is None


def test_continue_on_error_keeps_code_failed_and_review_done() -> None:
    state = workflow_state(continue_on_error_run())
    assert state.status == "completed"
    assert state.steps["code"].status == "failed"
    assert state.steps["review"].status == "done"
    assert state.verdict == "reject"
    assert state.done_steps == ("plan", "review")
    assert state.config.continue_on_error


def test_revision_round_resets_code_and_review_for_the_round() -> None:
    state = workflow_state(revision_run())
    assert state.round == 1
    code, review = state.steps["code"], state.steps["review"]
    assert (code.attempts, code.failures, code.failures_by_kind) == (1, 0, {})
    assert code.usage == Usage(input_tokens=100, output_tokens=300)
    assert (review.attempts, review.model_calls) == (1, 1)
    assert state.verdict == "approve"


def test_revision_round_keeps_cumulative_totals() -> None:
    state = workflow_state(revision_run())
    code, review = state.steps["code"], state.steps["review"]
    assert (code.total_attempts, code.total_failures, code.total_model_calls) == (3, 1, 3)
    assert code.total_usage == Usage(input_tokens=300, output_tokens=750)
    assert review.total_attempts == 2
    assert state.model_calls == 6


def test_revision_round_leaves_the_plan_step_alone() -> None:
    state = workflow_state(revision_run())
    plan_step = state.steps["plan"]
    assert plan_step.status == "done"
    assert plan_step.attempts == plan_step.total_attempts == 1


def test_start_of_a_revision_round_makes_review_pending_again() -> None:
    events = revision_run()
    upto = next(i for i, e in enumerate(events) if isinstance(e, StepStarted) and e.round == 1)
    state = workflow_state(events[: upto + 1])
    assert state.round == 1
    assert state.current_step == "code"
    assert state.steps["code"].status == "running"
    assert state.steps["review"].status == "pending"
    assert state.steps["review"].first_ts is None
    assert state.verdict == "request_changes"


def test_fork_overrides_task_config_and_workflow_id() -> None:
    state = workflow_state(forked_run(at_seq=4))
    assert state.task == FORK_TASK
    assert state.config == FORK_CONFIG
    assert state.workflow_id == "wf-fork"
    assert state.forked_from == ForkOrigin(
        source="/runs/original/events.jsonl", source_workflow_id=WORKFLOW_ID, at_seq=4
    )
    assert state.status == "completed"


def test_fork_without_overrides_keeps_the_original_task_and_config() -> None:
    state = workflow_state(forked_run(at_seq=4, overrides=False))
    assert state.task == TASK
    assert state.config == WorkflowConfig(model=MODEL)
    assert state.forked_from is not None


def test_fork_right_after_its_copied_events_is_running() -> None:
    events = forked_run(at_seq=4)
    state = workflow_state(events[:5])
    assert state.status == "running"
    assert state.done_steps == ("plan",)
    assert state.last_seq == 5


def test_unknown_events_are_counted_and_change_nothing_else() -> None:
    events = completed_run()
    with_unknown = [
        *events[:3],
        UnknownEvent(type="FromTheFuture", seq=99, data={"step": "code"}),
        *events[3:],
    ]
    state = workflow_state(with_unknown)
    plain = workflow_state(events)
    assert state.unknown_events == 1
    assert state.steps == plain.steps
    assert state.status == plain.status


def test_unknown_event_last_still_sets_last_seq() -> None:
    events = completed_run()
    state = workflow_state([*events, UnknownEvent(type="Later", seq=len(events) + 1)])
    assert state.last_seq == len(events) + 1


def test_workflow_state_accepts_a_one_shot_iterator_and_is_deterministic() -> None:
    events = revision_run()
    assert workflow_state(iter(events)) == workflow_state(iter(events))


def test_artifacts_are_the_latest_of_each_kind() -> None:
    arts = artifacts(revision_run())
    assert arts.plan == plan()
    assert arts.code is not None
    assert {f.path for f in arts.code.files} == set(REVISED_FILES)
    assert arts.review is not None and arts.review.verdict == "approve"


def test_artifacts_missing_when_never_produced() -> None:
    arts = artifacts(failed_run())
    assert arts.plan == plan()
    assert arts.code is None
    assert arts.review is None


def test_artifacts_of_first_pass_code() -> None:
    arts = artifacts(completed_run())
    assert arts.code is not None
    assert {f.path: f.content for f in arts.code.files} == FIRST_FILES


def _by_step(stats: list[StepStats]) -> dict[str, StepStats]:
    return {s.step: s for s in stats}


def test_step_stats_counts_attempts_and_failures_across_rounds() -> None:
    stats = _by_step(step_stats(revision_run()))
    assert list(stats) == ["plan", "code", "review"]
    assert (stats["code"].attempts, stats["code"].failures) == (3, 1)
    assert stats["code"].failures_by_kind == {"invalid_output": 1}
    assert stats["review"].attempts == 2


def test_step_stats_sums_tokens_latency_and_names_models() -> None:
    events = stamp([started(), StepStarted(step="plan", attempt=1), called("plan")])
    events.append(stamp([called("plan", model="claude-other", input_tokens=7, latency_ms=5.0)])[0])
    plan_stats = step_stats(events)[0]
    assert plan_stats.models == (MODEL, "claude-other")
    assert plan_stats.usage_by_model["claude-other"] == Usage(input_tokens=7, output_tokens=50)
    assert plan_stats.usage == Usage(input_tokens=107, output_tokens=100)
    assert plan_stats.latency_ms == 255.0
    assert plan_stats.model_calls == 2


def test_step_stats_wall_time_runs_from_first_start_to_last_finish() -> None:
    # completed_run: code starts at seq 5 and finishes at seq 10, one second apart.
    code = _by_step(step_stats(completed_run()))["code"]
    assert code.wall_ms == 5000.0
    assert code.started_ts is not None and code.finished_ts is not None


def test_step_stats_wall_time_sums_revision_rounds_without_the_gap() -> None:
    # revision_run: code round 0 is seq 5..10 (5 s), round 1 is seq 14..16 (2 s).
    code = _by_step(step_stats(revision_run()))["code"]
    assert code.wall_ms == 7000.0


def test_step_stats_of_an_unfinished_step_has_no_wall_time() -> None:
    events = completed_run()
    prefix = events[:6]  # code started, model called, nothing finished
    code = _by_step(step_stats(prefix))["code"]
    assert code.wall_ms is None
    assert code.finished_ts is None
    assert code.attempts == 1


def test_step_stats_lists_a_skipped_step_with_no_attempts() -> None:
    review = _by_step(step_stats(failed_run()))["review"]
    assert review.attempts == 0
    assert review.wall_ms is None


def test_total_stats_sums_every_step() -> None:
    stats = step_stats(revision_run())
    total = total_stats(stats)
    assert total.step == "total"
    assert total.attempts == 6
    assert total.failures == 1
    assert total.model_calls == 6
    assert total.usage == workflow_state(revision_run()).usage
    assert total.usage_by_model == {MODEL: total.usage}
    assert total.wall_ms == sum(s.wall_ms for s in stats if s.wall_ms is not None)
    assert total.started_ts == stats[0].started_ts
    assert total.finished_ts == stats[-1].finished_ts


def test_total_stats_of_nothing_is_zero() -> None:
    total = total_stats([])
    assert (total.attempts, total.model_calls, total.wall_ms) == (0, 0, None)
    assert total.usage == Usage()
