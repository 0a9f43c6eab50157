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
    log_file_problem,
    resolve_log_path,
)
from store.materialize import MaterializeReport, ProjectionError, encode_artifact, materialize
from store.paths import UnsafePath, safe_path
from store.projection_sync import check_projections, repair_projections, sync_projections
from store.projections import (
    Artifacts,
    ErrorInfo,
    ForkOrigin,
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
    "LogCorrupt",
    "LogError",
    "LogLocked",
    "LogWriter",
    "MaterializeReport",
    "NotALog",
    "ProjectionError",
    "RepairReport",
    "StepState",
    "StepStats",
    "TornTail",
    "UnsafePath",
    "VerifyReport",
    "WorkflowFold",
    "WorkflowState",
    "artifacts",
    "check_projections",
    "encode_artifact",
    "log_file_problem",
    "materialize",
    "repair_projections",
    "resolve_log_path",
    "safe_path",
    "step_stats",
    "sync_projections",
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
