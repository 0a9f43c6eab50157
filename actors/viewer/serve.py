"""Serving the viewer with uvicorn: on 127.0.0.1 by default, in the foreground or a thread."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from actors.viewer.app import create_app
from actors.viewer.guards import LOOPBACK_NAMES
from events import AgentlogError

__all__ = [
    "RunningViewer",
    "ViewerError",
    "is_loopback",
    "listen",
    "new_token",
    "serve",
    "start",
]


#: How often a live view looks for appended events (seconds).
_POLL = 0.025


class ViewerError(AgentlogError):
    """The viewer cannot start (its address is taken or invalid)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one), or a ``ViewerError``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ViewerError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ViewerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def new_token() -> str:
    """A fresh secret for one viewer's lifetime: whoever holds it may record decisions."""
    return secrets.token_urlsafe(24)


def _server(root: Path, host: str, poll: float, token: str | None) -> uvicorn.Server:
    # On loopback, the Host check keeps a page of another site (DNS rebinding) out. Bound
    # where other machines reach it, any Host may come, so every request needs the token.
    loopback = is_loopback(host)
    hosts = LOOPBACK_NAMES | {host.strip("[]").lower()} if loopback else None
    app = create_app(root, poll=poll, hosts=hosts, token=token, private=not loopback)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    root: Path,
    host: str = "127.0.0.1",
    port: int = 8321,
    *,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the runs under ``root`` until interrupted (Ctrl-C).

    The URL announced carries a new token: opening it lets that browser approve, reject
    and comment on waiting runs; without it the pages are read-only.
    """
    sock = listen(host, port)
    token = new_token()
    server = _server(root, host, poll=_POLL, token=token)
    scope = (
        f"bound to {host} only: other machines cannot connect"
        if is_loopback(host)
        else f"bound to {host}: other machines CAN connect; every page needs the token URL"
    )
    announce(f"agentlog ui: viewing the runs under {root} at {_url(sock)} ({scope})")
    announce(f"to approve or reject from the browser, open {_url(sock)}?token={token}")
    announce("press Ctrl-C to stop")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class RunningViewer:
    """A viewer serving in a background thread (tests, benchmarks); ``stop()`` ends it."""

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        poll: float = _POLL,
        token: str | None = None,
    ):
        self._sock = listen(host, port)
        self.url = _url(self._sock).rstrip("/")
        self.token = token
        self._server = _server(root, host, poll, token)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:  # pragma: no cover - a broken machine
                raise ViewerError("the viewer did not start within 10 s")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> RunningViewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    root: Path, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None
) -> RunningViewer:
    """Start serving ``root`` in a background thread; the result's ``url`` is its address
    (``token``: decisions allowed to whoever presents it; None: read-only)."""
    return RunningViewer(root, host, port, token=token)
