"""The CLI's own error: the work failed or the log is damaged (exit 1).

Kept apart from :mod:`actors.cli.app` so command modules need not import the app (the
app imports them, by name, when their command runs).
"""

from __future__ import annotations

from events import AgentlogError, UsageError

__all__ = ["AgentlogError", "UsageError", "WorkFailed"]


class WorkFailed(AgentlogError):
    """The work failed or the log is damaged (exit 1)."""
