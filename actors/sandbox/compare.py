"""How the sandbox a run's tests were recorded under differs from this machine's.

A replay serves the recorded test results instead of running the tests again, so a run
recorded under one sandbox replays identically on a machine with another one (or none).
:func:`sandbox_change` names that difference so the replay shows it instead of hiding it.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.sandbox.policy import SandboxUnavailable, resolve
from events import TestsRan

__all__ = ["sandbox_change"]


def sandbox_change(events: Iterable[object]) -> str:
    """One phrase per recorded sandbox that differs from what this machine has, or ``""``."""
    recorded = dict.fromkeys(
        (ev.sandbox, ev.sandbox_version) for ev in events if isinstance(ev, TestsRan)
    )
    notes: list[str] = []
    for kind, version in recorded:
        if kind == "":
            notes.append("the tests were recorded unconfined, before agentlog sandboxed them")
        elif kind == "bwrap":
            try:
                here = resolve("bwrap").label
            except SandboxUnavailable:
                here = "no bubblewrap"
            if here != f"bwrap {version}".strip():
                notes.append(f"the tests were recorded under bwrap {version}, here: {here}")
    return "; ".join(notes)
