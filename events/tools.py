"""The agent loop's vocabulary: the tool names of the contract and what a tool call changed.

A tool call is two events (:class:`~events.types.ToolCalled`,
:class:`~events.types.ToolResulted`); a result that changed the working copy lists its
changes as :class:`FileEdit` values, whose bytes are objects in the run's ``objects/``.
The working copy at any event is a projection of these (``store.worktree``). Long tool
output is kept in the log cut to its head and tail (:func:`clip_output`), the whole of it
in ``objects/``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "OUTPUT_HEAD",
    "OUTPUT_TAIL",
    "READ_ONLY_TOOLS",
    "TOOL_NAMES",
    "Budget",
    "EditOp",
    "FileEdit",
    "ToolName",
    "clip_output",
]

#: The tools of the contract (they appear in logs, traces and forks).
ToolName = Literal[
    "read_file", "list_files", "search", "edit_file", "delete_file", "run_command", "submit"
]
TOOL_NAMES: tuple[ToolName, ...] = (
    "read_file",
    "list_files",
    "search",
    "edit_file",
    "delete_file",
    "run_command",
    "submit",
)
#: The tools that never change the working copy (the Planner's and the Reviewer's).
READ_ONLY_TOOLS: tuple[ToolName, ...] = ("read_file", "list_files", "search")
#: A change to one file: its new bytes (``write``) or its removal (``delete``).
EditOp = Literal["write", "delete"]
#: What a :class:`~events.types.BudgetReached` ran out of.
Budget = Literal["turns", "tokens", "usd"]

#: Characters of a long output kept at its start and at its end in the log.
OUTPUT_HEAD = 4_000
OUTPUT_TAIL = 4_000


class FileEdit(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One file a tool call changed: written (bytes are object ``hash``) or deleted.

    ``hash``, ``mode`` and ``size`` describe the new bytes of a ``write``; a ``delete``
    leaves them at their defaults.
    """

    path: str
    op: EditOp = "write"
    hash: str = ""
    mode: int = 0o644
    size: int = 0


def clip_output(text: str, *, head: int = OUTPUT_HEAD, tail: int = OUTPUT_TAIL) -> str | None:
    """``text`` cut to its first ``head`` and last ``tail`` characters with a marker
    saying how much was left out, or None when it is short enough to keep whole."""
    if len(text) <= head + tail:
        return None
    left_out = len(text) - head - tail
    return f"{text[:head]}\n[… {left_out} characters left out …]\n{text[len(text) - tail :]}"
