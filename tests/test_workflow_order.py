"""The supervisor keeps the order: an answer for another step, attempt or round is rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from _workflow import FAST, PLAN, kinds, of_type, scripted
from hypothesis import given
from hypothesis import strategies as st

from actors import Supervisor
from actors.agents import AGENTS, PlannerActor, StepWork
from actors.supervisor import order_violation
from events import (
    STEPS,
    CodeChange,
    CodeProduced,
    Event,
    Plan,
    PlanProduced,
    StepFailed,
    WorkflowCompleted,
)


class WrongAttemptPlanner(PlannerActor):
    """Answers attempt 1 as if it were attempt 2 (a stale or confused agent)."""

    def perform(self, work: StepWork) -> list[Event]:
        answer = super().perform(work)
        if work.attempt == 1:
            return [msgspec.structs.replace(ev, attempt=2) for ev in answer]  # type: ignore[call-arg]
        return answer


class WrongStepPlanner(PlannerActor):
    """Answers its first attempt with a Coder's event."""

    def perform(self, work: StepWork) -> list[Event]:
        if work.attempt == 1:
            return [CodeProduced(code=CodeChange(files=()), attempt=1)]
        return super().perform(work)


def run_with_planner(planner: type[PlannerActor], run_dir: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setitem(AGENTS, "plan", planner)
    Supervisor(FAST, model=scripted()).run("task", run_dir)


def test_answer_for_another_attempt_is_rejected_as_an_order_failure(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_with_planner(WrongAttemptPlanner, run_dir, monkeypatch)
    failed = of_type(run_dir, StepFailed)
    assert [(f.step, f.attempt, f.error_kind, f.retryable) for f in failed] == [
        ("plan", 1, "order", True)
    ]
    assert "attempt" in failed[0].message


def test_rejected_answer_is_not_appended(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_with_planner(WrongAttemptPlanner, run_dir, monkeypatch)
    assert kinds(run_dir)[:4] == ["WorkflowStarted", "StepStarted", "StepFailed", "StepStarted"]
    assert [p.attempt for p in of_type(run_dir, PlanProduced)] == [2]


def test_workflow_recovers_after_a_rejected_answer(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_with_planner(WrongAttemptPlanner, run_dir, monkeypatch)
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"


def test_event_of_another_step_is_rejected(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_with_planner(WrongStepPlanner, run_dir, monkeypatch)
    failed = of_type(run_dir, StepFailed)[0]
    assert (failed.step, failed.error_kind) == ("plan", "order")
    assert "CodeProduced is not an answer to step 'plan'" in failed.message
    assert [c.round for c in of_type(run_dir, CodeProduced)] == [0]  # only the real Coder's


def work(step: str = "plan", attempt: int = 1, round_: int = 0) -> StepWork:
    return StepWork(step=step, attempt=attempt, round=round_, timeout=1)  # type: ignore[arg-type]


def plan_event(**fields: Any) -> PlanProduced:
    return PlanProduced(plan=msgspec.convert(PLAN, Plan), **fields)


@given(st.sampled_from(STEPS), st.integers(1, 50), st.integers(0, 5))
def test_failure_matching_the_attempt_fits_the_order(step: str, attempt: int, round_: int) -> None:
    ev = StepFailed(
        step=step,  # type: ignore[arg-type]
        attempt=attempt,
        round=round_,
        error_kind="x",
        message="m",
        retryable=True,
    )
    assert order_violation([ev], work(step, attempt, round_)) is None


@given(
    st.sampled_from(STEPS),
    st.integers(1, 50),
    st.integers(0, 5),
    st.sampled_from(STEPS),
    st.integers(1, 50),
    st.integers(0, 5),
)
def test_failure_for_any_other_step_attempt_or_round_breaks_the_order(
    step: str, attempt: int, round_: int, other_step: str, other_attempt: int, other_round: int
) -> None:
    ev = StepFailed(
        step=other_step,  # type: ignore[arg-type]
        attempt=other_attempt,
        round=other_round,
        error_kind="x",
        message="m",
        retryable=True,
    )
    matches = (step, attempt, round_) == (other_step, other_attempt, other_round)
    assert (order_violation([ev], work(step, attempt, round_)) is None) == matches


@given(st.sampled_from(["code", "review"]))
def test_plan_is_not_an_answer_to_later_steps(step: str) -> None:
    assert order_violation([plan_event()], work(step)) is not None


def test_one_bad_event_spoils_the_whole_answer() -> None:
    assert order_violation([plan_event(attempt=1), plan_event(attempt=3)], work()) is not None
