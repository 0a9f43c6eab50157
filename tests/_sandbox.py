"""Helpers of the sandbox tests: the skip when bubblewrap is missing, processes by marker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors.sandbox import SandboxUnavailable, resolve


def _why_not() -> str | None:
    try:
        resolve("bwrap")
    except SandboxUnavailable as exc:
        return str(exc)
    return None


_MISSING = _why_not()

#: Skips a test that needs a working bubblewrap, saying how to enable it.
needs_bwrap = pytest.mark.skipif(
    _MISSING is not None,
    reason=f"needs bubblewrap (apt-get install bubblewrap; .ci/run installs it): {_MISSING}",
)


def processes_with(marker: str) -> list[int]:
    """Host pids of the live processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def daemon_source(marker: str) -> str:
    """A test helper module: ``leave_a_daemon()`` starts a process in a session of its own
    holding every pipe the test has (the output pipe among them), which says
    ``DAEMON-ALIVE`` into them and sleeps; ``marker`` is in its command line."""
    code = (
        "import os, sys, time\n"
        "for fd in sys.argv[1:-1]:\n"
        "    try:\n"
        "        os.write(int(fd), b'DAEMON-ALIVE\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "time.sleep(300)\n"
    )
    return (
        "import os, subprocess, sys\n\n"
        "def leave_a_daemon():\n"
        "    pipes = []\n"
        "    for fd in os.listdir('/proc/self/fd'):\n"
        "        try:\n"
        "            if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):\n"
        "                pipes.append(int(fd))\n"
        "        except OSError:\n"
        "            pass\n"
        f"    argv = [sys.executable, '-c', {code!r}, *map(str, pipes), {marker!r}]\n"
        "    subprocess.Popen(argv, start_new_session=True, pass_fds=pipes)\n"
    )
