"""Error boundaries of a workflow: retries, continue_on_error, crashed agents, revisions."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
from _workflow import APPROVE, CHANGES, FAST, PLAN, answer, error, kinds, of_type, scripted

from actors import Supervisor
from actors.models import ModelRequest, ModelResponse, ScriptedModel
from events import (
    CodeProduced,
    ReviewProduced,
    StepFailed,
    StepSkipped,
    StepStarted,
    WorkflowCompleted,
    WorkflowConfig,
    WorkflowFailed,
)


def config(**changes: object) -> WorkflowConfig:
    return msgspec.structs.replace(FAST, **changes)


# -- retries -----------------------------------------------------------------------------


def test_retryable_failures_are_retried_until_success(run_dir: Path) -> None:
    model = scripted(plan=[error("overloaded"), error("rate_limit"), answer(PLAN)])
    Supervisor(FAST, model=model).run("task", run_dir)
    assert [(f.attempt, f.error_kind) for f in of_type(run_dir, StepFailed)] == [
        (1, "overloaded"),
        (2, "rate_limit"),
    ]
    assert [s.attempt for s in of_type(run_dir, StepStarted) if s.step == "plan"] == [1, 2, 3]
    assert kinds(run_dir)[-1] == "WorkflowCompleted"


def test_retries_stop_after_max_retries_and_fail_the_workflow(run_dir: Path) -> None:
    model = scripted(plan=[error("overloaded")])
    Supervisor(config(max_retries=2), model=model).run("task", run_dir)
    assert len(of_type(run_dir, StepFailed)) == 3
    final = of_type(run_dir, WorkflowFailed)[0]
    assert (final.step, final.error_kind) == ("plan", "overloaded")
    assert "after 3 attempts" in final.message


def test_backoff_grows_between_attempts(run_dir: Path) -> None:
    slept: list[float] = []
    model = scripted(plan=[error("overloaded"), error("overloaded"), answer(PLAN)])
    cfg = config(backoff_base=1.0, backoff_max=30.0)
    Supervisor(cfg, model=model, sleep=slept.append).run("task", run_dir)
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0
    assert 1.0 <= slept[1] <= 2.0


def test_non_retryable_failure_is_not_retried(run_dir: Path) -> None:
    model = scripted(plan=[error("bad_request"), answer(PLAN)])
    Supervisor(FAST, model=model).run("task", run_dir)
    assert len(model.calls) == 1
    assert of_type(run_dir, WorkflowFailed)[0].error_kind == "bad_request"


# -- continue_on_error -------------------------------------------------------------------


def test_failed_coder_with_continue_on_error_still_gets_reviewed(run_dir: Path) -> None:
    model = scripted(code=[error("bad_request")])
    result = Supervisor(config(continue_on_error=True), model=model).run("task", run_dir)
    assert kinds(run_dir)[-3:] == ["ModelCalled", "ReviewProduced", "WorkflowCompleted"]
    assert of_type(run_dir, WorkflowCompleted)[0].failed_steps == ("code",)
    assert (result.status, result.failed_steps, result.ok) == ("completed", ("code",), False)


def test_failed_coder_without_continue_on_error_skips_review_and_fails(run_dir: Path) -> None:
    model = scripted(code=[error("bad_request")])
    result = Supervisor(config(continue_on_error=False), model=model).run("task", run_dir)
    assert kinds(run_dir)[-3:] == ["StepFailed", "StepSkipped", "WorkflowFailed"]
    assert of_type(run_dir, StepSkipped)[0].step == "review"
    assert of_type(run_dir, WorkflowFailed)[0].step == "code"
    assert result.status == "failed"
    assert [r.step for r in model.calls] == ["plan", "code"]


def test_failed_planner_skips_code_and_review(run_dir: Path) -> None:
    model = scripted(plan=[error("auth")])
    Supervisor(config(continue_on_error=True), model=model).run("task", run_dir)
    assert [s.step for s in of_type(run_dir, StepSkipped)] == ["code", "review"]
    assert of_type(run_dir, WorkflowFailed)[0].step == "plan"


# -- crashing agents ---------------------------------------------------------------------


class CrashOnce:
    """A model whose first call raises a plain RuntimeError (a bug, not a ModelError)."""

    def __init__(self, inner: ScriptedModel) -> None:
        self.name = inner.name
        self.inner = inner
        self.threads: list[str] = []
        self._crashed = False

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        self.threads.append(threading.current_thread().name)
        if not self._crashed:
            self._crashed = True
            raise RuntimeError("boom")
        return self.inner.call(request, timeout=timeout)


def test_crashing_agent_is_recorded_as_a_crash_and_retried(run_dir: Path) -> None:
    Supervisor(FAST, model=CrashOnce(scripted())).run("task", run_dir)
    failed = of_type(run_dir, StepFailed)
    assert [(f.step, f.attempt, f.error_kind, f.retryable) for f in failed] == [
        ("plan", 1, "crash", True)
    ]
    assert "RuntimeError: boom" in failed[0].message
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "approve"


def test_crashed_agent_is_replaced_by_a_new_actor(run_dir: Path) -> None:
    model = CrashOnce(scripted())
    Supervisor(FAST, model=model).run("task", run_dir)
    first, second = model.threads[:2]
    assert first != second  # the retry ran in a fresh actor's thread


# -- revision rounds ---------------------------------------------------------------------


def test_request_changes_sends_the_code_back_for_one_round(run_dir: Path) -> None:
    model = scripted(review=[answer(CHANGES), answer(APPROVE)])
    Supervisor(config(max_revisions=1), model=model).run("task", run_dir)
    rounds = [(s.step, s.round) for s in of_type(run_dir, StepStarted)]
    assert rounds == [("plan", 0), ("code", 0), ("review", 0), ("code", 1), ("review", 1)]
    final = of_type(run_dir, WorkflowCompleted)[0]
    assert (final.verdict, final.revisions) == ("approve", 1)


def test_revision_request_shows_the_coder_the_review(run_dir: Path) -> None:
    model = scripted(review=[answer(CHANGES), answer(APPROVE)])
    Supervisor(config(max_revisions=1), model=model).run("task", run_dir)
    revision = [r for r in model.calls if r.step == "code"][1]
    assert "add a docstring" in msgspec.json.encode(revision.messages).decode()


def test_revision_rounds_are_bounded_by_max_revisions(run_dir: Path) -> None:
    model = scripted(review=[answer(CHANGES)])
    Supervisor(config(max_revisions=2), model=model).run("task", run_dir)
    assert [c.round for c in of_type(run_dir, CodeProduced)] == [0, 1, 2]
    assert [r.round for r in of_type(run_dir, ReviewProduced)] == [0, 1, 2]
    final = of_type(run_dir, WorkflowCompleted)[0]
    assert (final.verdict, final.revisions) == ("request_changes", 2)


def test_no_revision_round_when_max_revisions_is_zero(run_dir: Path) -> None:
    model = scripted(review=[answer(CHANGES)])
    Supervisor(config(max_revisions=0), model=model).run("task", run_dir)
    assert len(of_type(run_dir, CodeProduced)) == 1
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "request_changes"


def test_reject_verdict_ends_the_run_without_revision(run_dir: Path) -> None:
    reject = {"verdict": "reject", "summary": "Wrong approach."}
    model = scripted(review=[answer(reject)])
    Supervisor(config(max_revisions=3), model=model).run("task", run_dir)
    assert len(of_type(run_dir, CodeProduced)) == 1
    assert of_type(run_dir, WorkflowCompleted)[0].verdict == "reject"
