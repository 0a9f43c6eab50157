"""Projections: pure functions folding an event iterable into what callers want to know.

One module per job: :mod:`~store.projections.state` (the one fold of a run: status,
steps, task and config in force, what the supervisor decides from),
:mod:`~store.projections.artifacts` (the latest plan, code and review) and
:mod:`~store.projections.stats` (what each step cost). Each reads the events once, in
order, and keeps no state between calls, so a projection rebuilt from the same log is
always the same. ``UnknownEvent`` (a type from a newer agentlog) never changes one.
"""

from store.projections.artifacts import Artifacts
from store.projections.state import (
    ErrorInfo,
    ForkOrigin,
    GateState,
    StepState,
    StepStatus,
    WorkflowFold,
    WorkflowState,
    WorkflowStatus,
    artifacts,
    workflow_state,
)
from store.projections.stats import StepStats, StepTally, step_stats, total_stats

__all__ = [
    "Artifacts",
    "ErrorInfo",
    "ForkOrigin",
    "GateState",
    "StepState",
    "StepStats",
    "StepStatus",
    "StepTally",
    "WorkflowFold",
    "WorkflowState",
    "WorkflowStatus",
    "artifacts",
    "step_stats",
    "total_stats",
    "workflow_state",
]
