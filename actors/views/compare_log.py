"""Where two runs' logs part: their lineage, their settings, their first differing event.

Part of ``agentlog diff RUN_A RUN_B`` (:mod:`actors.views.compare`). Three answers, each
exact:

- **lineage**: when one run is a fork or what-if of the other (its ``Forked`` names the
  other's workflow id), how many of the other's events it copied (``at_seq``) and, for a
  what-if, its ``Diverged`` event (its own seq, the step, the source's seq whose request
  differed, and why).
- **settings**: every field of the workflow configuration in force (``WorkflowConfig``,
  after any ``Forked``/``RetryRequested`` change) whose value differs.
- **first difference**: the logs walked side by side, event by event, skipping the
  lineage markers (``Forked``, ``Diverged``), each event compared without the fields
  that differ between any two runs: the envelope's ``seq``, ``id``, ``ts`` and
  ``workflow_id``, and the timings and server ids ``latency_ms``, ``duration_ms`` and
  ``response_id``. The first pair that differs (or the first event one log has and the
  other has not) is the answer, with both seqs and the fields that differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from events import Diverged, Event, Forked, UnknownEvent, WorkflowConfig
from store import WorkflowState

__all__ = [
    "IGNORED_FIELDS",
    "EventDifference",
    "Lineage",
    "SettingChange",
    "first_difference",
    "lineage",
    "setting_changes",
]

#: Fields left out when two events are compared: they differ between any two runs.
IGNORED_FIELDS = frozenset(
    {"seq", "id", "ts", "workflow_id", "latency_ms", "duration_ms", "response_id"}
)
#: Events that record lineage, not work: not compared.
_MARKERS = (Forked, Diverged)

AnyEvent = Event | UnknownEvent


class Divergence(msgspec.Struct, frozen=True, kw_only=True):
    """A what-if's ``Diverged`` event: ``seq`` is the what-if's own."""

    seq: int
    step: str
    source_seq: int | None
    reason: str


class Lineage(msgspec.Struct, frozen=True, kw_only=True):
    """``child`` (``"a"`` or ``"b"``) is a fork or what-if of the other run.

    It copied the other's first ``at_seq`` events; its ``Forked`` marker is at
    ``marker_seq``. ``diverged`` is a what-if's ``Diverged`` (None: it never left the
    recording, or it is a plain fork).
    """

    child: str
    what_if: bool
    at_seq: int
    marker_seq: int
    diverged: Divergence | None = None


class SettingChange(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow setting whose value differs (``prompts.AGENT`` for an agent's prompt;
    None: not set, the built-in)."""

    key: str
    a: Any
    b: Any


class EventDifference(msgspec.Struct, frozen=True, kw_only=True):
    """The first events that differ. A side is None when its log has ended there."""

    a_seq: int | None
    b_seq: int | None
    a_type: str | None
    b_type: str | None
    #: The fields whose values differ (empty when the types differ or a side ended).
    fields: tuple[str, ...] = ()


def lineage(
    a: WorkflowState, b: WorkflowState, a_events: Sequence[AnyEvent], b_events: Sequence[AnyEvent]
) -> Lineage | None:
    """How the runs descend from each other, when one is a fork or what-if of the other."""
    for child, parent, events in (("b", a, b_events), ("a", b, a_events)):
        state = b if child == "b" else a
        origin = state.forked_from
        if origin is None or origin.source_workflow_id != parent.workflow_id:
            continue
        marker = next(ev for ev in reversed(events) if isinstance(ev, Forked))
        diverged = next((ev for ev in events if isinstance(ev, Diverged)), None)
        return Lineage(
            child=child,
            what_if=origin.what_if,
            at_seq=origin.at_seq,
            marker_seq=marker.seq,
            diverged=None
            if diverged is None
            else Divergence(
                seq=diverged.seq,
                step=diverged.step,
                source_seq=diverged.source_seq,
                reason=diverged.reason,
            ),
        )
    return None


def setting_changes(a: WorkflowConfig, b: WorkflowConfig) -> list[SettingChange]:
    """Every setting whose value differs, in the configuration's field order; each
    agent's prompt on its own (``prompts.reviewer``)."""
    da: dict[str, Any] = msgspec.to_builtins(a)
    db: dict[str, Any] = msgspec.to_builtins(b)
    out: list[SettingChange] = []
    for key in WorkflowConfig.__struct_fields__:
        va, vb = da.get(key), db.get(key)
        if key == "prompts":
            pa, pb = va or {}, vb or {}
            for agent in sorted(set(pa) | set(pb)):
                if pa.get(agent) != pb.get(agent):
                    out.append(
                        SettingChange(key=f"prompts.{agent}", a=pa.get(agent), b=pb.get(agent))
                    )
        elif va != vb:
            out.append(SettingChange(key=key, a=va, b=vb))
    return out


def _content(ev: AnyEvent) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(ev)
    return {k: v for k, v in data.items() if k not in IGNORED_FIELDS}


def _type(ev: AnyEvent) -> str:
    return ev.type if isinstance(ev, UnknownEvent) else type(ev).__name__


def first_difference(
    a_events: Sequence[AnyEvent], b_events: Sequence[AnyEvent]
) -> EventDifference | None:
    """The first events (lineage markers skipped) that differ in content; None when the
    two logs hold the same events."""
    ours = [ev for ev in a_events if not isinstance(ev, _MARKERS)]
    theirs = [ev for ev in b_events if not isinstance(ev, _MARKERS)]
    for i in range(max(len(ours), len(theirs))):
        ea = ours[i] if i < len(ours) else None
        eb = theirs[i] if i < len(theirs) else None
        if ea is None or eb is None:
            return EventDifference(
                a_seq=None if ea is None else ea.seq,
                b_seq=None if eb is None else eb.seq,
                a_type=None if ea is None else _type(ea),
                b_type=None if eb is None else _type(eb),
            )
        ca, cb = _content(ea), _content(eb)
        if ca == cb:
            continue
        same_type = _type(ea) == _type(eb)
        fields = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k))
        return EventDifference(
            a_seq=ea.seq,
            b_seq=eb.seq,
            a_type=_type(ea),
            b_type=_type(eb),
            fields=tuple(fields) if same_type else (),
        )
    return None
