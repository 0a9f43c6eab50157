"""The entry points' integrations come from the environment, and only when asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from actors.convex import ConvexMirror, ConvexMirroring
from actors.integrations import integrations_from_env
from actors.otel import LiveExport


def test_without_their_variables_no_integration_is_built() -> None:
    assert integrations_from_env({}) == ()
    assert integrations_from_env({"CONVEX_URL": "  ", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}) == ()


def test_an_otlp_endpoint_turns_live_export_on_unless_the_sdk_is_disabled() -> None:
    on = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert [type(i) for i in integrations_from_env(on)] == [LiveExport]
    traces = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    assert [type(i) for i in integrations_from_env(traces)] == [LiveExport]
    assert integrations_from_env({**on, "OTEL_SDK_DISABLED": "true"}) == ()
    assert integrations_from_env({**on, "OTEL_TRACES_EXPORTER": "none"}) == ()


def test_convex_url_turns_the_mirror_on_for_each_run(tmp_path: Path) -> None:
    env = {"CONVEX_URL": "http://127.0.0.1:9", "CONVEX_DEPLOY_KEY": "k"}
    (mirroring,) = integrations_from_env(env)
    assert isinstance(mirroring, ConvexMirroring)
    mirror = mirroring.for_run(tmp_path, "wf-1")
    assert isinstance(mirror, ConvexMirror) and mirror.url == "http://127.0.0.1:9"
    assert mirror.close().caught_up  # never started, nothing heard: nothing left behind


def test_a_process_without_the_variables_never_imports_an_integration() -> None:
    code = (
        "import sys; from actors.integrations import integrations_from_env as f; "
        "import actors.supervisor; f({}); "
        "print(sorted(m for m in sys.modules if m.startswith(('actors.otel', 'actors.convex'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
