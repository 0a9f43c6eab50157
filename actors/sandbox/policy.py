"""Which sandbox runs the model's code: the ``--sandbox`` policy resolved on this machine.

``auto`` and ``bwrap`` both mean bubblewrap and refuse (one line, exit 2) when it is
missing or cannot create its namespaces: running model-written code unconfined is never a
silent fallback. ``none`` is the user's explicit choice to run it unconfined.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import ClassVar, Literal

import msgspec

from events import AgentlogError, SandboxPolicy

__all__ = ["Sandbox", "SandboxUnavailable", "resolve", "resolve_trusted", "unconfined"]

_INSTALL = (
    "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap) "
    "or accept the risk with --sandbox none"
)


class SandboxUnavailable(AgentlogError):
    """The policy asks for a sandbox this machine cannot provide."""

    exit_code: ClassVar[int] = 2


class Sandbox(msgspec.Struct, frozen=True, kw_only=True):
    """A resolved sandbox: ``bwrap`` (with the binary and its version) or ``none``."""

    kind: Literal["bwrap", "none"]
    version: str = ""
    binary: str = ""

    @property
    def label(self) -> str:
        """``bwrap 0.8.0`` or ``none``, for a terminal."""
        return f"{self.kind} {self.version}".strip()


def unconfined() -> Sandbox:
    """The ``--sandbox none`` choice."""
    return Sandbox(kind="none")


_lock = threading.Lock()
_probed: dict[str, Sandbox | SandboxUnavailable] = {}


def resolve(policy: SandboxPolicy) -> Sandbox:
    """The sandbox ``policy`` means here, or :class:`SandboxUnavailable` saying why not.

    bubblewrap is found on ``PATH`` and tried once per binary per process (a trivial
    sandbox with the namespaces a test run uses), so a kernel that forbids unprivileged user
    namespaces is reported before any test runs.
    """
    if policy == "none":
        return unconfined()
    binary = shutil.which("bwrap")
    if binary is None:
        raise SandboxUnavailable(f"running model-written tests needs a sandbox: {_INSTALL}")
    with _lock:
        found = _probed.get(binary)
        if found is None:
            found = _probed[binary] = _probe(binary)
    if isinstance(found, SandboxUnavailable):
        raise found
    return found


def resolve_trusted(policy: SandboxPolicy) -> tuple[SandboxPolicy, str | None]:
    """The policy for code agentlog ships (the demo), and a note when it runs unconfined.

    Our own code may run without bubblewrap under ``auto``; an explicit ``bwrap`` still
    refuses.
    """
    if policy != "auto":
        return policy, None
    try:
        resolve(policy)
    except SandboxUnavailable:
        return "none", "bubblewrap is not available: the demo's own tests run unconfined"
    return policy, None


def _probe(binary: str) -> Sandbox | SandboxUnavailable:
    try:
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split()
        trial = subprocess.run(
            [binary, *namespace_args(), "--ro-bind", "/", "/", "--", "true"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={"PATH": os.defpath},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxUnavailable(f"cannot run {binary}: {exc}; {_INSTALL}")
    if trial.returncode != 0:
        said = " ".join(trial.stderr.split())[:200] or f"exit code {trial.returncode}"
        return SandboxUnavailable(
            f"bubblewrap cannot create its sandbox here ({said}): unprivileged user "
            "namespaces are probably disabled (enable them: sysctl "
            "kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, or "
            "kernel.apparmor_restrict_unprivileged_userns=0), or accept the risk with "
            "--sandbox none"
        )
    return Sandbox(kind="bwrap", version=version[-1] if version else "", binary=binary)


def namespace_args() -> list[str]:
    """The namespaces of a test run: its own user (when not root), pid, network, IPC, UTS."""
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    return [
        *user,
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
    ]
