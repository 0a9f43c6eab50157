"""agentlog's store: the append-only JSONL event log and the projections built from it."""

from store.convex_errors import ConvexCallError
from store.convex_mirror import ConvexMirror, MirrorReport
from store.convex_sync import RunSync, SyncProgress, SyncReport, sync_runs
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
    "ConvexCallError",
    "ConvexMirror",
    "ErrorInfo",
    "EventLog",
    "ForkOrigin",
    "LogCorrupt",
    "LogError",
    "LogLocked",
    "LogWriter",
    "MaterializeReport",
    "MirrorReport",
    "NotALog",
    "ProjectionError",
    "RepairReport",
    "RunSync",
    "StepState",
    "StepStats",
    "SyncProgress",
    "SyncReport",
    "TornTail",
    "UnsafePath",
    "VerifyReport",
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
    "sync_runs",
    "total_stats",
    "workflow_state",
]
