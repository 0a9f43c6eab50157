"""The artifacts a log produced: the latest plan, code change and review, by log order."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from events import CodeChange, Event, Plan, Review, UnknownEvent

__all__ = ["Artifacts", "artifacts"]


class Artifacts(msgspec.Struct, frozen=True, kw_only=True):
    """The latest artifact of each kind in a log (None: never produced)."""

    plan: Plan | None = None
    code: CodeChange | None = None
    review: Review | None = None


def artifacts(events: Iterable[Event | UnknownEvent]) -> Artifacts:
    """The latest plan, code change and review, by log order (the state fold's rule)."""
    from store.projections.state import WorkflowFold

    fold = WorkflowFold()
    fold.extend(events)
    return fold.artifacts()
