"""The one secret scrubber: masks secret values and known token formats in text and events.

Everything that may carry a secret out of agentlog passes through :func:`redact`: log
records, events before they are appended (so the log, ``files/`` and the projections),
model requests before they are sent and kept in ``objects/``, model error messages, the
test output shown to the Reviewer, the viewer's responses and the OpenTelemetry export.
One definition keeps them in agreement.

What is masked (the definitions live in :mod:`store.credentials`, which the workspace
recording shares): the environment's secrets in each of their :func:`secret_forms`
(plain, JSON-escaped, base64/base64url at every alignment, hex, URL-encoded) and every
known token format. The environment is read on each call, cheaply: the forms are worked
out again only when a secret variable changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from store.credentials import (
    MIN_SECRET,
    SECRET_ENV_VARS,
    environment_secrets,
    mask_tokens,
    may_hold_token,
    secret_forms,
    secret_names,
)

__all__ = [
    "MASK",
    "SECRET_ENV_VARS",
    "holds_secret",
    "redact",
    "redact_event",
    "redact_json",
    "scrub_line",
]

E = TypeVar("E", bound=msgspec.Struct)

#: What a secret is replaced with.
MASK = "[redacted]"


class _EnvForms:
    """The environment's secrets in all their forms, worked out again only on a change.

    The key is the environment's size and the values of the variables found last time:
    adding or removing a variable changes the size, changing a secret changes a value.
    ``probes`` are the distinct first :data:`MIN_SECRET` bytes of the forms: fewer
    searches for the fast path, since forms of one value often begin alike.
    """

    def __init__(self) -> None:
        self.names: tuple[str, ...] = SECRET_ENV_VARS
        self.key: tuple[object, ...] | None = None
        self.text: tuple[str, ...] = ()
        self.probes: tuple[bytes, ...] = ()

    def current(self) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
        env = os.environ
        key = (len(env), *(env.get(n) for n in self.names))
        if key != self.key:
            found = environment_secrets(env)
            self.names = secret_names(env)  # a short value may grow: every such name
            texts = {form.text for _, value in found for form in secret_forms(value)}
            self.text = tuple(sorted(texts, key=len, reverse=True))
            raw = (t.encode("utf-8", "surrogateescape") for t in self.text)
            self.probes = tuple(dict.fromkeys(r[:MIN_SECRET] for r in raw))
            self.key = (len(env), *(env.get(n) for n in self.names))
        return self.text, self.probes


_ENV = _EnvForms()


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every secret masked: the environment's secrets and ``extra`` (e.g. a
    key passed to a client explicitly) in each of their forms, and every known token
    format. Longer forms are masked first, so one containing another goes whole.
    """
    forms, _ = _ENV.current()
    more = [f.text for s in extra if len(s) >= MIN_SECRET for f in secret_forms(s)]
    if more:
        forms = tuple(sorted({*forms, *more}, key=len, reverse=True))
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return mask_tokens(text, MASK)


def holds_secret(data: bytes) -> bool:
    """Whether encoded text may hold what :func:`redact` masks (cheap searches: each
    token format's expression starts with a literal, each secret is probed by the first
    bytes of its forms).

    False means :func:`redact` would change nothing; True may be a false alarm (then the
    slow path finds nothing and changes nothing).
    """
    _, probes = _ENV.current()
    return any(probe in data for probe in probes) or may_hold_token(data)


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
