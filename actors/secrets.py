"""The one secret scrubber: masks secret values and known token formats in text and events.

Everything that may carry a secret out of agentlog passes through :func:`redact`: log
records, events before they are appended (so the log, ``files/`` and the projections),
model requests before they are sent and kept in ``objects/``, model error messages, the
test output shown to the Reviewer, the viewer's responses and the OpenTelemetry export
(and, in the store, the Convex mirror's rows). One definition keeps them in agreement.

What is masked (the definitions and the text masking live in :mod:`store.credentials`,
which the workspace recording and the Convex mirror share): the environment's secrets in
each of their :func:`~store.credentials.secret_forms`
(plain, JSON-escaped, base64/base64url at every alignment, hex, URL-encoded) and every
known token format. The environment is read on each call, cheaply: the forms are worked
out again only when a secret variable changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from store.credentials import MASK, SECRET_ENV_VARS, mask_secrets, may_hold_secret

__all__ = [
    "MASK",
    "SECRET_ENV_VARS",
    "holds_env_secret",
    "holds_secret",
    "redact",
    "redact_event",
    "redact_json",
    "scrub_line",
]

E = TypeVar("E", bound=msgspec.Struct)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every secret masked: the environment's secrets and ``extra`` (e.g. a
    key passed to a client explicitly) in each of their forms, and every known token
    format. Longer forms are masked first, so one containing another goes whole.
    """
    return mask_secrets(text, extra)


def holds_secret(data: bytes) -> bool:
    """Whether encoded text may hold what :func:`redact` masks (cheap searches: seven
    pivot passes find where a token may start, each secret's forms are searched whole).

    False means :func:`redact` would change nothing; True may be a false alarm (then the
    slow path finds nothing and changes nothing).
    """
    return may_hold_secret(data)


def holds_env_secret(data: bytes) -> bool:
    """Whether encoded text holds one of this environment's secrets (in any form): the
    part of :func:`holds_secret` that can differ between two machines running the same
    code (the token formats are the code's)."""
    return may_hold_secret(data, tokens=False)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_redact_value(k): _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value


def redact_json(data: bytes) -> bytes:
    """JSON ``data`` with every secret in it masked (the same bytes when it holds none).

    The text is masked as a whole; should that break the JSON (a secret spanning a quote),
    each decoded string is masked on its own instead.
    """
    if not holds_secret(data):
        return data
    text = data.decode("utf-8", "surrogateescape")
    clean = redact(text)
    if clean == text:
        return data
    encoded = clean.encode("utf-8", "surrogateescape")
    try:
        msgspec.json.decode(encoded)
    except msgspec.DecodeError:
        return msgspec.json.encode(_redact_value(msgspec.json.decode(data)))
    return encoded


def redact_event(event: E) -> E:
    """``event`` with secrets masked in every string field (task, messages, responses, files).

    The event's JSON is searched once, as bytes; only an event that holds a secret is
    decoded, masked and rebuilt.
    """
    data = msgspec.json.encode(event)
    clean = redact_json(data)
    if clean is data:
        return event
    return msgspec.json.decode(clean, type=type(event))


def scrub_line(event: E, line: bytes) -> E | None:
    """The log writer's scrub: ``event`` with secrets masked when its encoded ``line`` holds
    one, else None, so a clean event is encoded only once (for the log)."""
    if not holds_secret(line):
        return None
    clean = redact_event(event)
    return None if clean is event else clean
