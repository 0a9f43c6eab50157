"""Continuing a run from the viewer after a person decided, as LangGraph Studio does.

The viewer records a decision itself, but never runs a workflow in its own process: it
starts ``agentlog resume RUN`` as a child in a session of its own (so stopping the viewer
does not stop the run), with the viewer's environment (its model key) and no consent
beyond a confined sandbox: a run whose log asks for more (``sandbox: none``, a command
of its own) is refused by ``resume`` with one line, which the run page then shows. The
child's diagnostics go to an anonymous temporary file, so nothing is left behind.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

__all__ = ["Continuations"]

_MAIN = "import sys; from actors.cli import main; sys.exit(main())"


class _Child:
    def __init__(self, proc: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self.proc = proc
        self.stderr = stderr

    def status(self) -> dict[str, Any]:
        code = self.proc.poll()
        message = ""
        if code is not None:
            self.stderr.seek(0)
            lines = self.stderr.read()[-4096:].decode("utf-8", "replace").strip().splitlines()
            message = lines[-1] if lines else ""
        return {
            "pid": self.proc.pid,
            "running": code is None,
            "exit_code": code,
            "message": message,
        }


class Continuations:
    """The ``agentlog resume`` children this viewer started, one per run at most."""

    def __init__(self) -> None:
        self._children: dict[Path, _Child] = {}
        self._lock = threading.Lock()

    def start(self, run_dir: Path) -> dict[str, Any]:
        """Continue ``run_dir`` in a new ``agentlog resume`` (or report the one running)."""
        with self._lock:
            child = self._children.get(run_dir)
            if child is not None and child.proc.poll() is None:
                return child.status()
            if child is not None:
                child.stderr.close()
            # Kept open while the child may write to it; closed when replaced.
            stderr = tempfile.TemporaryFile(prefix="agentlog-ui-")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-c", _MAIN, "resume", str(run_dir)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
            self._children[run_dir] = _Child(proc, stderr)
            return self._children[run_dir].status()

    def status(self, run_dir: Path) -> dict[str, Any] | None:
        """The last continuation of ``run_dir`` this viewer started (None: none)."""
        with self._lock:
            child = self._children.get(run_dir)
            return child.status() if child is not None else None
