"""Shared fixtures: a fresh run directory, the offline fake Anthropic API, clean logging,
and one ``agentlog demo`` run shared (read only) by the tests that only read it.

In CI (``CI`` set, as ``.ci/run`` runs) nothing may skip: ``.ci/run`` installs bubblewrap,
Chromium and every extra, so a skip there means something it installed does not work,
and it fails the test (or module) with the skip's reason instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fake_anthropic import FakeAnthropic

#: Real projects vendored as test data (tests/repos/README); their own tests are run
#: by the tests that copy them, never collected as ours.
collect_ignore = ["repos", "fixtures"]  # test data: fixture runs hold test files of their own


#: The suite starts hundreds of agentlog child processes (the CLI, killed runs, sandboxed
#: tests). With ``PYTHONDONTWRITEBYTECODE`` set (some sandboxes and CI images set it) each
#: of them compiles every module it imports anew: ~35 s of CPU over the suite on a 2-core
#: machine. The suite's processes cache bytecode as Python does by default (in
#: ``__pycache__``, git-ignored); nothing else about the environment changes.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _no_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where everything it needs is installed: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _no_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _no_skip_in_ci(report)
    return report


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts with structlog's defaults: a CLI test's level filter must not leak."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def viewer(root: Path) -> Iterator[Any]:
    """A viewer serving the module's ``root`` fixture for the module's tests (a module
    that needs another, with a token or one per test, defines its own)."""
    from actors.viewer.serve import start  # the viewer's extra: only where a module asks

    with start(root) as running:
        yield running


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run directory that does not exist yet (the supervisor creates it)."""
    return tmp_path / "run"


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A running fake Messages API on 127.0.0.1; closed (delays woken) after the test."""
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(scope="session")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """One ``agentlog demo`` run, made once (it runs tests twice): dir, exit code, stdout.

    Tests must only read it (copy it to change it). The environment holds no key, base
    URL, script, Convex or OTLP endpoint while it runs, as for a user trying agentlog.
    """
    from actors.cli import main

    run_dir = tmp_path_factory.mktemp("demo") / "run"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out):
        for name in (
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_BASE_URL",
            "AGENTLOG_SCRIPT",
            "CONVEX_URL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ):
            env.delenv(name, raising=False)
        code = main(["demo", "--run-dir", str(run_dir)])
    structlog.reset_defaults()  # the CLI configured logging; the next test starts clean
    return run_dir, code, out.getvalue()
