"""The sandbox that model-written code runs in: bubblewrap, resource limits, a policy.

``resolve(policy)`` turns ``--sandbox auto|bwrap|none`` into a :class:`Sandbox` (or a
one-line :class:`SandboxUnavailable`); ``run_confined`` runs a command on a scratch copy
of a tree inside it; ``stop_all`` kills whatever is running, for a signal handler.
"""

from actors.sandbox.compare import sandbox_change
from actors.sandbox.limits import CANNOT_RUN, DEFAULT_LIMITS, Limits, limits_hit
from actors.sandbox.policy import (
    Sandbox,
    SandboxUnavailable,
    resolve,
    resolve_trusted,
    unconfined,
)
from actors.sandbox.runner import KEPT_OUTPUT, Completed, run_confined, stop_all

__all__ = [
    "CANNOT_RUN",
    "DEFAULT_LIMITS",
    "KEPT_OUTPUT",
    "Completed",
    "Limits",
    "Sandbox",
    "SandboxUnavailable",
    "limits_hit",
    "resolve",
    "resolve_trusted",
    "run_confined",
    "sandbox_change",
    "stop_all",
    "unconfined",
]
