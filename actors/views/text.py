"""Small text helpers every view uses."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, noun: str) -> str:
    """``1 comment``, ``2 comments``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
