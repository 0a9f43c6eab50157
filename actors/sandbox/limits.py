"""Resource limits of a test run, how they are applied, and how a run that hit one is told.

The limits are ``setrlimit`` values applied by a few lines of Python that run first
inside the sandbox (:data:`INNER`) and then ``exec`` the test command, so they bind the
tests and everything they start but not agentlog. As root, the same lines drop to the
run's own user (:mod:`actors.sandbox.uids`) before the ``exec``: the kernel does not
count root's processes, so the process limit would otherwise not hold, and it counts a
user's processes host-wide, so a user shared between runs would pool their limits.
"""

from __future__ import annotations

import json
import re
import signal

import msgspec

__all__ = ["CANNOT_RUN", "DEFAULT_LIMITS", "INNER", "Limits", "limits_hit"]

#: How :data:`INNER` starts its message when the command cannot be started.
CANNOT_RUN = "agentlog sandbox: cannot run"

#: Runs as ``python -I -S -c INNER LIMITS_JSON USER -- COMMAND...`` inside the sandbox;
#: ``USER`` is the uid to drop to (from root) or ``keep``.
INNER = """\
import json, os, resource, signal, sys
for name, soft, hard in json.loads(sys.argv[1]):
    resource.setrlimit(getattr(resource, name), (soft, hard))
if sys.argv[2] != "keep" and os.getuid() == 0:
    os.setgroups([])
    os.setgid(int(sys.argv[2]))
    os.setuid(int(sys.argv[2]))
for sig in (signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(sig, signal.SIG_DFL)
try:
    os.execvp(sys.argv[4], sys.argv[4:])
except OSError as exc:
    sys.stderr.write(f"CANNOT_RUN {sys.argv[4]}: {exc.strerror}\\n")
    sys.exit(127)
""".replace("CANNOT_RUN", CANNOT_RUN)

_MIB = 1 << 20


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """What one test run may use. ``cpu_seconds`` 0 means "the test timeout"."""

    cpu_seconds: int = 0
    memory_bytes: int = 1024 * _MIB
    processes: int = 64
    file_size_bytes: int = 64 * _MIB
    open_files: int = 256
    #: Output read before the run is stopped (what is kept is capped separately).
    output_bytes: int = 8 * _MIB

    def rlimits(self, timeout: float, *, processes: bool) -> list[tuple[str, int, int]]:
        """``(RLIMIT_*, soft, hard)`` triples; the process limit only when it can hold."""
        cpu = self.cpu_seconds or max(1, int(timeout) + 1)
        triples = [
            ("RLIMIT_CORE", 0, 0),
            ("RLIMIT_CPU", cpu, cpu + 1),
            ("RLIMIT_AS", self.memory_bytes, self.memory_bytes),
            ("RLIMIT_FSIZE", self.file_size_bytes, self.file_size_bytes),
            ("RLIMIT_NOFILE", self.open_files, self.open_files),
        ]
        if processes:
            triples.append(("RLIMIT_NPROC", self.processes, self.processes))
        return triples

    def wrapper(
        self, python: str, timeout: float, *, processes: bool, drop_to: int | None
    ) -> list[str]:
        """The argv prefix that applies these limits, drops to ``drop_to`` (a uid, when
        started as root) and then runs the command after it."""
        encoded = json.dumps(self.rlimits(timeout, processes=processes))
        user = "keep" if drop_to is None else str(drop_to)
        return [python, "-I", "-S", "-c", INNER, encoded, user, "--"]


# What a test process prints when a limit stopped it (Python's own wording, and the C
# library's for other programs). Printed text is only a hint; signals are facts.
_PRINTED = (
    ("memory", re.compile(r"\bMemoryError\b|Cannot allocate memory")),
    ("processes", re.compile(r"Resource temporarily unavailable")),
    ("file_size", re.compile(r"File too large")),
)
_SIGNALS = {signal.SIGXCPU: "cpu", signal.SIGXFSZ: "file_size"}


def limits_hit(exit_code: int | None, output: str, *, output_exceeded: bool) -> tuple[str, ...]:
    """The limits a run ran into, from how it ended and what it printed."""
    hit: list[str] = []
    if exit_code is not None:
        sig = -exit_code if exit_code < 0 else exit_code - 128
        if sig in _SIGNALS:
            hit.append(_SIGNALS[signal.Signals(sig)])
    for name, pattern in _PRINTED:
        if name not in hit and pattern.search(output):
            hit.append(name)
    if output_exceeded:
        hit.append("output")
    return tuple(hit)


#: The limits a test run gets unless told otherwise.
DEFAULT_LIMITS = Limits()
