"""Smoke test: every example runs offline and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import EventLog, materialize, workflow_state

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "basic_run.py": ["status:  completed", "verdict: approve"],
    "continue_on_error.py": ["continue_on_error=False: status=failed", "failed=code"],
    "custom_config.py": ["verdict=approve", "{'timeout': 1}", "{'overloaded': 1}"],
    "replay_log.py": ["replay ok", "NonDeterminism at seq"],
    "debug_failed_run.py": ["failed at step 'code'", "missing required field `content`"],
    "edit_existing_repo.py": [
        "status: completed, verdict: approve",
        "tests: python -m pytest -q -p no:cacheprovider -> exit 0",
        '+    if "--verbose" in argv:',
        "new file mode 100644",
        " M app.py",
        "?? test_verbose.py",
    ],
}


def run_example(name: str, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CONVEX_"))}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline_and_prints_its_story(name: str, tmp_path: Path) -> None:
    done = run_example(name, tmp_path / "run")
    assert done.returncode == 0, done.stderr
    for text in EXPECTED[name]:
        assert text in done.stdout


def test_every_workflow_example_is_smoke_tested() -> None:
    workflow_examples = {p.name for p in EXAMPLES.glob("*.py")} - {"convex_tracking.py"}
    assert workflow_examples == set(EXPECTED)


def test_sample_run_is_a_verified_completed_demo_log() -> None:
    log = EventLog(EXAMPLES / "sample-run")
    assert log.verify().ok
    state = workflow_state(log.read())
    assert (state.status, state.verdict) == ("completed", "approve")


def test_sample_run_artifacts_are_the_projection_of_its_log(tmp_path: Path) -> None:
    sample = EXAMPLES / "sample-run"
    materialize(tmp_path, EventLog(sample).read())
    for name in ("plan.json", "code.json", "review.json"):
        assert (sample / name).read_bytes() == (tmp_path / name).read_bytes()
