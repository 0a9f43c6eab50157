"""agentlog's store: the append-only JSONL event log and the projections built from it."""

from store.base import DEFAULT_MAX_FILE_BYTES, WorkspaceError, detect_tests, record_base
from store.convex_errors import ConvexCallError
from store.convex_mirror import ConvexMirror, MirrorReport
from store.convex_sync import RunSync, SyncProgress, SyncReport, sync_runs
from store.diff import FileDiff, diff_stat, render_diff, tree_diff
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
from store.object_refs import ObjectIssue, ObjectRef, check_objects, object_refs
from store.objects import OBJECTS_DIR, ObjectProblem, ObjectStore, object_hash
from store.paths import UnsafePath, safe_path
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
from store.tree import ChangeRejected, Entry, Tree, base_tree, change_sets, tree_at, workspace_base

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "LOG_NAME",
    "OBJECTS_DIR",
    "AppendListener",
    "Artifacts",
    "ChangeRejected",
    "ConvexCallError",
    "ConvexMirror",
    "Entry",
    "ErrorInfo",
    "EventLog",
    "FileDiff",
    "ForkOrigin",
    "LogCorrupt",
    "LogError",
    "LogLocked",
    "LogWriter",
    "MaterializeReport",
    "MirrorReport",
    "NotALog",
    "ObjectIssue",
    "ObjectProblem",
    "ObjectRef",
    "ObjectStore",
    "RepairReport",
    "RunSync",
    "StepState",
    "StepStats",
    "SyncProgress",
    "SyncReport",
    "TornTail",
    "Tree",
    "UnsafePath",
    "VerifyReport",
    "WorkflowState",
    "WorkspaceError",
    "artifacts",
    "base_tree",
    "change_sets",
    "check_objects",
    "detect_tests",
    "diff_stat",
    "encode_artifact",
    "materialize",
    "object_hash",
    "object_refs",
    "record_base",
    "render_diff",
    "resolve_log_path",
    "safe_path",
    "step_stats",
    "sync_runs",
    "total_stats",
    "tree_at",
    "tree_diff",
    "workflow_state",
    "workspace_base",
]
