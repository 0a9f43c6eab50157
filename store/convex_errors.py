"""The error of a failed Convex call, kept apart so that importing it loads no HTTP stack."""

from __future__ import annotations

from typing import Any

from events import AgentlogError

__all__ = ["ConvexCallError", "answered_seq"]


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


def answered_seq(function: str, answer: Any, key: str | None = None) -> int:
    """A seq Convex answered (``answer[key]`` when ``key`` is given), as an int.

    Anything else (a string, a float with a fraction, a missing key) is a
    :class:`ConvexCallError`, so a broken deployment is retried and logged like any
    failed call instead of killing the mirror thread.
    """
    value = answer.get(key) if key is not None and isinstance(answer, dict) else answer
    if key is not None and not isinstance(answer, dict):
        value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        where = f"{key} " if key else ""
        raise ConvexCallError(
            function, f"answered a non-numeric {where}{str(value)[:40]!r}", transport=False
        )
    return int(value)
