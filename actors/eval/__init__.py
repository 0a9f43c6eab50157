"""Evaluation: task sets with hidden checks, run through the batch engine and checked.

``agentlog eval TASKS --runs-dir DIR`` runs every task (``--samples K`` times) as a batch
run, applies each run's change to a fresh copy of its workspace, runs the task's hidden
check there in the sandbox, and records a :class:`~events.CheckRan` in the run's log.
With ``--as-of OLD`` the runs are what-ifs of an earlier evaluation's (:mod:`actors.eval.asof`).
"""

from actors.eval.asof import AsOf
from actors.eval.check import WorkspaceError, check_run, last_check, prepare_workspace
from actors.eval.evaluate import EvalOutcome, Evaluation
from actors.eval.tasks import EvalTask, load_eval_tasks, parse_eval_tasks, sample_id

__all__ = [
    "AsOf",
    "EvalOutcome",
    "EvalTask",
    "Evaluation",
    "WorkspaceError",
    "check_run",
    "last_check",
    "load_eval_tasks",
    "parse_eval_tasks",
    "prepare_workspace",
    "sample_id",
]
