"""The root of agentlog's exception types, shared by every layer."""

from __future__ import annotations

__all__ = ["AgentlogError", "CorruptLine"]


class AgentlogError(Exception):
    """Base of every error agentlog raises on purpose; its message is meant for a user."""


class CorruptLine(AgentlogError):
    """A line of a log is not a valid agentlog event (bad JSON, bad checksum, bad fields)."""
