"""Helpers for the event-log tests: a varied run's worth of unstamped events and real logs."""

from __future__ import annotations

from pathlib import Path

from events import (
    CodeChange,
    CodeProduced,
    Event,
    FileChange,
    ModelCalled,
    Plan,
    PlanProduced,
    PlanStep,
    Review,
    ReviewProduced,
    StepFailed,
    StepStarted,
    Usage,
    WorkflowCompleted,
    WorkflowStarted,
)
from store import EventLog


def run_events(workflow_id: str = "wf-1") -> list[Event]:
    """One workflow's events as producers hand them to the log (no seq, id or ts)."""
    wf = workflow_id
    return [
        WorkflowStarted(workflow_id=wf, task="add a --verbose flag"),
        StepStarted(workflow_id=wf, step="plan", attempt=1),
        ModelCalled(
            workflow_id=wf,
            actor="planner",
            step="plan",
            attempt=1,
            request_digest="sha256:00ff",
            model="claude-test",
            content=({"type": "text", "text": 'ünïcödé ✓ \n "quoted"'},),
            stop_reason="tool_use",
            usage=Usage(input_tokens=10, output_tokens=5),
        ),
        PlanProduced(
            workflow_id=wf,
            actor="planner",
            plan=Plan(summary="do it", steps=(PlanStep(title="flag", description="add"),)),
        ),
        StepStarted(workflow_id=wf, step="code", attempt=1),
        StepFailed(
            workflow_id=wf,
            step="code",
            attempt=1,
            error_kind="overloaded",
            message="try again",
            retryable=True,
        ),
        CodeProduced(
            workflow_id=wf,
            actor="coder",
            code=CodeChange(files=(FileChange(path="cli.py", content="print('hi')\n"),)),
        ),
        ReviewProduced(
            workflow_id=wf, actor="reviewer", review=Review(verdict="approve", summary="ok")
        ),
        WorkflowCompleted(workflow_id=wf, verdict="approve"),
    ]


def make_log(directory: Path, events: list[Event] | None = None) -> EventLog:
    """A log in ``directory`` holding ``events`` (default: :func:`run_events`)."""
    log = EventLog(directory)
    with log.writer() as writer:
        writer.append_many(run_events() if events is None else events)
    return log


def line_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each line of ``data``, the newline included."""
    spans = []
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end + 1
        spans.append((start, end))
        start = end
    return spans


def line_of(data: bytes, offset: int) -> int:
    """The 1-based number of the line holding byte ``offset`` (its newline included)."""
    return data.count(b"\n", 0, offset) + 1
