"""Event lists of whole runs for tests, built directly (no log, no model, no network).

Each builder returns stamped events (``seq`` 1.., ``id``, ``ts`` one second apart), as a
log would hand them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from events import (
    CodeChange,
    CodeProduced,
    Event,
    FileChange,
    Forked,
    ModelCalled,
    Plan,
    PlanProduced,
    PlanStep,
    Review,
    ReviewProduced,
    Step,
    StepFailed,
    StepSkipped,
    StepStarted,
    Usage,
    Verdict,
    WorkflowCompleted,
    WorkflowConfig,
    WorkflowFailed,
    WorkflowStarted,
)

WORKFLOW_ID = "wf-test"
TASK = "add a greeting module"
MODEL = "claude-test"
START = datetime(2025, 1, 1, tzinfo=UTC)


def ts_at(second: float) -> str:
    """The RFC 3339 UTC timestamp ``second`` seconds after :data:`START`."""
    return f"{START + timedelta(seconds=second):%Y-%m-%dT%H:%M:%S.%f}Z"


def stamp(events: Iterable[Event], workflow_id: str = WORKFLOW_ID) -> list[Event]:
    """Number events as a log does: seq from 1, ids, timestamps one second apart."""
    return [
        msgspec.structs.replace(
            ev, seq=i, id=f"ev-{i}", ts=ts_at(i), workflow_id=workflow_id or ev.workflow_id
        )
        for i, ev in enumerate(events, start=1)
    ]


def plan() -> Plan:
    return Plan(
        summary="write a greeting",
        steps=(PlanStep(title="greet", description="add greet()", files=("greet.py",)),),
    )


def code(files: dict[str, str], notes: str = "") -> CodeChange:
    return CodeChange(
        files=tuple(FileChange(path=p, content=c) for p, c in files.items()), notes=notes
    )


def review(verdict: Verdict = "approve") -> Review:
    return Review(verdict=verdict, summary=f"verdict: {verdict}")


FIRST_FILES = {"greet.py": "def greet():\n    return 'hi'\n", "pkg/util.py": "X = 1\n"}
REVISED_FILES = {"greet.py": "def greet(name):\n    return f'hi {name}'\n", "README.md": "# hi\n"}


def called(
    step: Step,
    attempt: int = 1,
    round_: int = 0,
    *,
    input_tokens: int = 100,
    output_tokens: int = 50,
    cache_read: int = 0,
    latency_ms: float = 250.0,
    model: str = MODEL,
) -> ModelCalled:
    return ModelCalled(
        step=step,
        attempt=attempt,
        round=round_,
        request_digest=f"digest-{step}-{attempt}-{round_}",
        model=model,
        content=({"type": "text", "text": "ok"},),
        stop_reason="tool_use",
        usage=Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_input_tokens=cache_read,
        ),
        latency_ms=latency_ms,
    )


def started(config: WorkflowConfig | None = None) -> WorkflowStarted:
    return WorkflowStarted(task=TASK, config=config or WorkflowConfig(model=MODEL))


def plan_events() -> list[Event]:
    return [
        StepStarted(step="plan", attempt=1),
        called("plan"),
        PlanProduced(plan=plan()),
    ]


def code_events_with_retry() -> list[Event]:
    """The Coder's first attempt returns invalid output; the second succeeds."""
    return [
        StepStarted(step="code", attempt=1),
        called("code", 1),
        StepFailed(
            step="code",
            attempt=1,
            error_kind="invalid_output",
            message="submit_code input did not validate",
            retryable=True,
        ),
        StepStarted(step="code", attempt=2),
        called("code", 2, output_tokens=400),
        CodeProduced(code=code(FIRST_FILES), attempt=2),
    ]


def review_events(verdict: Verdict = "approve", round_: int = 0) -> list[Event]:
    return [
        StepStarted(step="review", attempt=1, round=round_),
        called("review", 1, round_, cache_read=30),
        ReviewProduced(review=review(verdict), round=round_),
    ]


def completed_run() -> list[Event]:
    """Plan, code (one failed attempt, then success), approving review, completed."""
    return stamp(
        [
            started(),
            *plan_events(),
            *code_events_with_retry(),
            *review_events("approve"),
            WorkflowCompleted(verdict="approve"),
        ]
    )


def failed_run() -> list[Event]:
    """The Coder hits a rate limit, then a non-retryable error; the workflow fails."""
    return stamp(
        [
            started(),
            *plan_events(),
            StepStarted(step="code", attempt=1),
            StepFailed(
                step="code", attempt=1, error_kind="rate_limit", message="429", retryable=True
            ),
            StepStarted(step="code", attempt=2),
            StepFailed(
                step="code", attempt=2, error_kind="api_error", message="400 bad", retryable=False
            ),
            StepSkipped(step="review", reason="the Coder failed"),
            WorkflowFailed(step="code", error_kind="api_error", message="code failed: 400 bad"),
        ]
    )


def continue_on_error_run() -> list[Event]:
    """The Coder fails for good but ``continue_on_error`` lets the Reviewer run."""
    return stamp(
        [
            started(WorkflowConfig(model=MODEL, continue_on_error=True)),
            *plan_events(),
            StepStarted(step="code", attempt=1),
            StepFailed(
                step="code", attempt=1, error_kind="timeout", message="timed out", retryable=False
            ),
            *review_events("reject"),
            WorkflowCompleted(verdict="reject", failed_steps=("code",)),
        ]
    )


def revision_run() -> list[Event]:
    """Round 0 ends in ``request_changes``; round 1 rewrites the code and is approved."""
    return stamp(
        [
            started(WorkflowConfig(model=MODEL, max_revisions=1)),
            *plan_events(),
            *code_events_with_retry(),
            *review_events("request_changes"),
            StepStarted(step="code", attempt=1, round=1),
            called("code", 1, 1, output_tokens=300),
            CodeProduced(code=code(REVISED_FILES), round=1),
            *review_events("approve", round_=1),
            WorkflowCompleted(verdict="approve", revisions=1),
        ]
    )


FORK_TASK = "add a farewell module instead"
FORK_CONFIG = WorkflowConfig(model=MODEL, max_revisions=2)


def forked_run(at_seq: int = 4, overrides: bool = True) -> list[Event]:
    """The first ``at_seq`` events of :func:`completed_run`, a ``Forked``, then a new tail."""
    head: Sequence[Event] = completed_run()[:at_seq]
    fork = Forked(
        source="/runs/original/events.jsonl",
        source_workflow_id=WORKFLOW_ID,
        at_seq=at_seq,
        task=FORK_TASK if overrides else None,
        config=FORK_CONFIG if overrides else None,
        workflow_id="wf-fork",
    )
    tail = [fork, *code_events_with_retry(), *review_events("approve"), WorkflowCompleted()]
    return stamp([*head, *tail], workflow_id="")
