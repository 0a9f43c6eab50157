"""Stand-ins for a down or hung service, shared by the benchmarks of integrations that
must never slow a workflow (Convex, the OTLP collector). Loopback only."""

from __future__ import annotations

import socket
import threading

__all__ = ["closed_port", "silent_server"]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a service that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def silent_server() -> tuple[socket.socket, int]:
    """A listening socket whose connections are accepted and then never answered."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return srv, int(srv.getsockname()[1])
