"""Runs on an existing workspace: what the models see of it, how they change it, and
how the change is handed back (``agentlog diff``, ``agentlog apply``)."""

from actors.workspace.agent import MAX_READS, perform_in_workspace, run_has_workspace

__all__ = ["MAX_READS", "perform_in_workspace", "run_has_workspace"]
