"""Retrying a failed run (``agentlog retry``): a fresh retry budget from the failed step.

Like Temporal's reset, the history is kept: a ``RetryRequested`` event is appended after
the ``WorkflowFailed``, failed steps may make ``max_retries`` more retries (attempt
numbers go on), steps skipped because of the failure run again, and the run replays.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CODE, FAST, PLAN, answer, error, events_of, kinds, of_type, scripted

from actors import Supervisor, replay
from events import (
    AgentlogError,
    Event,
    RetryRequested,
    StepFailed,
    StepSkipped,
    StepStarted,
    WorkflowCompleted,
    WorkflowFailed,
)
from store import EventLog, workflow_state

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
ONE_RETRY = msgspec.structs.replace(FAST, max_retries=1)
OVERLOADED = [error("overloaded")] * 2


def failed_code_run(run_dir: Path) -> Path:
    """A run whose code step used up its retries (two overloaded answers, max_retries=1)."""
    result = Supervisor(ONE_RETRY, model=scripted(code=OVERLOADED)).run("task", run_dir)
    assert result.status == "failed"
    return run_dir


def test_a_retried_run_completes_from_its_failed_step(run_dir: Path) -> None:
    failed_code_run(run_dir)
    before = events_of(run_dir)
    result = Supervisor.retry(run_dir, model=scripted())
    assert result.status == "completed"
    after = events_of(run_dir)
    assert after[: len(before)] == before  # the original history is kept
    assert isinstance(after[len(before)], RetryRequested)
    started = [(ev.step, ev.attempt) for ev in of_type(run_dir, StepStarted)]
    assert started == [("plan", 1), ("code", 1), ("code", 2), ("code", 3), ("review", 1)]


def test_a_retrys_listeners_hear_the_retry_request_and_what_follows(run_dir: Path) -> None:
    failed_code_run(run_dir)
    heard: list[Event] = []
    Supervisor.retry(run_dir, model=scripted(), listeners=[heard.append])
    after = events_of(run_dir)
    assert heard == after[len(after) - len(heard) :]
    assert isinstance(heard[0], RetryRequested)


def test_a_retry_gives_the_failed_step_a_fresh_budget(run_dir: Path) -> None:
    failed_code_run(run_dir)
    result = Supervisor.retry(run_dir, model=scripted(code=OVERLOADED))
    assert result.status == "failed"
    code_failures = [ev.attempt for ev in of_type(run_dir, StepFailed) if ev.step == "code"]
    assert code_failures == [1, 2, 3, 4]
    assert len(of_type(run_dir, WorkflowFailed)) == 2


def test_steps_skipped_because_of_the_failure_run_after_a_retry(run_dir: Path) -> None:
    model = scripted(plan=[error("auth", "bad key")])
    assert Supervisor(FAST, model=model).run("task", run_dir).status == "failed"
    assert [ev.step for ev in of_type(run_dir, StepSkipped)] == ["code", "review"]
    result = Supervisor.retry(run_dir, model=scripted(), reason="key fixed")
    assert result.ok
    assert of_type(run_dir, RetryRequested)[0].reason == "key fixed"
    assert kinds(run_dir)[-1] == "WorkflowCompleted"
    assert workflow_state(EventLog(run_dir).read()).done_steps == ("plan", "code", "review")


def test_a_retried_run_replays_identically(run_dir: Path) -> None:
    failed_code_run(run_dir)
    Supervisor.retry(run_dir, model=scripted(code=[answer(CODE)]))
    report = replay(run_dir)
    assert report.ok, report.verdict
    assert report.recorded == len(events_of(run_dir))


@pytest.mark.parametrize("status", ["completed", "running"])
def test_only_a_failed_run_can_be_retried(status: str, run_dir: Path) -> None:
    Supervisor(FAST, model=scripted()).run("task", run_dir)
    if status == "running":
        path = run_dir / "events.jsonl"
        path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:4]))
    before = (run_dir / "events.jsonl").read_bytes()
    hint = "resume" if status == "running" else "fork"
    with pytest.raises(AgentlogError, match=f"only a failed run can be retried.*{hint}"):
        Supervisor.retry(run_dir, model=scripted())
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_the_cli_retries_a_failed_run(run_dir: Path, tmp_path: Path) -> None:
    failed_code_run(run_dir)
    script = tmp_path / "script.json"
    happy = {"plan": [answer(PLAN)], "code": [answer(CODE)], "review": [answer(APPROVE)]}
    script.write_bytes(msgspec.json.encode(happy))
    done = subprocess.run(
        [*CLI, "retry", str(run_dir), "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout
    assert isinstance(events_of(run_dir)[-1], WorkflowCompleted)


def test_the_cli_refuses_to_retry_a_completed_run_with_exit_2(run_dir: Path) -> None:
    Supervisor(FAST, model=scripted()).run("task", run_dir)
    done = subprocess.run(
        [*CLI, "retry", str(run_dir)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "only a failed run can be retried" in done.stderr
    assert "Traceback" not in done.stderr


def test_resume_of_a_failed_run_points_to_retry(run_dir: Path) -> None:
    failed_code_run(run_dir)
    done = subprocess.run(
        [*CLI, "resume", str(run_dir)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "already ended (failed)" in done.stdout
    assert f"agentlog retry {run_dir}" in done.stdout


def test_retry_takes_a_higher_budget_on_the_command_line(run_dir: Path) -> None:
    from actors.cli import main

    Supervisor(FAST, model=scripted(code=[error("bad_request")])).run("task", run_dir)
    assert main(["retry", str(run_dir), "--budget-usd", "-1"]) == 2  # checked before anything
    assert [type(e).__name__ for e in EventLog(run_dir).read()][-1] == "WorkflowFailed"
