"""A test run's outcome in a few words, read from its output: ``3 failed, 12 passed``.

A loop's ``run_command`` output is only text; when the command ran pytest or unittest,
their last summary line says how the tests went, which the one-line views
(``agentlog log``, the viewer's transcript) show next to the exit code.
"""

from __future__ import annotations

import re

__all__ = ["summarize_tests"]

#: pytest's final line: ``== 1 failed, 2 passed, 1 skipped in 0.12s ==`` (``-q``: no rules).
_PYTEST = re.compile(
    r"^=*\s*((?:\d+ (?:failed|passed|skipped|deselected|xfailed|xpassed|warnings?|errors?)"
    r"(?:, )?)+)(?: in [\d.]+s(?: \([\d:]+\))?)?\s*=*$"
)
_PYTEST_NONE = re.compile(r"^=*\s*no tests ran(?: in [\d.]+s)?\s*=*$")
#: unittest's ``Ran 4 tests in 0.001s`` then ``OK`` or ``FAILED (failures=1, errors=1)``.
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s$")
_UNITTEST_END = re.compile(r"^(OK|FAILED)(?: \(([^)]*)\))?$")
_UNITTEST_WORDS = {"failures": "failed", "errors": "error", "skipped": "skipped"}


def summarize_tests(output: str) -> str | None:
    """The test summary of a command's output (its last pytest or unittest summary), or
    None when the output has none."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if _PYTEST_NONE.match(line):
            return "no tests ran"
        found = _PYTEST.match(line)
        if found:
            return found.group(1).rstrip(", ")
        end = _UNITTEST_END.match(line)
        ran = _UNITTEST_RAN.match(lines[i - 1]) if i > 0 else None
        if end and ran:
            return _unittest(int(ran.group(1)), end.group(2) or "")
    return None


def _unittest(ran: int, counts: str) -> str:
    """``Ran 4`` and ``failures=1, errors=1, skipped=1`` as ``1 failed, 1 error, ...``."""
    parts: list[str] = []
    not_passed = 0
    for item in counts.split(","):
        name, _, value = item.strip().partition("=")
        if value.isdigit() and name in _UNITTEST_WORDS:
            n = int(value)
            word = _UNITTEST_WORDS[name]
            parts.append(f"{n} {word}{'s' if word == 'error' and n != 1 else ''}")
            not_passed += n
        elif value.isdigit() and name in ("expected failures", "unexpected successes"):
            not_passed += int(value)
    passed = ran - not_passed
    return ", ".join([*parts, f"{passed} passed"] if passed or not parts else parts)
