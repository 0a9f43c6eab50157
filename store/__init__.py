"""agentlog's store: the append-only JSONL event log and the projections built from it.

The Convex integration lives apart, in :mod:`store.convex`; its names are still reachable
here (imported on first use) for code written before it moved.
"""

from typing import Any

from store.errors import LogCorrupt, LogError, LogLocked, NotALog, TornTail
from store.log import (
    LOG_NAME,
    AppendListener,
    EventLog,
    LogWriter,
    RepairReport,
    VerifyReport,
    resolve_log_path,
)
from store.materialize import MaterializeReport, encode_artifact, materialize
from store.paths import UnsafePath, safe_path
from store.projections import (
    Artifacts,
    ErrorInfo,
    ForkOrigin,
    GateState,
    StepState,
    StepStats,
    WorkflowFold,
    WorkflowState,
    artifacts,
    step_stats,
    total_stats,
    workflow_state,
)

__all__ = [
    "LOG_NAME",
    "AppendListener",
    "Artifacts",
    "ErrorInfo",
    "EventLog",
    "ForkOrigin",
    "GateState",
    "LogCorrupt",
    "LogError",
    "LogLocked",
    "LogWriter",
    "MaterializeReport",
    "NotALog",
    "RepairReport",
    "StepState",
    "StepStats",
    "TornTail",
    "UnsafePath",
    "VerifyReport",
    "WorkflowFold",
    "WorkflowState",
    "artifacts",
    "encode_artifact",
    "materialize",
    "resolve_log_path",
    "safe_path",
    "step_stats",
    "total_stats",
    "workflow_state",
]

_CONVEX = frozenset(
    {
        "ConvexCallError",
        "ConvexMirror",
        "MirrorReport",
        "RunSync",
        "SyncProgress",
        "SyncReport",
        "sync_runs",
    }
)


def __getattr__(name: str) -> Any:
    """The Convex names moved to :mod:`store.convex`; import them from there."""
    if name in _CONVEX:
        import store.convex

        return getattr(store.convex, name)
    raise AttributeError(f"module 'store' has no attribute {name!r}")
