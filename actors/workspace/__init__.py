"""Runs on an existing workspace: what the models see of it, how they change it, and
how the change is handed back (``agentlog diff``, ``agentlog apply``).

``run_change(run)`` gives the base tree, the result tree and the per-file diff;
``apply_run(run)`` applies the change to the workspace (checked against the recorded
base, all or nothing); ``commit_run(run, branch)`` commits it on a new git branch.
"""

from actors.workspace.agent import MAX_READS, perform_in_workspace
from actors.workspace.apply import (
    ApplyRefused,
    ApplyReport,
    NoWorkspace,
    apply_run,
    commit_run,
    run_change,
)

__all__ = [
    "MAX_READS",
    "ApplyRefused",
    "ApplyReport",
    "NoWorkspace",
    "apply_run",
    "commit_run",
    "perform_in_workspace",
    "run_change",
]
