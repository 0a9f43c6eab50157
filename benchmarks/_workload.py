"""The event workload every benchmark writes and reads: one realistic workflow cycle.

Small events, 150 to 600 bytes a line: steps, a model call with content and usage,
artifacts and a retryable failure, repeated. Shared so that ``log_bench.py`` and
``compare.py`` measure the same lines.
"""

from __future__ import annotations

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
)

__all__ = ["workload"]


def workload(n: int) -> list[Event]:
    """Small events, 150 to 600 bytes a line: a cycle of steps, calls, artifacts, a failure."""
    wf = "wf-bench"
    content = ({"type": "tool_use", "name": "submit_plan", "input": {"summary": "do it"}},)
    cycle: list[Event] = [
        StepStarted(workflow_id=wf, step="plan", attempt=1),
        ModelCalled(
            workflow_id=wf,
            actor="planner",
            step="plan",
            attempt=1,
            request_digest="sha256:" + "ab" * 32,
            model="claude-sonnet-4-5",
            content=content,
            stop_reason="tool_use",
            usage=Usage(input_tokens=1200, output_tokens=350, cache_read_input_tokens=800),
            latency_ms=812.5,
        ),
        PlanProduced(
            workflow_id=wf,
            actor="planner",
            plan=Plan(summary="Add a CLI flag", steps=(PlanStep(title="flag", description="add"),)),
        ),
        StepStarted(workflow_id=wf, step="code", attempt=1),
        StepFailed(
            workflow_id=wf,
            step="code",
            attempt=1,
            error_kind="overloaded",
            message="529 overloaded",
            retryable=True,
        ),
        CodeProduced(
            workflow_id=wf,
            actor="coder",
            code=CodeChange(files=(FileChange(path="cli.py", content="print('hi')\n"),)),
        ),
        ReviewProduced(
            workflow_id=wf, actor="reviewer", review=Review(verdict="approve", summary="looks good")
        ),
    ]
    return [cycle[i % len(cycle)] for i in range(n)]
