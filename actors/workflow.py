"""Where ``Supervisor`` used to live; it is now in :mod:`actors.supervisor` (kept for imports)."""

from actors.supervisor import RunHandle, Supervisor, WorkflowResult, result_of

__all__ = ["RunHandle", "Supervisor", "WorkflowResult", "result_of"]
