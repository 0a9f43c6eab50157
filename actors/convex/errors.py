"""The error of a failed Convex call, kept apart so that importing it loads no HTTP stack."""

from __future__ import annotations

from typing import Any

from events import AgentlogError

__all__ = ["ConvexCallError"]


class ConvexCallError(AgentlogError):
    """A Convex call failed: unreachable, timed out, an HTTP error or a function error.

    ``code`` is the ``code`` of a ConvexError's data (e.g. ``SeqGap``) when there is one,
    ``data`` that data; ``transport`` is True when no answer came (connection refused,
    timeout), False when Convex answered with an error.
    """

    def __init__(
        self, function: str, message: str, *, transport: bool, code: str = "", data: Any = None
    ) -> None:
        super().__init__(f"Convex {function}: {message}")
        self.function = function
        self.message = message
        self.transport = transport
        self.code = code
        self.data = data
