"""The one definition of "tokens" the CLI shows: every token a model call read or wrote.

Input, cache writes, cache reads and output, summed: the run summary, the progress line
and ``stats`` all use :func:`tokens`, and Convex's ``totalTokens``
(``tracking/convex/mirror.ts``) holds the same sum.
"""

from __future__ import annotations

from events import Usage

__all__ = ["tokens"]


def tokens(usage: Usage) -> int:
    """All tokens of ``usage``: input + cache creation + cache read + output."""
    return (
        usage.input_tokens
        + usage.cache_creation_input_tokens
        + usage.cache_read_input_tokens
        + usage.output_tokens
    )
