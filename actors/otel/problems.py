"""A failed export in one line of our own, instead of the SDK's and urllib3's text.

The OpenTelemetry exporter reports a failure only as a log record, whose text holds the
repr of a urllib3 exception (``HTTPConnectionPool(host=..., port=...): Max retries
exceeded ... NewConnectionError(...)``). :func:`collector_problem` reads the cause out of
that text and says it plainly, naming the collector as the user gave it:
``cannot reach the collector at http://localhost:4318: connection refused``.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

__all__ = ["collector_problem"]

#: What a connection failure's text says -> the reason we give; first match wins.
_UNREACHABLE = (
    ("connection refused", "connection refused"),
    ("name or service not known", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("nameresolutionerror", "unknown host"),
    ("getaddrinfo failed", "unknown host"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("connection reset", "connection reset"),
    ("certificate", "TLS certificate not accepted"),
    ("sslerror", "TLS handshake failed"),
    ("[ssl", "TLS handshake failed"),
    ("timed out", "no answer in time"),
    ("timeout", "no answer in time"),
)
_CODE = re.compile(r"batch code: (\d{3}), reason: (.*)")
_TRANSIENT = re.compile(r"Transient error (.*) encountered while exporting")
_PRINTABLE = re.compile(r"[^ -~]")


def _reason(text: str) -> str:
    """A collector's own reason phrase, kept short and printable (it comes from afar)."""
    return _PRINTABLE.sub("?", text.strip())[:80]


def collector_problem(url: str, sdk_message: str | None) -> str:
    """One line saying why the collector at ``url`` did not take the spans.

    ``sdk_message`` is the first problem the SDK logged for the send (None when it logged
    none); text it holds that is none of the known causes is left out, not shown raw.
    """
    where = f"the collector at {url}"
    text = sdk_message or ""
    lowered = text.lower()
    code = _CODE.search(text)
    if code is not None:
        return f"{where} refused the spans: HTTP {code.group(1)} {_reason(code.group(2))}".rstrip()
    for needle, reason in _UNREACHABLE:
        if needle in lowered and "due to timeout, max retries" not in lowered:
            return f"cannot reach {where}: {reason}"
    transient = _TRANSIENT.search(text)
    if transient is not None and "(" not in transient.group(1):  # a reason phrase, not a repr
        return f"{where} refused the spans: {_reason(transient.group(1))}"
    unreachable = _probe(url)  # the SDK gave up without saying why (or said it unreadably)
    if unreachable is not None:
        return f"cannot reach {where}: {unreachable}"
    return f"{where} did not accept the spans in time"


def _probe(url: str, timeout: float = 1.0) -> str | None:
    """Why a TCP connection to ``url``'s host and port fails, or None when it opens."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is no number: the SDK could not have connected
        return "bad port"
    if not parts.hostname:
        return None
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return "unknown host"
    except TimeoutError:
        return "no answer in time"
    except OSError as exc:
        return (exc.strerror or "cannot connect").lower()
