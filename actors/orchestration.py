"""What the supervisor does next, decided from the state fold of the log alone.

:func:`next_action` is a pure function of a run's :class:`~store.WorkflowState`, the one
fold every reader of a log uses. The supervisor folds each event it appends and asks
again, live or after a crash, so a resumed run takes exactly the decisions an
uninterrupted one would: completed steps are never redone, an attempt cut off mid-way is
continued (reusing whatever it had recorded), and a decision the dead process had made
but not written (skip, fail, complete) is made again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from events import Event, Gate, Step, Verdict, WorkflowConfig
from store import StepState, WorkflowState

__all__ = [
    "Action",
    "Complete",
    "ContinueAttempt",
    "Fail",
    "Finished",
    "Park",
    "RequestApproval",
    "Skip",
    "StartAttempt",
    "backoff_delay",
    "next_action",
]


@dataclass(frozen=True)
class StartAttempt:
    """Write ``StepStarted`` for a new attempt (after ``delay`` seconds), then perform it."""

    step: Step
    attempt: int
    round: int
    delay: float = 0.0


@dataclass(frozen=True)
class ContinueAttempt:
    """Finish an attempt the log shows started but not ended (the writer died mid-way).

    ``recorded`` holds what the attempt already recorded (``ModelCalled``, ``TestsRan``),
    to be reused rather than done again.
    """

    step: Step
    attempt: int
    round: int
    recorded: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Skip:
    """Write ``StepSkipped`` for a step that will not run."""

    step: Step
    reason: str
    round: int


@dataclass(frozen=True)
class Complete:
    """Write ``WorkflowCompleted``."""

    verdict: Verdict | None
    revisions: int
    failed_steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Fail:
    """Write ``WorkflowFailed``."""

    step: Step | None
    kind: str
    message: str


@dataclass(frozen=True)
class RequestApproval:
    """Write ``ApprovalRequested`` for the artifact now awaiting a person at ``step``."""

    step: Gate
    round: int


@dataclass(frozen=True)
class Park:
    """Stop driving: the run waits for a person's decision at ``step`` (holding nothing)."""

    step: Gate


@dataclass(frozen=True)
class Finished:
    """The log already ends the workflow: nothing to do."""

    completed: bool


Action = StartAttempt | ContinueAttempt | Skip | Complete | Fail | Finished | RequestApproval | Park


#: The longest wait a server's ``retry-after`` can impose before the next attempt.
RETRY_AFTER_CAP = 120.0


def backoff_delay(
    config: WorkflowConfig, failed_attempt: int, retry_after: float | None = None
) -> float:
    """Exponential backoff with full jitter in [50%, 100%] of the capped exponential.

    A server's ``retry_after`` (seconds) is honoured: the delay is at least that, bounded
    by the step timeout and :data:`RETRY_AFTER_CAP`.
    """
    delay = 0.0
    if config.backoff_base > 0:
        ceiling = min(config.backoff_max, config.backoff_base * 2.0 ** (failed_attempt - 1))
        delay = ceiling * random.uniform(0.5, 1.0)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, config.step_timeout, RETRY_AFTER_CAP))
    return delay


def _step_action(st: StepState, round_: int, config: WorkflowConfig) -> Action | None:
    """The action that moves a step on, or None when it is settled (done/failed/skipped)."""
    if st.status == "pending":
        return StartAttempt(st.step, st.attempt + 1, round_)
    if st.status == "running":
        return ContinueAttempt(st.step, st.attempt, round_, st.evidence)
    if st.status == "failed" and st.retryable and st.retries_used <= config.max_retries:
        delay = backoff_delay(config, st.retries_used, st.retry_after) if st.retries_used else 0.0
        return StartAttempt(st.step, st.attempt + 1, round_, delay)
    return None


def _gave_up(st: StepState) -> str:
    kind, message = (st.error.kind, st.error.message) if st.error else ("", "")
    if st.retryable:
        return f"{st.step} failed after {st.retries_used} attempts: {kind}: {message}"
    return f"{st.step} failed: {kind}: {message}"


def _fail(st: StepState) -> Fail:
    return Fail(st.step, st.error.kind if st.error else "", _gave_up(st))


def _gate(state: WorkflowState, step: Gate, round_: int) -> Action | None:
    """What a gate asks for: its request, a wait, a failure (rejected), or nothing (passed)."""
    if step not in state.config.approve:
        return None
    gate = state.gates.get(step)
    if gate is None or gate.round != round_:
        return RequestApproval(step, round_)
    if gate.decision is None:
        return Park(step)
    if gate.decision == "rejected":
        why = f": {gate.comment}" if gate.comment else ""
        return Fail(step, "rejected", f"the {step} was rejected by {gate.by}{why}")
    return None


def next_action(state: WorkflowState) -> Action:
    """The supervisor's next move for a run whose log folds to ``state``."""
    if state.ended:
        return Finished(completed=state.status == "completed")
    if state.status == "pending":
        return Fail(None, "bad_log", "the log has no WorkflowStarted event")
    config, round_ = state.config, state.round
    plan, code, review = state.steps["plan"], state.steps["code"], state.steps["review"]

    action = _step_action(plan, 0, config)
    if action is not None:
        return action
    if plan.status != "done":
        for later in (code, review):
            if later.status == "pending":
                return Skip(later.step, "the plan step failed", round_)
        return _fail(plan)
    action = _gate(state, "plan", 0)
    if action is not None:
        return action

    action = _step_action(code, round_, config)
    if action is not None:
        return action
    code_failed = code.status != "done"
    if code_failed and not config.continue_on_error:
        if review.status == "pending":
            return Skip("review", "the code step failed (continue_on_error is off)", round_)
        return _fail(code)
    if not code_failed:
        action = _gate(state, "code", round_)
        if action is not None:
            return action
    if state.changes_requested_by is not None:  # a person's review: a round of its own
        return StartAttempt("code", 1, round_ + 1)

    action = _step_action(review, round_, config)
    if action is not None:
        return action
    if review.status != "done":
        return _fail(review)
    failed: tuple[Step, ...] = ("code",) if code_failed else ()
    verdict = state.verdict
    if verdict == "request_changes" and not code_failed and round_ < config.max_revisions:
        return StartAttempt("code", 1, round_ + 1)
    return Complete(verdict, round_, failed)
