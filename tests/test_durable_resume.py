"""Resume: a killed run continues from its log without redoing or re-asking anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _workflow import APPROVE, CODE, FAST, PLAN, answer, error, scripted

from actors import Supervisor
from events import (
    AgentlogError,
    CodeProduced,
    ModelCalled,
    ReviewProduced,
    StepFailed,
    StepStarted,
)
from store import EventLog, TornTail

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
TASK = "add a greeting module"
OTHER_CODE = {"files": [{"path": "other.py", "content": "Y = 2\n"}], "notes": "different"}


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def completed_run(run_dir: Path) -> Path:
    Supervisor(FAST, model=scripted()).run(TASK, run_dir)
    return run_dir


def keep_lines(run_dir: Path, n: int) -> bytes:
    """Cut the log to its first ``n`` lines, as a kill after the nth append leaves it."""
    path = run_dir / "events.jsonl"
    kept = b"".join(path.read_bytes().splitlines(keepends=True)[:n])
    path.write_bytes(kept)
    return kept


def seq_of(run_dir: Path, kind: type, step: str | None = None) -> int:
    return next(
        ev.seq
        for ev in EventLog(run_dir).read()
        if isinstance(ev, kind) and (step is None or getattr(ev, "step", None) == step)
    )


def test_resume_of_an_ended_run_says_so_and_exits_0(run_dir: Path) -> None:
    completed_run(run_dir)
    before = (run_dir / "events.jsonl").read_bytes()
    done = cli("resume", run_dir)
    assert done.returncode == 0
    assert "already ended (completed)" in done.stdout
    assert (run_dir / "events.jsonl").read_bytes() == before


def test_resume_of_an_ended_run_returns_its_result_unchanged(run_dir: Path) -> None:
    completed_run(run_dir)
    result = Supervisor.resume(run_dir, model=scripted(code=[answer(OTHER_CODE)]))
    assert result.status == "completed"
    assert result.code is not None and result.code.files[0].path == "hello.py"


def test_a_recorded_model_call_is_reused_instead_of_calling_again(run_dir: Path) -> None:
    completed_run(run_dir)
    keep_lines(run_dir, seq_of(run_dir, ModelCalled, "code"))  # the code artifact is lost
    model = scripted(code=[answer(OTHER_CODE)])
    result = Supervisor.resume(run_dir, model=model)
    assert result.status == "completed"
    assert result.code is not None and [f.path for f in result.code.files] == [
        "hello.py",
        "pkg/util.py",
    ]
    assert [req.step for req in model.calls] == ["review"]


def test_a_reused_model_call_is_not_logged_twice(run_dir: Path) -> None:
    completed_run(run_dir)
    keep_lines(run_dir, seq_of(run_dir, ModelCalled, "code"))
    Supervisor.resume(run_dir, model=scripted())
    calls = [ev.step for ev in EventLog(run_dir).read() if isinstance(ev, ModelCalled)]
    assert calls == ["plan", "code", "review"]


def test_completed_steps_are_not_redone(run_dir: Path) -> None:
    completed_run(run_dir)
    kept = keep_lines(run_dir, seq_of(run_dir, CodeProduced))
    model = scripted()
    Supervisor.resume(run_dir, model=model)
    assert [req.step for req in model.calls] == ["review"]
    assert (run_dir / "events.jsonl").read_bytes().startswith(kept)


def test_an_interrupted_attempt_is_continued_without_a_second_step_started(
    run_dir: Path,
) -> None:
    completed_run(run_dir)
    keep_lines(run_dir, seq_of(run_dir, StepStarted, "review"))
    Supervisor.resume(run_dir, model=scripted())
    starts = [
        (ev.step, ev.attempt) for ev in EventLog(run_dir).read() if isinstance(ev, StepStarted)
    ]
    assert starts == [("plan", 1), ("code", 1), ("review", 1)]


def test_a_run_killed_after_a_retryable_failure_retries_on_resume(run_dir: Path) -> None:
    Supervisor(FAST, model=scripted(code=[error("overloaded"), answer(CODE)])).run(TASK, run_dir)
    keep_lines(run_dir, seq_of(run_dir, StepFailed))
    result = Supervisor.resume(run_dir, model=scripted())
    assert result.status == "completed"
    starts = [
        (ev.step, ev.attempt) for ev in EventLog(run_dir).read() if isinstance(ev, StepStarted)
    ]
    assert starts == [("plan", 1), ("code", 1), ("code", 2), ("review", 1)]


def test_resume_rewrites_artifacts_the_killed_process_did_not_write(run_dir: Path) -> None:
    completed_run(run_dir)
    expected = (run_dir / "review.json").read_bytes()
    keep_lines(run_dir, seq_of(run_dir, ReviewProduced))  # WorkflowCompleted never written
    (run_dir / "review.json").unlink()
    Supervisor.resume(run_dir, model=scripted())
    assert (run_dir / "review.json").read_bytes() == expected


def test_resume_of_a_torn_tail_raises_torn_tail(run_dir: Path) -> None:
    completed_run(run_dir)
    path = run_dir / "events.jsonl"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TornTail, match="agentlog verify --repair"):
        Supervisor.resume(run_dir, model=scripted())


def test_resume_cli_reports_a_torn_tail_with_the_repair_hint_and_exits_1(
    run_dir: Path,
) -> None:
    completed_run(run_dir)
    path = run_dir / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:5]) + lines[5][:30])
    done = cli("resume", run_dir)
    assert done.returncode == 1
    assert "agentlog verify --repair" in done.stderr
    assert "Traceback" not in done.stderr


def test_resume_after_repairing_a_torn_tail_completes(run_dir: Path) -> None:
    completed_run(run_dir)
    path = run_dir / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:5]) + lines[5][:30])
    EventLog(run_dir).repair()
    result = Supervisor.resume(run_dir, model=scripted())
    assert result.status == "completed"
    assert path.read_bytes().startswith(b"".join(lines[:5]))


def test_resume_of_a_log_without_workflow_started_is_refused(run_dir: Path) -> None:
    run_dir.mkdir()
    (run_dir / "events.jsonl").write_bytes(b"")
    with pytest.raises(AgentlogError, match="no WorkflowStarted"):
        Supervisor.resume(run_dir, model=scripted())


def test_resume_uses_the_plan_and_task_of_the_log(run_dir: Path) -> None:
    completed_run(run_dir)
    keep_lines(run_dir, seq_of(run_dir, StepStarted, "code"))
    model = scripted()
    Supervisor.resume(run_dir, model=model)
    assert TASK in model.calls[0].messages[0]["content"]
    assert PLAN["summary"] in str(model.calls[0].messages)
    assert APPROVE["summary"] == Supervisor.resume(run_dir).review.summary  # type: ignore[union-attr]
