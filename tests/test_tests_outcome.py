"""A ``run_command``'s test summary in the one-line views: ``→ exit 1, 3 failed``."""

from __future__ import annotations

from actors.views.events import summarize
from actors.views.outcome import summarize_tests
from events import ToolResulted

PYTEST_Q = """\
F.s.E
FAILED test_x.py::test_a - assert 0
ERROR test_x.py::test_d
1 failed, 1 passed, 1 skipped, 1 error in 0.98s
"""
PYTEST = """\
============================= test session starts ==============================
collected 15 items

tests/test_app.py ...FFF.........                                        [100%]
=========================== short test summary info ============================
FAILED tests/test_app.py::test_a - assert 0
========================= 3 failed, 12 passed in 0.41s =========================
"""
UNITTEST_FAILED = """\
F.Es
======================================================================
FAIL: test_a (u.T.test_a)
----------------------------------------------------------------------
Ran 4 tests in 0.000s

FAILED (failures=1, errors=1, skipped=1)
"""
UNITTEST_OK = "...\n----------------------------------------------------------------------\nRan 3 tests in 0.001s\n\nOK\n"  # noqa: E501


def command(output: str, exit_code: int = 1) -> ToolResulted:
    return ToolResulted(turn=2, name="run_command", exit_code=exit_code, output=output)


def test_pytests_quiet_summary_line_is_the_outcome() -> None:
    assert summarize_tests(PYTEST_Q) == "1 failed, 1 passed, 1 skipped, 1 error"


def test_pytests_ruled_summary_line_is_the_outcome() -> None:
    assert summarize_tests(PYTEST) == "3 failed, 12 passed"


def test_unittests_counts_become_the_same_words() -> None:
    assert summarize_tests(UNITTEST_FAILED) == "1 failed, 1 error, 1 skipped, 1 passed"
    assert summarize_tests(UNITTEST_OK) == "3 passed"


def test_an_output_without_a_test_summary_has_no_outcome() -> None:
    assert summarize_tests("ls: cannot access 'x': No such file or directory\n") is None
    assert summarize_tests("3 failed attempts to connect\n") is None


def test_the_log_line_of_a_test_command_carries_its_outcome() -> None:
    assert summarize(command(PYTEST)) == "code#1 t2 run_command → exit 1, 3 failed, 12 passed"
    assert summarize(command(UNITTEST_OK, 0)) == "code#1 t2 run_command → exit 0, 3 passed"


def test_the_log_line_of_another_command_is_its_exit_alone() -> None:
    assert summarize(command("make: *** [all] Error 2\n", 2)) == "code#1 t2 run_command → exit 2"
