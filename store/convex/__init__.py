"""The optional Convex integration: a projection of runs into Convex tables, kept apart.

``ConvexMirror`` follows a running workflow from a daemon thread; ``sync_runs`` catches
up or backfills finished runs; ``convex_rows`` is the pure projection both send. The
core (``store``) never imports this package; the supervisor does only when
``CONVEX_URL`` is set. See docs/tracking.md.
"""

from store.convex.errors import ConvexCallError
from store.convex.mirror import ConvexMirror, MirrorReport
from store.convex.sync import RunSync, SyncProgress, SyncReport, sync_runs

__all__ = [
    "ConvexCallError",
    "ConvexMirror",
    "MirrorReport",
    "RunSync",
    "SyncProgress",
    "SyncReport",
    "sync_runs",
]
