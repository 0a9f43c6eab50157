"""The one secret scrubber: masks secret values and key-shaped tokens in text and events.

Everything that may carry a secret towards a log, a request or a terminal passes through
:func:`redact`: log records, events before they are appended, model error messages and the
test output shown to the Reviewer. One definition keeps them in agreement.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TypeVar

import msgspec

__all__ = ["MASK", "SECRET_ENV_VARS", "holds_secret", "redact", "redact_event", "scrub_line"]

E = TypeVar("E", bound=msgspec.Struct)

#: Environment variables whose values are secrets.
SECRET_ENV_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CONVEX_DEPLOY_KEY")
#: What a secret is replaced with.
MASK = "[redacted]"
#: A value shorter than this is not masked on its own (it would mask ordinary words).
_MIN_SECRET = 8
_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{4,}")


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every secret value masked: the secret environment variables' values,
    ``extra`` (e.g. a key passed to a client explicitly) and anything shaped like an
    Anthropic key. Longer secrets are masked first, so one containing another goes whole.
    """
    known = {s for s in (*extra, *(os.environ.get(n, "") for n in SECRET_ENV_VARS))}
    for secret in sorted((s for s in known if len(s) >= _MIN_SECRET), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return _KEY_SHAPE.sub(MASK, text)


def holds_secret(data: bytes) -> bool:
    """Whether encoded text may hold what :func:`redact` masks (a cheap bytes search).

    False means :func:`redact` would change nothing; True may be a false alarm (then the
    slow path finds nothing and changes nothing).
    """
    if b"sk-ant-" in data:
        return True
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name, "")
        if len(value) >= _MIN_SECRET and value.encode("utf-8", "replace") in data:
            return True
    return False


def redact_event(event: E) -> E:
    """``event`` with secrets masked in every string field (task, messages, responses, files).

    The event's JSON is searched once, as bytes; only an event that holds a secret is
    decoded, masked and rebuilt.
    """
    data = msgspec.json.encode(event)
    if not holds_secret(data):
        return event
    text = data.decode("utf-8")
    clean = redact(text)
    if clean == text:
        return event
    return msgspec.json.decode(clean.encode("utf-8"), type=type(event))


def scrub_line(event: E, line: bytes) -> E | None:
    """The log writer's scrub: ``event`` with secrets masked when its encoded ``line`` holds
    one, else None, so a clean event is encoded only once (for the log)."""
    if not holds_secret(line):
        return None
    clean = redact_event(event)
    return None if clean is event else clean
