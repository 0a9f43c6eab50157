"""Run the ``agentlog`` CLI and SIGKILL it at its Nth log append, mid-write or just after.

Usage: ``python tests/_killer.py N agentlog-args...``: the Nth ``os.write`` of the log
writer writes only the first half of its bytes, then the process kills itself, leaving
the torn tail a power cut or ``kill -9`` during an append leaves. With ``N+`` the Nth
write completes and the process dies before doing anything else (a kill exactly between
one move of the supervisor and the next, e.g. between steps).
"""

from __future__ import annotations

import os
import signal
import sys
from types import SimpleNamespace
from typing import Any


def _install(point: str) -> None:
    import store._writer as writer

    real = writer.os
    nth, after = int(point.rstrip("+")), point.endswith("+")
    count = 0

    def write(fd: int, data: Any) -> int:
        nonlocal count
        count += 1
        if count == nth:
            view = memoryview(data)
            if after:
                while view:
                    view = view[real.write(fd, view) :]
            else:
                real.write(fd, view[: max(1, len(view) // 2)])
            os.kill(os.getpid(), signal.SIGKILL)
        return real.write(fd, data)

    proxy = SimpleNamespace(**{name: getattr(real, name) for name in dir(real)})
    proxy.write = write
    writer.os = proxy  # type: ignore[assignment]


if __name__ == "__main__":
    _install(sys.argv[1])
    from actors.cli import main

    sys.exit(main(sys.argv[2:]))
