"""Events to the argument of the Convex mutation ``mirror:apply``: a pure projection.

Each event the dashboard tables show becomes a small JSON-safe record (``kind`` plus the
fields the ``workflows`` and ``agentSessions`` rows need); model responses and
artifacts stay in the log. The shapes mirror the validators in
``tracking/convex/mirror.ts``: Convex's ``v.number()`` is a float64, so every count and
time goes out as a Python ``float`` (the client would encode an ``int`` as an int64,
which the validator refuses). Times are epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import msgspec

from events import (
    ApprovalDecided,
    ApprovalRequested,
    ChangesRequested,
    CodeProduced,
    Diverged,
    Event,
    Forked,
    ModelCalled,
    PlanProduced,
    ReviewProduced,
    StepFailed,
    StepSkipped,
    StepStarted,
    UnknownEvent,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
)
from store.credentials import mask_secrets, may_hold_secret

__all__ = [
    "APPLY",
    "HEAD",
    "LAST_SEQ",
    "REWIND",
    "Batch",
    "MirrorEvent",
    "batch_payload",
    "mirror_event",
    "ts_ms",
]

#: Convex function paths (module ``tracking/convex/mirror.ts``).
APPLY = "mirror:apply"
LAST_SEQ = "mirror:lastSeq"
HEAD = "mirror:head"
REWIND = "mirror:rewind"

JsonScalar: TypeAlias = str | float | bool | None
MirrorEvent: TypeAlias = dict[str, JsonScalar]
Batch: TypeAlias = dict[str, "str | float | list[MirrorEvent]"]


def ts_ms(ts: str) -> float:
    """An RFC 3339 timestamp as epoch milliseconds (0.0 when it is empty or malformed)."""
    try:
        return datetime.fromisoformat(ts).timestamp() * 1000.0
    except ValueError:
        return 0.0


def mirror_event(ev: Event | UnknownEvent) -> MirrorEvent | None:
    """The record ``mirror:apply`` folds in for ``ev``, or None for events the tables ignore.

    Ignored events (``TestsRan``, types from a newer agentlog) still count: the batch's
    ``toSeq`` covers them, so Convex's ``lastSeq`` moves past them.
    """
    head: MirrorEvent = {"seq": float(ev.seq), "ts": ts_ms(ev.ts)}
    match ev:
        case WorkflowStarted():
            return {"kind": "workflowStarted", **head, "task": ev.task, "model": ev.config.model}
        case Forked():
            model = ev.config.model if ev.config is not None and ev.config.model else None
            return {
                "kind": "forked",
                **head,
                "sourceWorkflowId": ev.source_workflow_id,
                "atSeq": float(ev.at_seq),
                "task": ev.task,
                "model": model,
                "whatIf": ev.what_if,
            }
        case Diverged():
            source_seq = None if ev.source_seq is None else float(ev.source_seq)
            return {"kind": "diverged", **head, "step": ev.step, "sourceSeq": source_seq}
        case StepStarted():
            return {"kind": "stepStarted", **head, **_attempt(ev.step, ev.round, ev.attempt)}
        case ModelCalled():
            return {
                "kind": "modelCalled",
                **head,
                **_attempt(ev.step, ev.round, ev.attempt),
                "model": ev.model,
                "inputTokens": float(ev.usage.input_tokens),
                "outputTokens": float(ev.usage.output_tokens),
                "cacheCreationInputTokens": float(ev.usage.cache_creation_input_tokens),
                "cacheReadInputTokens": float(ev.usage.cache_read_input_tokens),
                "latencyMs": float(ev.latency_ms),
            }
        case PlanProduced():
            return _succeeded(head, "plan", 0, ev.attempt, None)
        case CodeProduced():
            return _succeeded(head, "code", ev.round, ev.attempt, None)
        case ReviewProduced():
            return _succeeded(head, "review", ev.round, ev.attempt, ev.review.verdict)
        case StepFailed():
            return {
                "kind": "stepFailed",
                **head,
                **_attempt(ev.step, ev.round, ev.attempt),
                "errorKind": ev.error_kind,
                "message": ev.message,
                "retryable": ev.retryable,
            }
        case StepSkipped():
            return {
                "kind": "stepSkipped",
                **head,
                "step": ev.step,
                "round": float(ev.round),
                "reason": ev.reason,
            }
        case WorkflowCompleted():
            return {"kind": "workflowCompleted", **head, "verdict": ev.verdict}
        case WorkflowFailed():
            return {
                "kind": "workflowFailed",
                **head,
                "step": ev.step,
                "errorKind": ev.error_kind,
                "message": ev.message,
            }
        case ApprovalRequested():
            return {"kind": "approvalRequested", **head, "step": ev.step, "round": float(ev.round)}
        case ApprovalDecided():
            return {
                "kind": "approvalDecided",
                **head,
                "step": ev.step,
                "decision": ev.decision,
                "by": ev.by,
            }
        case ChangesRequested():
            return {"kind": "changesRequested", **head, "by": ev.by}
        case _:
            return None


def batch_payload(workflow_id: str, events: Sequence[Event | UnknownEvent]) -> Batch:
    """The ``mirror:apply`` arguments for consecutive ``events`` (non-empty) of one run."""
    if not events:
        raise ValueError("a batch needs at least one event")
    records = [r for r in map(mirror_event, events) if r is not None]
    if may_hold_secret(msgspec.json.encode(records)):  # a log older than the masking
        records = [{k: _masked(v) for k, v in r.items()} for r in records]
    return {
        "workflowId": workflow_id,
        "fromSeq": float(events[0].seq),
        "toSeq": float(events[-1].seq),
        "toId": events[-1].id,
        "events": records,
    }


def _masked(value: JsonScalar) -> JsonScalar:
    return mask_secrets(value) if isinstance(value, str) else value


def _attempt(step: str, round_: int, attempt: int) -> MirrorEvent:
    return {"step": step, "round": float(round_), "attempt": float(attempt)}


def _succeeded(
    head: MirrorEvent, step: str, round_: int, attempt: int, verdict: str | None
) -> MirrorEvent:
    return {"kind": "stepSucceeded", **head, **_attempt(step, round_, attempt), "verdict": verdict}
