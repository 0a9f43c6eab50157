"""The root of agentlog's exception types, shared by every layer.

Each class carries the process exit code the command line reports for it (as click's
exceptions do), so the CLI only translates: 1 the work failed or a log is damaged, 2 bad
usage or input the user can fix in the call.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "AgentlogError", "CorruptLine", "UsageError"]

#: The work failed, or a log is damaged.
EXIT_FAILED = 1
#: Bad usage or input: the call itself has to change.
EXIT_USAGE = 2


class AgentlogError(Exception):
    """Base of every error agentlog raises on purpose; its message is meant for a user.

    ``exit_code`` is what ``agentlog`` exits with when this error ends a command.
    """

    exit_code: ClassVar[int] = EXIT_FAILED


class UsageError(AgentlogError):
    """Bad usage or input: an option, a path or a file the user gave cannot be used."""

    exit_code: ClassVar[int] = EXIT_USAGE


class CorruptLine(AgentlogError):
    """A line of a log is not a valid agentlog event (bad JSON, bad checksum, bad fields)."""
