"""Run the offline demo workflow with Convex tracking, then read back what Convex holds.

    CONVEX_URL=https://<your-deployment>.convex.cloud python examples/convex_tracking.py

Without ``CONVEX_URL`` it starts the local stand-in deployment used by the tests
(``tracking/server/serve.ts``: the repository's Convex functions on convex-test's
in-memory backend; needs ``npm ci --prefix tracking``), so it runs with no network
and no account. ``CONVEX_DEPLOY_KEY`` is honored when set. No Anthropic key is needed:
the demo's model is scripted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convex.http_client import ConvexHttpClient  # noqa: E402

from actors import Supervisor  # noqa: E402
from actors.convex import ConvexMirroring, sync_runs  # noqa: E402
from actors.demo import demo_model, demo_task  # noqa: E402


@contextmanager
def local_deployment() -> Iterator[str]:
    """Start ``tracking/server/serve.ts`` on a free port; yield its URL."""
    tsx = ROOT / "tracking" / "node_modules" / ".bin" / "tsx"
    if not tsx.exists():
        sys.exit(
            "CONVEX_URL is unset and tracking/node_modules is missing: "
            "run `npm ci --prefix tracking`, or set CONVEX_URL to your deployment."
        )
    proc = subprocess.Popen(
        [str(tsx), "server/serve.ts", "--port", "0"],
        cwd=ROOT / "tracking",
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["listening"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def main(url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        # The supervisor reads no environment: it is handed the integration (the CLI
        # hands it ``integrations_from_env()``, which mirrors when CONVEX_URL is set).
        mirroring = ConvexMirroring({**os.environ, "CONVEX_URL": url})
        result = Supervisor(model=demo_model(), listeners=[mirroring]).run(demo_task(), run)
        print(f"workflow {result.workflow_id}: {result.status}, verdict {result.verdict}")
        # Whatever the live mirror could not send in time (none, normally) goes now.
        report = sync_runs([run], url=url, deploy_key=os.environ.get("CONVEX_DEPLOY_KEY"))
        print(f"sync: {report.runs[0].sent} events still had to be sent")

    client = ConvexHttpClient(url)
    if key := os.environ.get("CONVEX_DEPLOY_KEY"):
        client.set_admin_auth(key)
    wf = client.query("workflows:get", {"workflowId": result.workflow_id})
    print(
        f"Convex: {wf['status']}, {wf['totalTokens']:.0f} tokens in "
        f"{wf['modelCalls']:.0f} model calls, last seq {wf['lastSeq']:.0f}"
    )
    for s in wf["sessions"]:
        print(
            f"  {s['step']:6} round {s['round']:.0f} attempt {s['attempt']:.0f}: "
            f"{s['status']:9} {s['totalTokens']:6.0f} tokens {s['latencyMs']:7.0f} ms"
            + (f"  ({s['errorKind']}: {s['error']})" if s["error"] else "")
        )
    recent = client.query("workflows:list", {"limit": 5})
    print(f"recent workflows: {[w['workflowId'] for w in recent]}")


if __name__ == "__main__":
    if url := os.environ.get("CONVEX_URL", "").strip():
        main(url)
    else:
        with local_deployment() as local:
            main(local)
