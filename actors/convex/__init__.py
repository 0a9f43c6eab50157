"""The optional Convex integration: a projection of runs into Convex tables, kept apart.

``ConvexMirror`` follows a running workflow from a daemon thread (a
:class:`~actors.shipping.Shipper`; ``ConvexMirroring`` gives each run one when
``CONVEX_URL`` is set); ``sync_runs`` catches up or backfills finished runs;
``convex_rows`` is the pure projection both send. The core (``store``, the supervisor)
never imports this package: the entry points hand ``Supervisor`` a ``ConvexMirroring``
(see :func:`actors.integrations.integrations_from_env` and docs/tracking.md).
"""

from actors.convex.errors import ConvexCallError
from actors.convex.mirror import ConvexMirror, ConvexMirroring, MirrorReport
from actors.convex.sync import RunSync, SyncProgress, SyncReport, sync_runs

__all__ = [
    "ConvexCallError",
    "ConvexMirror",
    "ConvexMirroring",
    "MirrorReport",
    "RunSync",
    "SyncProgress",
    "SyncReport",
    "sync_runs",
]
