"""Tests that could not run are never a pass, and the common layouts' tests do run.

A src layout gets its packages on the path; a collection, import or usage error, a
command that is not there, is "tests could not run": recorded with its reason
(``TestsRan.problem``), told to the Reviewer as such, and said in the run's summary.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from _cli import cli
from _repo import make_repo, needs_git
from _workflow import FAST, of_type

from actors import Supervisor
from actors.models import ScriptedModel
from actors.testrun import run_tests
from events import TestsRan
from store import detect_tests

pytestmark = needs_git

PYTEST = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
SRC_PATH = ("env", "PYTHONPATH=.:src")

SRC_LAYOUT = {
    "pyproject.toml": '[project]\nname = "mypkg"\n\n'
    '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "src/mypkg/__init__.py": "def double(x):\n    return 2 * x\n",
    "tests/test_double.py": "from mypkg import double\n\n\ndef test_double():\n"
    "    assert double(2) == 4\n",
}

TOUCH = {
    "changes": [{"op": "create", "path": "src/mypkg/extra.py", "content": "Y = 2\n"}],
    "notes": "a new module",
}


SCRIPT = {
    "plan": [
        {
            "tool_input": {
                "summary": "add a module",
                "steps": [{"title": "Add", "description": "a module", "files": ["src/mypkg"]}],
            }
        }
    ],
    "code": [{"tool_input": TOUCH}],
    "review": [{"tool_input": {"verdict": "approve", "summary": "Fine."}}],
}


def _model() -> ScriptedModel:
    return ScriptedModel(SCRIPT)


def _review_request(model: ScriptedModel) -> str:
    review = next(r for r in model.calls if r.step == "review")
    return msgspec.json.encode(review.messages).decode()


# -- detection ------------------------------------------------------------------------


def test_a_src_layout_runs_its_tests_with_src_on_the_path() -> None:
    contents = {"pyproject.toml": b"[tool.pytest.ini_options]\n", "tests/test_a.py": b""}
    command, source = detect_tests(contents, ["src/mypkg/__init__.py", "tests/test_a.py"])
    assert (command, source) == ((*SRC_PATH, *PYTEST), "pytest")


def test_a_project_whose_pytest_settings_set_pythonpath_is_left_to_them() -> None:
    contents = {"pyproject.toml": b'[tool.pytest.ini_options]\npythonpath = ["src"]\n'}
    command, _ = detect_tests(contents, ["src/mypkg/__init__.py"])
    assert command == PYTEST


@pytest.mark.parametrize(
    ("name", "recipe", "source"),
    [
        ("tox.ini", b"[testenv]\ncommands = pytest {posargs}\n", "pytest"),
        ("noxfile.py", b"@nox.session\ndef tests(s):\n    s.run('pytest')\n", "pytest"),
        ("Makefile", b"test:\n\tpython -m unittest discover\n", "unittest"),
        ("pyproject.toml", b'[project.optional-dependencies]\ndev = ["pytest>=8"]\n', "pytest"),
    ],
)
def test_tox_nox_makefile_and_dev_dependencies_hint_at_the_runner(
    name: str, recipe: bytes, source: str
) -> None:
    command, found = detect_tests({name: recipe, "mypkg.py": b""})
    assert found == source
    assert command[1:3] == ("-m", source)


# -- classifying a run -----------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "command", "problem"),
    [
        (
            {"test_a.py": "import nothere\n\n\ndef test_a():\n    pass\n"},
            None,
            "collection error: ModuleNotFoundError: No module named 'nothere'",
        ),
        (
            {
                "test_a.py": "def test_a():\n    pass\n",
                "pytest.ini": "[pytest]\naddopts = --nope\n",
            },
            None,
            "pytest usage error (exit 4): unrecognized arguments: --nope",
        ),
        (
            {"test_a.py": "def test_a():\n    pass\n"},
            ("sh", "-c", "no-such-test-runner-xyz"),
            "command not found or not runnable (exit 127)",
        ),
        (
            {"test_a.py": "import nothere\nimport unittest\n"},
            ("python", "-m", "unittest", "discover", "-q"),
            "a test module could not be imported",
        ),
    ],
    ids=["import-error", "usage-error", "not-found", "unittest-import"],
)
def test_a_run_that_could_not_run_the_tests_is_an_error_with_its_reason(
    tmp_path: Path, files: dict[str, str], command: tuple[str, ...] | None, problem: str
) -> None:
    import sys

    argv = None
    if command is not None:
        argv = tuple(sys.executable if a == "python" else a for a in command)
    ran = run_tests(_tree(tmp_path / "t", files), argv, timeout=60, policy="none")
    assert ran.outcome == "error", ran.output
    assert ran.problem.startswith(problem), ran.problem


def test_a_failing_test_is_a_failure_not_a_could_not_run(tmp_path: Path) -> None:
    files = {"test_a.py": "def test_a():\n    import nothere\n"}  # fails inside a test
    ran = run_tests(_tree(tmp_path / "t", files), timeout=60, policy="none")
    assert (ran.outcome, ran.problem) == ("failed", "")


def test_an_old_tests_ran_event_without_a_problem_still_decodes() -> None:
    line = b'{"type":"TestsRan","command":["pytest"],"exit_code":1,"output":"x","outcome":"error"}'
    event = msgspec.json.decode(line, type=TestsRan)
    assert (event.outcome, event.problem) == ("error", "")


# -- the workflow ----------------------------------------------------------------------


def test_a_src_layout_repository_passes_its_own_tests(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", SRC_LAYOUT)
    config = msgspec.structs.replace(FAST, run_tests=True, test_timeout=60, sandbox="none")
    Supervisor(config, model=_model()).run("t", tmp_path / "run", workspace=repo)
    ran = of_type(tmp_path / "run", TestsRan)[0]
    assert (ran.outcome, ran.problem) == ("passed", ""), ran.output
    assert "1 passed" in ran.output


def test_the_reviewer_is_told_the_tests_could_not_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", SRC_LAYOUT)
    config = msgspec.structs.replace(
        FAST, test_cmd="no-such-test-runner-xyz", test_timeout=60, sandbox="none"
    )
    model = _model()
    Supervisor(config, model=model).run("t", tmp_path / "run", workspace=repo)
    ran = of_type(tmp_path / "run", TestsRan)[0]
    assert ran.outcome == "error"
    text = _review_request(model)
    assert "the tests could not run (command not found" in text
    assert "this is not a pass" in text


def test_the_summary_and_the_timeline_say_the_tests_could_not_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", SRC_LAYOUT)
    script = tmp_path / "s.json"
    script.write_text(msgspec.json.encode(SCRIPT).decode())
    done = cli(
        "run", "t", "--workspace", repo, "--script", script, "--run-dir", tmp_path / "run",
        "--test-cmd", "no-such-test-runner-xyz", "--sandbox", "none",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "tests could not run: command not found or not runnable (exit 127)" in done.stdout
    timeline = cli("log", tmp_path / "run", "--type", "TestsRan").stdout
    assert "(tests could not run: command not found" in timeline
