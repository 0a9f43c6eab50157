"""``run_tests``: the Reviewer sees a test run of the Coder's files, run in a scrubbed sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest
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


def hanging(pid_file: Path) -> str:
    return (
        "import os, subprocess, time\n\n"
        "def test_hangs():\n"
        "    child = subprocess.Popen(['sleep', '60'])\n"
        f"    open({str(pid_file)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "    time.sleep(60)\n"
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


@pytest.fixture(scope="module")
def hanging_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One run whose tests hang (after starting a child); the test timeout leaves time for
    pytest to start on a loaded machine."""
    tmp = tmp_path_factory.mktemp("hanging")
    run_dir, pid_file = tmp / "run", tmp / "pids"
    config = msgspec.structs.replace(WITH_TESTS, test_timeout=8)
    Supervisor(config, model=coder_writes(hanging(pid_file))).run("task", run_dir)
    return run_dir, pid_file


def test_reviewer_gets_a_tests_ran_event_before_its_answer(
    passing_run: tuple[Path, ScriptedModel],
) -> None:
    run_dir, _ = passing_run
    review_events = kinds(run_dir)[-4:]
    assert review_events == ["TestsRan", "ModelCalled", "ReviewProduced", "WorkflowCompleted"]
    ran = of_type(run_dir, TestsRan)[0]
    assert (ran.exit_code, ran.timed_out) == (0, False)
    assert "1 passed" in ran.output


def test_reviewer_request_carries_the_test_output(
    passing_run: tuple[Path, ScriptedModel],
) -> None:
    _, model = passing_run
    assert "1 passed" in review_request_text(model)


def test_no_test_run_without_run_tests(run_dir: Path) -> None:
    Supervisor(FAST, model=coder_writes(PASSING)).run("task", run_dir)
    assert of_type(run_dir, TestsRan) == []


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


def test_hanging_tests_are_stopped_at_the_test_timeout(hanging_run: tuple[Path, Path]) -> None:
    run_dir, _ = hanging_run
    ran = of_type(run_dir, TestsRan)[0]
    assert (ran.timed_out, ran.exit_code) == (True, None)
    assert ran.duration_ms < 30_000  # the test would sleep 60 s
    assert kinds(run_dir)[-1] == "WorkflowCompleted"  # the Reviewer still answered


def test_timeout_kills_the_whole_test_process_group(hanging_run: tuple[Path, Path]) -> None:
    _, pid_file = hanging_run
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 2  # pytest and the sleep it started
    assert not [pid for pid in pids if alive(pid)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by its parent) is dead too.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
