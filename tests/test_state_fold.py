"""The one fold of a log (``WorkflowFold``) and the supervisor's decisions made from it.

``next_action`` is a pure function of the fold's snapshot; the supervisor folds each
event once as it appends it, readers fold a whole log, and both see the same state.
"""

from __future__ import annotations

import msgspec
import pytest
from _events import (
    FORK_CONFIG,
    FORK_TASK,
    MODEL,
    called,
    code,
    completed_run,
    failed_run,
    forked_run,
    review_events,
    revision_run,
    stamp,
    started,
)

from actors.orchestration import (
    Complete,
    ContinueAttempt,
    Finished,
    Skip,
    StartAttempt,
    next_action,
)
from events import (
    Event,
    Forked,
    RetryRequested,
    Step,
    StepStarted,
    TestsRan,
    WorkflowCompleted,
    WorkflowConfig,
)
from store import WorkflowFold, artifacts, workflow_state

RUNS = {
    "completed": completed_run,
    "failed": failed_run,
    "revision": revision_run,
    "forked": forked_run,
}


def decide(events: list[Event]) -> object:
    return next_action(workflow_state(events))


#: The completed run's state after each of its 14 events: the workflow's status and each
#: step's, spelled out by hand (the fold must arrive at these, not merely agree with itself).
COMPLETED_PREFIXES = [
    ("running", "pending", "pending", "pending"),  # WorkflowStarted
    ("running", "running", "pending", "pending"),  # StepStarted plan
    ("running", "running", "pending", "pending"),  # ModelCalled
    ("running", "done", "pending", "pending"),  # PlanProduced
    ("running", "done", "running", "pending"),  # StepStarted code
    ("running", "done", "running", "pending"),  # ModelCalled
    ("running", "done", "failed", "pending"),  # StepFailed (retryable)
    ("running", "done", "running", "pending"),  # StepStarted code, attempt 2
    ("running", "done", "running", "pending"),  # ModelCalled
    ("running", "done", "done", "pending"),  # CodeProduced
    ("running", "done", "done", "running"),  # StepStarted review
    ("running", "done", "done", "running"),  # ModelCalled
    ("running", "done", "done", "done"),  # ReviewProduced
    ("completed", "done", "done", "done"),  # WorkflowCompleted
]


def test_folding_event_by_event_passes_through_the_expected_states() -> None:
    fold = WorkflowFold()
    seen = []
    for ev in completed_run():
        fold.apply(ev)
        state = fold.snapshot()
        seen.append((state.status, *(state.steps[s].status for s in ("plan", "code", "review"))))
    assert seen == COMPLETED_PREFIXES


@pytest.mark.parametrize("name", sorted(RUNS))
def test_one_event_at_a_time_and_a_whole_log_at_once_agree(name: str) -> None:
    events = RUNS[name]()
    fold = WorkflowFold()
    for i, ev in enumerate(events, 1):
        fold.apply(ev)
        assert fold.snapshot() == workflow_state(events[:i])


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_fold_dumped_and_loaded_anywhere_goes_on_to_the_same_state(name: str) -> None:
    events = RUNS[name]()
    whole = workflow_state(events)
    for cut in range(len(events) + 1):
        resumed = WorkflowFold.load(WorkflowFold().extend(events[:cut]).dump())
        assert resumed.extend(events[cut:]).snapshot() == whole, cut
        assert resumed.artifact_events() == WorkflowFold().extend(events).artifact_events()


def test_loading_what_is_not_a_dumped_fold_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a dumped fold"):
        WorkflowFold.load(b'{"steps": 3}')


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_folds_artifacts_are_the_latest_of_each_kind(name: str) -> None:
    events = RUNS[name]()
    assert workflow_state(events).artifacts == artifacts(events)


def test_a_running_attempt_carries_what_it_recorded_as_evidence() -> None:
    tests = TestsRan(command=("pytest",), exit_code=0, output="ok")
    events = completed_run()[:10] + stamp([StepStarted(step="review", attempt=1), tests])
    events = [*events, *stamp([called("review", 1)])]
    events = [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(events, 1)]
    action = decide(events)
    assert isinstance(action, ContinueAttempt)
    assert (action.step, action.attempt) == ("review", 1)
    assert [type(ev).__name__ for ev in action.recorded] == ["TestsRan", "ModelCalled"]


def test_a_finished_attempts_evidence_is_dropped() -> None:
    state = workflow_state(completed_run())
    assert all(st.evidence == () for st in state.steps.values())


def test_a_completed_log_is_finished_and_a_failed_one_too() -> None:
    assert decide(completed_run()) == Finished(completed=True)
    assert decide(failed_run()) == Finished(completed=False)


def test_a_retry_request_gives_the_failed_step_a_fresh_budget_and_unskips_the_rest() -> None:
    events = [*failed_run(), *stamp([RetryRequested(reason="fixed")])]
    events = [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(events, 1)]
    state = workflow_state(events)
    assert state.status == "running"
    code, review = state.steps["code"], state.steps["review"]
    assert (code.status, code.attempt, code.budget_from, code.retryable) == ("failed", 2, 2, True)
    assert review.status == "pending"
    assert decide(events) == StartAttempt("code", 3, 0, 0.0)


def test_a_retried_step_that_fails_again_is_retried_within_its_new_budget() -> None:
    config = WorkflowConfig(model=MODEL, max_retries=1, backoff_base=0)
    events = stamp(
        [
            started(config),
            StepStarted(step="plan", attempt=1),
            *_failed("plan", 1),
            StepStarted(step="plan", attempt=2),
            *_failed("plan", 2),
        ]
    )
    assert isinstance(decide(events), Skip)  # budget used: code and review are skipped
    retried = [*events, *stamp([RetryRequested()])]
    retried = [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(retried, 1)]
    assert decide(retried) == StartAttempt("plan", 3, 0, 0.0)
    again = [*retried, StepStarted(step="plan", attempt=3), *_failed("plan", 3)]
    assert decide(again) == StartAttempt("plan", 4, 0, 0.0)
    spent = [*again, StepStarted(step="plan", attempt=4), *_failed("plan", 4)]
    assert isinstance(decide(spent), Skip)


def _failed(step: str, attempt: int) -> list[Event]:
    from events import StepFailed

    return [
        StepFailed(
            step=step,
            attempt=attempt,
            error_kind="overloaded",
            message="529",
            retryable=True,
        )
    ]


def test_a_fork_of_a_fork_keeps_the_task_and_config_in_force_along_the_chain() -> None:
    first = forked_run(at_seq=4)  # its Forked sets FORK_TASK and FORK_CONFIG
    second = Forked(
        source="/runs/a", source_workflow_id="wf-fork", at_seq=len(first), workflow_id="wf-b"
    )
    events = [*first, msgspec.structs.replace(second, seq=len(first) + 1)]
    state = workflow_state(events)
    assert state.task == FORK_TASK
    assert state.config == FORK_CONFIG
    assert state.workflow_id == "wf-b"
    assert state.own_from_seq == len(first) + 2
    assert state.forked_from is not None and state.forked_from.source == "/runs/a"


def test_a_fork_of_a_finished_run_continues_it() -> None:
    done = completed_run()
    marker = Forked(source="/r", source_workflow_id="wf-test", at_seq=len(done), workflow_id="f")
    events = [*done, msgspec.structs.replace(marker, seq=len(done) + 1)]
    assert workflow_state(events).status == "running"
    assert isinstance(decide(events), Complete)


def _gated_run() -> list[Event]:
    """A code gate decided with an edited change, a person's changes, a retry, a fork."""
    from events import ApprovalDecided, ApprovalRequested, ChangesRequested

    head = completed_run()[:10]  # through the code step's success
    tail = [
        ApprovalRequested(step="code", digest="d1"),
        ApprovalDecided(
            step="code", digest="d1", decision="approved", by="ann", code=code({"a.py": "1\n"})
        ),
        *review_events("approve"),
        WorkflowCompleted(verdict="approve"),
        ChangesRequested(round=1, by="bob", comment="rename it"),
        StepStarted(step="code", attempt=1, round=1),
        called("code", 1, 1, output_tokens=7),
        *_failed("code", 1),
        RetryRequested(reason="again"),
        Forked(source="/r", source_workflow_id="wf-test", at_seq=20, workflow_id="f"),
        StepStarted(step="code", attempt=2, round=1),
        called("code", 2, 1, output_tokens=9),
    ]
    events = [*head, *stamp(tail)]
    return [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(events, 1)]


@pytest.mark.parametrize("every", [1, 2, 3])
@pytest.mark.parametrize("name", [*sorted(RUNS), "gated"])
def test_a_snapshot_taken_after_any_events_is_the_fold_of_the_log_so_far(
    name: str, every: int
) -> None:
    # The fold keeps parts of its snapshot (totals, artifacts, change sets) until an event
    # changes them: whichever events pass between two snapshots, none may be stale.
    events = _gated_run() if name == "gated" else RUNS[name]()
    fold = WorkflowFold()
    for i, ev in enumerate(events, 1):
        fold.apply(ev)
        if i % every == 0 or i == len(events):
            assert fold.snapshot() == workflow_state(events[:i]), i
    assert fold.artifacts() == artifacts(events)


def test_the_snapshot_after_a_steps_start_shares_what_the_start_left_unchanged() -> None:
    # A supervisor snapshots the fold before each step's start and again after it: the
    # second is the first with the started step and the position changed, not rebuilt.
    events = completed_run()
    fold = WorkflowFold()
    for ev in events[:9]:  # through the code step's second call
        fold.apply(ev)
    fold.apply(events[9])  # CodeProduced
    before = fold.snapshot()
    assert isinstance(events[10], StepStarted)
    fold.apply(events[10])  # the review's start
    after = fold.snapshot()
    assert after == workflow_state(events[:11])
    assert after.gates is before.gates and after.artifacts is before.artifacts
    assert after.steps["plan"] is before.steps["plan"]
    assert after.steps["code"] is before.steps["code"]


@pytest.mark.parametrize("step", ["plan", "code", "review"])
def test_any_steps_start_in_a_new_round_after_a_snapshot_is_the_fold_of_the_log(
    step: Step,
) -> None:
    done = completed_run()[:13]  # every step produced, not yet completed
    events = [*done, *stamp([StepStarted(step=step, attempt=1, round=1)])]
    events = [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(events, 1)]
    fold = WorkflowFold()
    for ev in events:
        fold.apply(ev)
        fold.snapshot()
    assert fold.snapshot() == workflow_state(events)
    assert fold.snapshot().steps[step].status == "running"


def test_the_snapshot_after_an_answer_shares_what_the_answer_left_unchanged() -> None:
    # A step's call and artifact change its step, the totals and the artifacts: the
    # snapshot after them is the one before with those replaced, the rest shared.
    events = completed_run()
    fold = WorkflowFold()
    for ev in events[:11]:  # through the review's start
        fold.apply(ev)
    before = fold.snapshot()
    for ev in events[11:13]:  # its call and its review
        fold.apply(ev)
    after = fold.snapshot()
    assert after == workflow_state(events[:13])
    assert after.gates is before.gates and after.config is before.config
    assert after.steps["code"] is before.steps["code"]
