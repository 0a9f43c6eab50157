"""``run_tests``: the Reviewer sees a test run of the Coder's files, run in a sandbox.

The escapes a hostile test tries are in ``test_sandbox_escapes.py``; the policy (``--sandbox``,
the refusal without bubblewrap) in ``test_sandbox_policy.py``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from _sandbox import needs_bwrap
from _workflow import FAST, KEY, answer, kinds, of_type, scripted

from actors import Supervisor
from actors.models import ScriptedModel
from events import TestsRan

WITH_TESTS = msgspec.structs.replace(FAST, run_tests=True, test_timeout=30)

PASSING = "def test_adds():\n    assert 1 + 1 == 2\n"
ENV_DUMP = (
    "import os\n\n"
    "def test_env():\n"
    "    print('ENV:' + ','.join(sorted(os.environ)))\n"
    "    print('VALUES:' + '|'.join(os.environ.values()))\n"
    "    assert False, 'fail so pytest shows the output'\n"
)


def coder_writes(test_source: str) -> ScriptedModel:
    files = [{"path": "test_it.py", "content": test_source}]
    return scripted(code=[answer({"files": files})])


def review_request_text(model: ScriptedModel) -> str:
    review = next(r for r in model.calls if r.step == "review")
    return msgspec.json.encode(review.messages).decode()


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScriptedModel]:
    """One run whose Coder wrote a passing test (shared: each test run costs seconds)."""
    run_dir = tmp_path_factory.mktemp("passing") / "run"
    model = coder_writes(PASSING)
    Supervisor(WITH_TESTS, model=model).run("task", run_dir)
    return run_dir, model


@needs_bwrap
def test_reviewer_gets_a_tests_ran_event_before_its_answer(
    passing_run: tuple[Path, ScriptedModel],
) -> None:
    run_dir, _ = passing_run
    review_events = kinds(run_dir)[-4:]
    assert review_events == ["TestsRan", "ModelCalled", "ReviewProduced", "WorkflowCompleted"]
    ran = of_type(run_dir, TestsRan)[0]
    assert (ran.exit_code, ran.timed_out) == (0, False)
    assert "1 passed" in ran.output


@needs_bwrap
def test_an_ordinary_pytest_project_passes_inside_bwrap(
    passing_run: tuple[Path, ScriptedModel],
) -> None:
    run_dir, _ = passing_run
    ran = of_type(run_dir, TestsRan)[0]
    assert (ran.outcome, ran.sandbox) == ("passed", "bwrap")
    assert ran.sandbox_version  # recorded, so a replay elsewhere can show a difference


@needs_bwrap
def test_reviewer_request_carries_the_test_output(
    passing_run: tuple[Path, ScriptedModel],
) -> None:
    _, model = passing_run
    assert "1 passed" in review_request_text(model)


def test_no_test_run_without_run_tests(run_dir: Path) -> None:
    Supervisor(FAST, model=coder_writes(PASSING)).run("task", run_dir)
    assert of_type(run_dir, TestsRan) == []


@needs_bwrap
def test_tests_do_not_see_the_api_key(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", KEY)
    Supervisor(WITH_TESTS, model=coder_writes(ENV_DUMP)).run("task", run_dir)
    output = of_type(run_dir, TestsRan)[0].output
    env_line = next(line for line in output.splitlines() if line.startswith("ENV:"))
    names = env_line.removeprefix("ENV:").split(",")
    assert "PATH" in names  # the dump worked
    assert not [n for n in names if "ANTHROPIC" in n or "KEY" in n or "TOKEN" in n]
    assert KEY not in output
