"""The Reviewer's evidence: run the workspace's tests in ``files/`` and record the outcome.

The tests are model-written code, so they run in a subprocess with a timeout, a scrubbed
environment (no API keys or tokens, only what a Python test run needs) and output capped
in size. The whole process group is killed on timeout.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from events import TestsRan

__all__ = ["OUTPUT_LIMIT", "run_workspace_tests", "tests_command"]

#: Bytes of test output kept (head and tail) in ``TestsRan.output``.
OUTPUT_LIMIT = 16_384
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")


def tests_command() -> tuple[str, ...]:
    """pytest when it is installed, else unittest discovery, on this interpreter."""
    if importlib.util.find_spec("pytest") is not None:
        return (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    return (sys.executable, "-m", "unittest", "discover", "-q")


def _scrubbed_env(workspace: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(
        HOME=str(workspace),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONPATH=str(workspace),
    )
    return env


def _cap(data: bytes) -> tuple[str, bool]:
    if len(data) <= OUTPUT_LIMIT:
        return data.decode("utf-8", "replace"), False
    half = OUTPUT_LIMIT // 2
    cut = len(data) - 2 * half
    text = data[:half] + f"\n… [{cut} bytes cut] …\n".encode() + data[-half:]
    return text.decode("utf-8", "replace"), True


def run_workspace_tests(
    workspace: Path, *, timeout: float, round: int = 0, command: Sequence[str] | None = None
) -> TestsRan:
    """Run the tests of a copy of ``workspace``; describe the run as a ``TestsRan`` event.

    The copy keeps ``files/`` exactly the Coder's files: whatever the tests write (caches,
    outputs, deleted files) is thrown away with the scratch directory.
    """
    with tempfile.TemporaryDirectory(prefix="agentlog-tests-") as scratch:
        copy = Path(scratch) / "workspace"
        shutil.copytree(workspace, copy, symlinks=True)
        return _run(copy, timeout=timeout, round=round, command=command)


def _run(
    workspace: Path, *, timeout: float, round: int, command: Sequence[str] | None = None
) -> TestsRan:
    command = tuple(command) if command else tests_command()
    shown = ("python", *command[1:]) if command[0] == sys.executable else command
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=workspace,
        env=_scrubbed_env(workspace),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    output, truncated = _cap(out)
    return TestsRan(
        actor="reviewer",
        command=shown,
        exit_code=None if timed_out else proc.returncode,
        output=output,
        truncated=truncated,
        timed_out=timed_out,
        duration_ms=_ms(time.monotonic() - start),
        round=round,
    )


def _ms(seconds: float) -> float:
    """Seconds as milliseconds with 0.1 ms resolution (stable, compact JSON)."""
    return float(f"{seconds * 1000:.1f}")
