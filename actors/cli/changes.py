"""The files a run changed, as ``run --json`` reports them.

A plain run's Coder writes whole files (``CodeChange.files``); a workspace run's Coder
writes a change to the recorded tree instead, whose ``CodeChange`` holds no files. Both
answer "which files did the run change" here, so a workspace run does not say ``[]``.
"""

from __future__ import annotations

from actors.supervisor import WorkflowResult

__all__ = ["changed_files"]


def changed_files(result: WorkflowResult) -> list[str]:
    """The paths the run changed: for a workspace run those of its change to the tree
    (a rename by its new path, a deletion too), else the files its Coder wrote."""
    from actors.workspace.apply import NoWorkspace, run_change

    try:
        _, _, diffs = run_change(result.run_dir)
    except NoWorkspace:
        return [f.path for f in result.code.files] if result.code else []
    return [diff.path for diff in diffs]
