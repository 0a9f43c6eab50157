"""What the supervisor does next, decided from the log alone.

:func:`next_action` is a pure function of a run's events. The supervisor calls it after
every append, live or after a crash, so a resumed run takes exactly the decisions an
uninterrupted one would: completed steps are never redone, an attempt cut off mid-way is
continued (reusing whatever it had recorded), and a decision the dead process had made
but not written (skip, fail, complete) is made again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from events import (
    STEPS,
    CodeProduced,
    Event,
    Forked,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    Step,
    StepFailed,
    StepSkipped,
    StepStarted,
    TestsRan,
    UnknownEvent,
    Verdict,
    WorkflowCompleted,
    WorkflowConfig,
    WorkflowFailed,
    WorkflowStarted,
)

__all__ = [
    "Action",
    "Complete",
    "ContinueAttempt",
    "Fail",
    "Finished",
    "Skip",
    "StartAttempt",
    "backoff_delay",
    "next_action",
]

_PRODUCED = {PlanProduced: "plan", CodeProduced: "code", ReviewProduced: "review"}


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
class Finished:
    """The log already ends the workflow: nothing to do."""

    completed: bool


Action = StartAttempt | ContinueAttempt | Skip | Complete | Fail | Finished


@dataclass
class _Step:
    status: str = "pending"  # pending | running | done | failed | skipped
    attempts: int = 0
    retryable: bool = False
    error: str = ""
    kind: str = ""
    recorded: list[Event] = field(default_factory=list)
    retry_after: float | None = None


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


def _fold(
    events: list[Event | UnknownEvent],
) -> tuple[WorkflowConfig | None, int, dict[Step, _Step], Verdict | None, Event | None]:
    config: WorkflowConfig | None = None
    round_ = 0
    steps = {s: _Step() for s in STEPS}
    verdict: Verdict | None = None
    final: Event | None = None
    for ev in events:
        kind = type(ev)
        if kind is StepStarted:
            assert isinstance(ev, StepStarted)
            if ev.round > round_:
                round_ = ev.round
                steps["code"], steps["review"] = _Step(), _Step()
            st = steps[ev.step]
            st.status, st.attempts, st.recorded = "running", ev.attempt, []
        elif kind is ModelCalled or kind is TestsRan:
            step: Step = ev.step if isinstance(ev, ModelCalled) else "review"
            if steps[step].status == "running":
                steps[step].recorded.append(ev)  # type: ignore[arg-type]
        elif kind in _PRODUCED:
            st = steps[_PRODUCED[kind]]  # type: ignore[index]
            st.status = "done"
            if isinstance(ev, ReviewProduced):
                verdict = ev.review.verdict
        elif kind is StepFailed:
            assert isinstance(ev, StepFailed)
            st = steps[ev.step]
            st.status, st.retryable = "failed", ev.retryable
            st.kind, st.error, st.retry_after = ev.error_kind, ev.message, ev.retry_after_s
        elif kind is StepSkipped:
            assert isinstance(ev, StepSkipped)
            steps[ev.step].status = "skipped"
        elif kind is WorkflowStarted:
            assert isinstance(ev, WorkflowStarted)
            config = config or ev.config
        elif kind is Forked:
            assert isinstance(ev, Forked)
            config = ev.config or config
            final = None  # a fork reopens the run it copies, even a finished one
        elif kind is WorkflowCompleted or kind is WorkflowFailed:
            final = ev  # type: ignore[assignment]
    return config, round_, steps, verdict, final


def _step_action(step: Step, st: _Step, round_: int, config: WorkflowConfig) -> Action | None:
    """The action that moves ``step`` on, or None when it is settled (done/failed/skipped)."""
    if st.status == "pending":
        return StartAttempt(step, 1, round_)
    if st.status == "running":
        return ContinueAttempt(step, st.attempts, round_, tuple(st.recorded))
    if st.status == "failed" and st.retryable and st.attempts <= config.max_retries:
        delay = backoff_delay(config, st.attempts, st.retry_after)
        return StartAttempt(step, st.attempts + 1, round_, delay)
    return None


def _gave_up(step: Step, st: _Step) -> str:
    if st.retryable:
        return f"{step} failed after {st.attempts} attempts: {st.kind}: {st.error}"
    return f"{step} failed: {st.kind}: {st.error}"


def next_action(events: list[Event | UnknownEvent]) -> Action:
    """The supervisor's next move for a run whose log holds ``events`` (WorkflowStarted first)."""
    config, round_, steps, verdict, final = _fold(events)
    if final is not None:
        return Finished(completed=isinstance(final, WorkflowCompleted))
    if config is None:
        return Fail(None, "bad_log", "the log has no WorkflowStarted event")
    plan, code, review = steps["plan"], steps["code"], steps["review"]

    action = _step_action("plan", plan, 0, config)
    if action is not None:
        return action
    if plan.status != "done":
        later: Step
        for later in ("code", "review"):
            if steps[later].status == "pending":
                return Skip(later, "the plan step failed", round_)
        return Fail("plan", plan.kind, _gave_up("plan", plan))

    action = _step_action("code", code, round_, config)
    if action is not None:
        return action
    code_failed = code.status != "done"
    if code_failed and not config.continue_on_error:
        if review.status == "pending":
            return Skip("review", "the code step failed (continue_on_error is off)", round_)
        return Fail("code", code.kind, _gave_up("code", code))

    action = _step_action("review", review, round_, config)
    if action is not None:
        return action
    if review.status != "done":
        return Fail("review", review.kind, _gave_up("review", review))
    failed: tuple[Step, ...] = ("code",) if code_failed else ()
    if verdict == "request_changes" and not code_failed and round_ < config.max_revisions:
        return StartAttempt("code", 1, round_ + 1)
    return Complete(verdict, round_, failed)
