"""The Reviewer's evidence: run the workspace's tests in a sandbox and record the outcome.

The tests are model-written code: they run confined by :mod:`actors.sandbox` (bubblewrap,
resource limits, a scratch copy of the tree as the only writable place, an allow-listed
environment), or unconfined only when the user chose ``--sandbox none``. What they print
is masked with the one secret scrubber before it becomes a ``TestsRan`` event, so it
reaches neither the log nor the Reviewer's request with a secret in it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from actors.sandbox import (
    CANNOT_RUN,
    DEFAULT_LIMITS,
    KEPT_OUTPUT,
    Completed,
    Limits,
    SandboxUnavailable,
    limits_hit,
    resolve,
    run_confined,
    stop_all,
)
from actors.secrets import redact
from events import SandboxPolicy, TestOutcome, TestsRan, WorkflowConfig

__all__ = [
    "OUTPUT_LIMIT",
    "could_not_run",
    "require_sandbox",
    "run_tests",
    "run_workspace_tests",
    "stop_running_tests",
    "tests_command",
]

#: Bytes of test output kept (head and tail) in ``TestsRan.output``.
OUTPUT_LIMIT = KEPT_OUTPUT
#: pytest's exit code for "no tests were collected".
_PYTEST_NO_TESTS = 5
_UNITTEST_RAN_NONE = re.compile(r"^Ran 0 tests in ", re.MULTILINE)


def tests_command() -> tuple[str, ...]:
    """pytest when it is installed, else unittest discovery, on this interpreter."""
    if importlib.util.find_spec("pytest") is not None:
        return (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    return (sys.executable, "-m", "unittest", "discover", "-q")


def require_sandbox(config: WorkflowConfig) -> None:
    """Refuse, before anything runs, a workflow whose tests (or an agent loop's
    commands) would have no sandbox.

    Raises :class:`~actors.sandbox.SandboxUnavailable` (one line: install bubblewrap, or
    accept the risk with ``--sandbox none``) when ``run_tests`` is on and the policy cannot
    be met here.
    """
    if config.run_tests or config.test_cmd or config.agent_loop:
        resolve(config.sandbox)


def stop_running_tests() -> int:
    """Kill every test run in progress and remove its scratch copy (for SIGTERM)."""
    return stop_all()


def run_workspace_tests(
    workspace: Path,
    *,
    timeout: float,
    round: int = 0,
    policy: SandboxPolicy = "auto",
    command: Sequence[str] | None = None,
) -> TestsRan:
    """The Reviewer's test run: ``command`` (default :func:`tests_command`) on a copy of
    ``workspace``; the run directory holding it stays out of the sandbox's view."""
    return run_tests(
        workspace,
        command,
        timeout=timeout,
        policy=policy,
        round=round,
        hidden=(workspace.parent,),
    )


def run_tests(
    tree: Path,
    command: Sequence[str] | None = None,
    *,
    timeout: float,
    policy: SandboxPolicy = "auto",
    round: int = 0,
    hidden: Sequence[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
    in_place: bool = False,
) -> TestsRan:
    """Run ``command`` (default :func:`tests_command`) on a scratch copy of ``tree`` under
    ``policy``; describe the run as a ``TestsRan`` event.

    ``tree`` is left exactly as it was: whatever the tests write (caches, outputs, deleted
    files) is thrown away with the scratch copy (with ``in_place``, ``tree`` is a scratch
    copy the caller made and removes, and the tests run in it). A policy that cannot be met
    here gives an ``error`` outcome: the tests never run unconfined unless the policy is
    ``none``.
    """
    argv = tuple(command) if command is not None else tests_command()
    shown = tuple("python" if arg == sys.executable else arg for arg in argv)
    try:
        sandbox = resolve(policy)
    except SandboxUnavailable as exc:
        return TestsRan(
            actor="reviewer",
            command=shown,
            exit_code=None,
            output=f"the tests were not run: {exc}",
            outcome="error",
            problem=f"no sandbox: {exc}",
            round=round,
        )
    done = run_confined(
        tree,
        argv,
        timeout=timeout,
        sandbox=sandbox,
        limits=limits,
        hidden=hidden,
        in_place=in_place,
    )
    output = redact(done.output)
    problem = could_not_run(done.exit_code, output, argv, started=done.started)
    if done.timed_out:
        problem = ""
    return TestsRan(
        actor="reviewer",
        command=shown,
        exit_code=done.exit_code,
        output=output,
        truncated=done.truncated,
        timed_out=done.timed_out,
        duration_ms=_ms(done.duration_s),
        round=round,
        outcome="error" if problem else _outcome(done, argv),
        problem=problem,
        sandbox=sandbox.kind,
        sandbox_version=sandbox.version,
        limits_hit=limits_hit(done.exit_code, output, output_exceeded=done.output_exceeded),
    )


#: pytest's exit codes for "interrupted" (collection errors), "internal error", "usage".
_PYTEST_INTERRUPTED, _PYTEST_INTERNAL, _PYTEST_USAGE = 2, 3, 4
_COLLECTION = re.compile(r"\b\d+ errors? during collection\b")
_IMPORT_ERROR = re.compile(
    r"^(?:E\s+)?((?:ModuleNotFoundError|ImportError|SyntaxError): .+)$", re.MULTILINE
)
_NO_RUNNER = re.compile(r"No module named '?(pytest|tox|nox)'?")
_USAGE_LINES = (
    re.compile(r"^\S.*pytest\S*: error: (.+)$", re.MULTILINE),  # argparse's own words
    re.compile(r"^ERROR: (.+)$", re.MULTILINE),
)


def could_not_run(
    exit_code: int | None, output: str, argv: Sequence[str], *, started: bool = True
) -> str:
    """Why a test command's run shows nothing about the code, or "" when it ran the tests.

    The tests could not run when the command was not found or not started (126, 127),
    when pytest stopped before running a test (collection errors, an import error in a
    test module or conftest, a usage error such as an option of a missing plugin, an
    internal error), when unittest could not import a test module, or when the test
    runner itself is not installed. A failing or passing test run is never this.
    """
    first = _IMPORT_ERROR.search(output)
    detail = f": {first.group(1).strip()}" if first else ""
    if not started:
        return f"not started{detail}"
    if exit_code in (126, 127):
        line = next((ln.strip() for ln in output.splitlines() if ln.strip()), "")
        return f"command not found or not runnable (exit {exit_code})" + (
            f": {line}" if line else ""
        )
    runner = _NO_RUNNER.search(output)
    if runner is not None and exit_code not in (0, None):
        return f"the test runner is not installed: {runner.group(0)}"
    pytest = "pytest" in " ".join(argv) or "pytest" in output
    if exit_code == _PYTEST_INTERRUPTED and _COLLECTION.search(output):
        return f"collection error{detail}"
    if pytest and exit_code == _PYTEST_USAGE:
        usage = next((m for rx in _USAGE_LINES if (m := rx.search(output))), None)
        why = f": {usage.group(1).strip()}" if usage and not detail else detail
        return f"pytest usage error (exit 4){why}"
    if pytest and exit_code == _PYTEST_INTERNAL:
        return f"pytest internal error (exit 3){detail}"
    if "unittest.loader._FailedTest" in output or "Failed to import test module" in output:
        return f"a test module could not be imported{detail}"
    return ""


def _outcome(done: Completed, argv: Sequence[str]) -> TestOutcome:
    if not done.started or (done.exit_code == 127 and done.output.startswith(CANNOT_RUN)):
        return "error"
    if done.timed_out:
        return "timeout"
    words = " ".join(argv)
    # unittest exits 0 (5 from Python 3.12) after "Ran 0 tests": nothing was checked.
    ran_none = _UNITTEST_RAN_NONE.search(done.output) is not None
    if "unittest" in words and done.exit_code in (0, _PYTEST_NO_TESTS) and ran_none:
        return "no_tests"
    if done.exit_code == _PYTEST_NO_TESTS and "pytest" in words:
        return "no_tests"
    return "passed" if done.exit_code == 0 else "failed"


def _ms(seconds: float) -> float:
    """Seconds as milliseconds with 0.1 ms resolution (stable, compact JSON)."""
    return float(f"{seconds * 1000:.1f}")
