"""Which objects a log names, and whether each is there with the bytes its name promises.

``agentlog verify`` runs :func:`check_objects` after the log itself checks out, so a
missing or changed object is named (with the event and the path that point at it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from events import Event, Forked, ModelCalled, ToolResulted, UnknownEvent, WorkflowStarted
from store.objects import ObjectProblem, ObjectStore

__all__ = ["ObjectIssue", "ObjectRef", "check_objects", "object_refs"]


class ObjectRef(msgspec.Struct, frozen=True, kw_only=True):
    """An object named by an event: its hash, the event's seq and the path it holds (for a
    model request, ``request of <step> call``)."""

    hash: str
    seq: int
    path: str


class ObjectIssue(msgspec.Struct, frozen=True, kw_only=True):
    """An object that is missing or changed, and who names it."""

    ref: ObjectRef
    file: str
    reason: str

    def __str__(self) -> str:
        if not self.ref.seq:  # in the run pack, named by no event
            return f"{self.file}: {self.reason}"
        return f"{self.file}: {self.reason} (named by seq {self.ref.seq} for {self.ref.path!r})"


def object_refs(events: Iterable[Event | UnknownEvent]) -> Iterator[ObjectRef]:
    """Every object reference of the log, in log order: a workspace's base files, each
    model request where the run (or the fork in force) records requests, and what a tool
    call wrote (its files' bytes; its whole output, when the log keeps it cut)."""
    requests = False
    for ev in events:
        if isinstance(ev, ModelCalled):
            if requests:
                what = f"request of {ev.step} call"
                yield ObjectRef(hash=ev.request_digest, seq=ev.seq, path=what)
        elif isinstance(ev, WorkflowStarted):
            requests = ev.records_requests
            if ev.workspace is not None:
                for f in ev.workspace.files:
                    yield ObjectRef(hash=f.hash, seq=ev.seq, path=f.path)
        elif isinstance(ev, Forked):
            requests = ev.records_requests
        elif isinstance(ev, ToolResulted):
            if ev.output_digest:
                yield ObjectRef(hash=ev.output_digest, seq=ev.seq, path=f"output of {ev.name}")
            for edit in ev.edits:
                if edit.op == "write":
                    yield ObjectRef(hash=edit.hash, seq=ev.seq, path=edit.path)


def check_objects(run_dir: str | Path, events: Iterable[Event | UnknownEvent]) -> list[ObjectIssue]:
    """Every named object that is missing or changed (each hash checked once), then any
    damage in the run pack: a record that no longer matches its name, bytes that are no
    record."""
    store = ObjectStore(run_dir)
    seen: set[str] = set()
    issues: list[ObjectIssue] = []
    for ref in object_refs(events):
        if ref.hash in seen:
            continue
        seen.add(ref.hash)
        try:
            store.get(ref.hash)
        except ObjectProblem as exc:  # named where it is: the object, its pack or directory
            issues.append(ObjectIssue(ref=ref, file=str(exc.path), reason=exc.reason))
    try:  # the run pack's every record, also those no event names
        damage = store.pack_damage()
    except ObjectProblem as exc:
        damage = [("", str(exc.path), exc.reason)]
    for digest, where, why in damage:
        if digest not in seen or not digest:
            unnamed = ObjectRef(hash=digest, seq=0, path="")
            issues.append(ObjectIssue(ref=unnamed, file=where, reason=why))
    return issues
