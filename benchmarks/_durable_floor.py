"""The durable floor of a three-step workflow: agentlog's durable writes in plain Python.

What one agentlog run makes durable, written the plain way (one call after the other, no
library): the run directory and its log (their entries synced), the attempt synced before
each model call, each request appended to one pack file and synced before the event
naming it is written, the events of each step, ``plan.json``/``code.json``/``review.json``
and ``files/cli.py`` replaced atomically (temp file + rename), and at the end each of
them, ``files/`` and the run directory fsynced. No actors, no validation, no secret
scrubbing, no seals: what is left is the file system's own cost of those guarantees.

``together=True`` issues the syncs that need only all be done by one point at once, from
a thread pool, as agentlog does (the new log's two directory entries, the pack's first
sync with its directories, the projections at the end); ``False`` one after the other.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["durable_floor_run"]

_SYNC = getattr(os, "fdatasync", os.fsync)
_STEPS = ("plan", "code", "review")
_POOL = ThreadPoolExecutor(8)


def _all(calls: list[Callable[[], None]], together: bool) -> None:
    if together:
        for future in [_POOL.submit(call) for call in calls]:
            future.result()
    else:
        for call in calls:
            call()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _line(seq: int, kind: str, **fields: Any) -> bytes:
    event = {"seq": seq, "id": f"{seq:032x}", "ts": "2025-01-31T12:00:00.000001Z"}
    return (json.dumps({**event, "type": kind, **fields}) + "\n").encode()


def durable_floor_run(
    run: Path,
    task: str,
    model: Callable[[str, str, dict[str, Any]], dict[str, Any]],
    *,
    together: bool = False,
) -> dict[str, Any]:
    """One workflow into the new directory ``run``; the review."""
    run.mkdir()
    log = os.open(run / "events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pack = -1
    try:
        _all([lambda: _fsync(run.parent), lambda: _fsync(run)], together)
        seq = 1
        os.write(log, _line(seq, "WorkflowStarted", task=task))
        context: dict[str, Any] = {}
        answers: dict[str, dict[str, Any]] = {}
        for step in _STEPS:
            seq += 1
            os.write(log, _line(seq, "StepStarted", step=step))
            _SYNC(log)  # the attempt is on disk before the call
            request = json.dumps({"step": step, "task": task, "context": context}).encode()
            answer = answers[step] = model(step, task, context)
            if pack < 0:
                (run / "objects").mkdir()
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
                pack = os.open(run / "objects" / "run.pack", flags, 0o644)
                os.write(pack, f"{len(request)}\n".encode() + request)
                calls = [functools.partial(_SYNC, pack), lambda: _fsync(run / "objects")]
                _all([*calls, lambda: _fsync(run)], together)
            else:
                os.write(pack, f"{len(request)}\n".encode() + request)
                _SYNC(pack)  # the request is durable before the event naming it
            os.write(log, _line(seq + 1, "ModelCalled", step=step, response=answer))
            os.write(log, _line(seq + 2, f"{step.title()}Produced", artifact=answer))
            seq += 2
            _replace(run / f"{step}.json", json.dumps(answer, indent=2).encode())
            if step == "code":
                (run / "files").mkdir()
                for f in answer["files"]:
                    _replace(run / "files" / f["path"], f["content"].encode())
            context[step] = answer
        os.write(log, _line(seq + 1, "WorkflowCompleted", verdict=answers["review"]["verdict"]))
        _SYNC(log)
    finally:
        os.close(log)
        if pack >= 0:
            os.close(pack)
    ends = [run / f"{step}.json" for step in _STEPS]
    ends += [run / "files" / f["path"] for f in answers["code"]["files"]]
    _all([lambda p=p: _fsync(p) for p in [*ends, run / "files", run]], together)
    return answers["review"]
