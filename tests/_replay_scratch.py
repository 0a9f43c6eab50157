"""A replay's scratch run, driven by hand: what ``replay`` does between reading the
recording and checking it, so a test can look at the scratch log it writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.models import NonDeterminism, ReplayModel
from actors.replaying import _run_scratch, copy_lines, read_recording
from store import LOG_NAME, EventLog, ObjectStore
from store.cursor import EventCursor


def replay_into(
    run: Path,
    scratch: Path,
    *,
    stamped: bool = True,
    serve: Callable[[ReplayModel], Any] = lambda model: model,
) -> tuple[NonDeterminism | None, int]:
    """Replay ``run`` into the new directory ``scratch``: the divergence found (or None)
    and the seq through which the scratch log is the recorded one. ``stamped=False``
    makes fresh ids and times; ``serve`` wraps the model the scratch run asks."""
    log = EventLog(run)
    scratch.mkdir()
    with EventCursor(log) as cursor:
        model = ReplayModel(objects=ObjectStore(run), cursor=cursor)
        recorded = read_recording(log, cursor, model)
        recording = recorded.recording
        if not stamped:
            recording = dataclasses.replace(recording, stamps_from=None)
        copy_lines(log.path, scratch / LOG_NAME, max(1, recorded.state.own_from_seq - 1))
        return _run_scratch(scratch, serve(model), recording)
