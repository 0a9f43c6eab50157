"""agentlog's store: the append-only JSONL event log and the projections built from it.

Projection, workspace, object and diff names are imported on first use, so reading a log
pays only for the log. The Convex integration lives apart, in :mod:`actors.convex` (import it from
there).
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

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
from store.marks import LogMark, StaleMark

if TYPE_CHECKING:
    from store.materialize import MaterializeReport, ProjectionError, encode_artifact, materialize
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
if TYPE_CHECKING:
    from store.base import DEFAULT_MAX_FILE_BYTES, WorkspaceError, detect_tests, record_base
    from store.diff import FileDiff, diff_stat, quote_path, render_diff, tree_diff
    from store.objects import OBJECTS_DIR, ObjectProblem, ObjectStore, object_hash
    from store.projection_sync import check_projections, repair_projections, sync_projections
    from store.refs import ObjectIssue, ObjectRef, check_objects, object_refs
    from store.tree import (
        ChangeRejected,
        Entry,
        Tree,
        base_tree,
        change_sets,
        tree_at,
        workspace_base,
    )
    from store.worktree import (
        WorkingCopy,
        apply_edits,
        record_edit,
        record_output,
        working_copy_at,
    )

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "LOG_NAME",
    "OBJECTS_DIR",
    "AppendListener",
    "Artifacts",
    "ChangeRejected",
    "Entry",
    "ErrorInfo",
    "EventLog",
    "FileDiff",
    "ForkOrigin",
    "GateState",
    "LogCorrupt",
    "LogError",
    "LogLocked",
    "LogMark",
    "LogWriter",
    "MaterializeReport",
    "NotALog",
    "ObjectIssue",
    "ObjectProblem",
    "ObjectRef",
    "ObjectStore",
    "ProjectionError",
    "RepairReport",
    "StaleMark",
    "StepState",
    "StepStats",
    "TornTail",
    "Tree",
    "UnsafePath",
    "VerifyReport",
    "WorkflowFold",
    "WorkflowState",
    "WorkingCopy",
    "WorkspaceError",
    "apply_edits",
    "artifacts",
    "base_tree",
    "change_sets",
    "check_objects",
    "check_projections",
    "detect_tests",
    "diff_stat",
    "encode_artifact",
    "log_file_problem",
    "materialize",
    "object_hash",
    "object_refs",
    "quote_path",
    "record_base",
    "record_edit",
    "record_output",
    "render_diff",
    "repair_projections",
    "resolve_log_path",
    "safe_path",
    "step_stats",
    "sync_projections",
    "total_stats",
    "tree_at",
    "tree_diff",
    "workflow_state",
    "working_copy_at",
    "workspace_base",
]

#: Names whose modules are imported on first use (projections, workspaces, diffs,
#: objects): ``agentlog log`` never pays for them, nor the supervisor for a workspace.
_LAZY = {
    **dict.fromkeys(
        ("MaterializeReport", "ProjectionError", "encode_artifact", "materialize"),
        "store.materialize",
    ),
    **dict.fromkeys(("UnsafePath", "safe_path"), "store.paths"),
    **dict.fromkeys(
        (
            *("Artifacts", "ErrorInfo", "ForkOrigin", "GateState", "StepState", "StepStats"),
            *("WorkflowFold", "WorkflowState", "artifacts", "step_stats", "total_stats"),
            "workflow_state",
        ),
        "store.projections",
    ),
    "ChangeRejected": "store.tree",
    "DEFAULT_MAX_FILE_BYTES": "store.base",
    "Entry": "store.tree",
    "FileDiff": "store.diff",
    "OBJECTS_DIR": "store.objects",
    "ObjectIssue": "store.refs",
    "ObjectProblem": "store.objects",
    "ObjectRef": "store.refs",
    "ObjectStore": "store.objects",
    "Tree": "store.tree",
    "WorkspaceError": "store.base",
    "base_tree": "store.tree",
    "change_sets": "store.tree",
    "check_objects": "store.refs",
    "check_projections": "store.projection_sync",
    "detect_tests": "store.base",
    "diff_stat": "store.diff",
    "object_hash": "store.objects",
    "object_refs": "store.refs",
    "quote_path": "store.diff",
    "record_base": "store.base",
    "render_diff": "store.diff",
    "repair_projections": "store.projection_sync",
    "sync_projections": "store.projection_sync",
    "tree_at": "store.tree",
    "tree_diff": "store.diff",
    "workspace_base": "store.tree",
    "apply_edits": "store.worktree",
    "WorkingCopy": "store.worktree",
    "record_edit": "store.worktree",
    "record_output": "store.worktree",
    "working_copy_at": "store.worktree",
}


def __getattr__(name: str) -> Any:
    """Lazily imported names (see ``_LAZY``)."""
    home = _LAZY.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'store' has no attribute {name!r}")


class _Store(types.ModuleType):
    """The package, whose ``materialize`` stays the function: importing the submodule
    :mod:`store.materialize` would otherwise bind the package's name to the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return  # a submodule of the same name as a lazy name: the name wins
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Store
