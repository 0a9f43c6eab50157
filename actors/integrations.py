"""The integrations a workflow ships its events to, chosen from the environment.

A leaf: the entry points (the CLI's commands that run workflows, ``Batch``) call
:func:`integrations_from_env` and hand what it returns to ``Supervisor(listeners=...)``;
the core (supervisor, agents, models, store) never reads these variables nor imports an
integration. ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) turns on live
OTLP export (:class:`~actors.otel.live.LiveExport`), ``CONVEX_URL`` mirroring to Convex
(:class:`~actors.convex.mirror.ConvexMirroring`); each module is imported only when its
variable is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from actors.shipping import Integration

__all__ = ["integrations_from_env"]


def integrations_from_env(env: Mapping[str, str] | None = None) -> tuple[Integration, ...]:
    """The integrations ``env`` (default: the process environment) switches on."""
    env = os.environ if env is None else env
    found: list[Integration] = []
    if any(env.get(name, "").strip() for name in _OTEL_VARS):
        from actors.otel.live import LiveExport, live_endpoint

        if live_endpoint(env) is not None:
            found.append(LiveExport(env))
    if env.get("CONVEX_URL", "").strip():
        from actors.convex.mirror import ConvexMirroring

        found.append(ConvexMirroring(env))
    return tuple(found)


#: The variables that may turn live OTLP export on (``actors.otel.live.ENDPOINT_VARS``,
#: named here so that a process without them never imports the OTel module).
_OTEL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
