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

__all__ = ["MASK", "SECRET_ENV_VARS", "redact", "redact_event"]

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


def redact_event(event: E) -> E:
    """``event`` with secrets masked in every string field (task, messages, responses, files).

    The event's JSON is searched once; only an event that holds a secret is rebuilt, so
    the common case costs one encode.
    """
    data = msgspec.json.encode(event)
    text = data.decode("utf-8")
    clean = redact(text)
    if clean == text:
        return event
    return msgspec.json.decode(clean.encode("utf-8"), type=type(event))
