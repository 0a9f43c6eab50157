"""Run the ``agentlog`` CLI, pausing it just before it continues a run.

Usage: ``python tests/_paused.py DIR agentlog-args...``. When the command is about to
continue a run (``Supervisor.resume``), it creates ``DIR/paused`` and waits until
``DIR/go`` exists, so a test can let another process act at exactly that moment.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def _install(barrier: Path) -> None:
    from actors.supervisor import Supervisor

    real = Supervisor.resume.__func__  # type: ignore[attr-defined]

    def resume(cls: type[Supervisor], *args: Any, **kwargs: Any) -> Any:
        (barrier / "paused").touch()
        deadline = time.monotonic() + 60
        while not (barrier / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return real(cls, *args, **kwargs)

    Supervisor.resume = classmethod(resume)  # type: ignore[method-assign, assignment]


if __name__ == "__main__":
    _install(Path(sys.argv[1]))
    from actors.cli import main

    sys.exit(main(sys.argv[2:]))
