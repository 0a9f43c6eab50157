"""The request of every model call, kept in the run's object store under its digest.

An agent scrubs a request with the one secret scrubber before it sends it, so what the
model sees, what ``ModelCalled.request_digest`` names and what ``objects/`` keeps are the
same canonical bytes: the object's SHA-256 *is* the digest, and an identical request
costs nothing twice. The object is written and synced before the event naming it is
answered to the supervisor. A log written before requests were recorded says so
(``WorkflowStarted.records_requests`` is false) and has no such objects.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import msgspec

from actors.models.base import ModelRequest, request_bytes
from actors.secrets import redact, redact_event
from store.errors import LogError
from store.objects import ObjectProblem, ObjectStore

__all__ = [
    "MAX_DIFF_LINES",
    "RequestNotKept",
    "load_request",
    "record_request",
    "request_difference",
    "scrubbed",
]

#: How many lines of a request difference a NonDeterminism shows.
MAX_DIFF_LINES = 40


def scrubbed(request: ModelRequest) -> ModelRequest:
    """``request`` with every secret masked (the one scrubber): what an agent sends."""
    return redact_event(request)


class RequestNotKept(LogError):
    """A request could not be written to the run's objects (a full disk): like a log that
    cannot grow, this stops the run resumably instead of failing a step."""


def record_request(run_dir: str | Path, request: ModelRequest) -> str:
    """Keep ``request`` (already scrubbed) in ``run_dir/objects``; its digest.

    While its run goes on in this process, in the run pack, made durable before the event
    naming it is written (:mod:`store.run_pack`); else as a loose object, synced now.

    Raises :class:`RequestNotKept` when the object cannot be written.
    """
    try:
        return ObjectStore(run_dir).put(request_bytes(request))
    except OSError as exc:
        raise RequestNotKept(f"could not keep the model request: {exc.strerror}") from exc
    except ObjectProblem as exc:
        raise RequestNotKept(f"could not keep the model request: {exc}") from exc


def load_request(store: ObjectStore, digest: str) -> dict[str, Any] | None:
    """The recorded request named ``digest`` as plain JSON data, or None when not kept.

    Its fields come in :class:`ModelRequest`'s order (step, model, system, messages, tool,
    parameters), for a person reading it. A request that is there but changed raises
    :class:`~store.ObjectProblem`.
    """
    store.path(digest)  # a name that is no object name is a problem, not "not recorded"
    if digest not in store:
        return None
    raw: dict[str, Any] = msgspec.json.decode(store.get(digest))
    order = ModelRequest.__struct_fields__
    return {**{k: raw[k] for k in order if k in raw}, **raw}


def request_difference(
    recorded: dict[str, Any], new: dict[str, Any], *, limit: int = MAX_DIFF_LINES
) -> str:
    """What differs between two requests: the top-level fields, then a unified diff of
    each differing field (each message on its own), at most ``limit`` lines, with every
    secret masked: a recorded request is someone else's data and may hold a value that is
    a secret here (this machine's key), which must not reach a terminal or a log."""
    absent = object()
    fields = sorted(
        k for k in recorded.keys() | new.keys() if recorded.get(k, absent) != new.get(k, absent)
    )
    if not fields:
        return "the requests are identical"
    lines = [f"fields that differ: {', '.join(map(_name, fields))}"]
    for field in fields:
        old_msgs, new_msgs = recorded.get(field), new.get(field)
        if field == "messages" and isinstance(old_msgs, list) and isinstance(new_msgs, list):
            for i in range(max(len(old_msgs), len(new_msgs))):
                old = old_msgs[i] if i < len(old_msgs) else None
                now = new_msgs[i] if i < len(new_msgs) else None
                if old != now:
                    lines += _unified(f"messages[{i}]", old, now)
        else:
            lines += _unified(_name(field), recorded.get(field), new.get(field))
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return redact("\n".join(lines))


def _unified(name: str, old: Any, new: Any) -> list[str]:
    return list(
        difflib.unified_diff(
            _text_lines(old),
            _text_lines(new),
            f"recorded {name}",
            f"replay {name}",
            n=2,
            lineterm="",
        )
    )


def _name(key: str) -> str:
    """A key as one line: itself when printable, else its JSON string (no line breaks)."""
    return key if key.isprintable() else json.dumps(key)


def _text_lines(value: Any, indent: str = "") -> list[str]:
    """``value`` as lines a person diffs: strings split on their newlines, nesting indented."""
    if value is None:
        return []
    if isinstance(value, str):
        return [indent + line for line in value.splitlines()] or [indent]
    if isinstance(value, dict):
        out: list[str] = []
        for key in sorted(value):
            item = value[key]
            if isinstance(item, str | dict | list) and item:
                out.append(f"{indent}{_name(key)}:")
                out += _text_lines(item, indent + "  ")
            else:
                out.append(f"{indent}{_name(key)}: {json.dumps(item)}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            out.append(f"{indent}-")
            out += _text_lines(item, indent + "  ")
        return out
    return [indent + json.dumps(value)]
