"""What the artifacts of a log are: the latest plan, code change and review.

The rule that picks them (the latest of each kind, by log order) is the state fold's, so
:func:`~store.projections.state.artifacts` lives beside it.
"""

from __future__ import annotations

import msgspec

from events import CodeChange, Plan, Review

__all__ = ["Artifacts"]


class Artifacts(msgspec.Struct, frozen=True, kw_only=True):
    """The latest artifact of each kind in a log (None: never produced)."""

    plan: Plan | None = None
    code: CodeChange | None = None
    review: Review | None = None
