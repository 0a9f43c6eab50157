"""Run the ``agentlog`` CLI and SIGKILL it in the middle of its Nth log append.

Usage: ``python tests/_killer.py N agentlog-args...``. The Nth ``os.write`` of the log
writer writes only the first half of its bytes, then the process kills itself, leaving
the torn tail a power cut or ``kill -9`` during an append leaves.
"""

from __future__ import annotations

import os
import signal
import sys
from types import SimpleNamespace
from typing import Any


def _install(nth: int) -> None:
    import store._writer as writer

    real = writer.os
    count = 0

    def write(fd: int, data: Any) -> int:
        nonlocal count
        count += 1
        if count == nth:
            view = memoryview(data)
            real.write(fd, view[: max(1, len(view) // 2)])
            os.kill(os.getpid(), signal.SIGKILL)
        return real.write(fd, data)

    proxy = SimpleNamespace(**{name: getattr(real, name) for name in dir(real)})
    proxy.write = write
    writer.os = proxy  # type: ignore[assignment]


if __name__ == "__main__":
    _install(int(sys.argv[1]))
    from actors.cli import main

    sys.exit(main(sys.argv[2:]))
