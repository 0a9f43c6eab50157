"""The ``Host`` check of a viewer bound to loopback (a defence against DNS rebinding).

Starlette's ``TrustedHostMiddleware`` cuts the ``Host`` header at its first colon, so it
cannot tell ``[::1]:8321`` from anything else; this guard parses the header as a URL
authority (a bracketed IPv6 address, then an optional port) and compares the host part.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LOOPBACK_NAMES", "HostGuard", "host_of"]

#: The ``Host`` names by which a browser on this machine reaches a loopback viewer.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def host_of(header: str) -> str:
    """The host of a ``Host`` header value: ``[::1]:80`` -> ``::1``, ``a:80`` -> ``a``."""
    if header.startswith("["):
        end = header.find("]")
        return header[1:end].lower() if end != -1 else ""
    return header.rsplit(":", 1)[0].lower() if header.count(":") == 1 else header.lower()


class HostGuard:
    """Answers 400 to an HTTP request whose ``Host`` is not one of ``allowed``."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope["headers"])
            if host_of(headers.get(b"host", b"").decode("latin-1")) not in self.allowed:
                await PlainTextResponse("Invalid host header", status_code=400)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)
