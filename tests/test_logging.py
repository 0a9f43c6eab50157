"""One logging set-up: a program that never configures structlog gets warnings on stderr,
scrubbed by the same processors as ``--log-format``'s, and nothing on stdout."""

from __future__ import annotations

import os
import subprocess
import sys

KEY = "sk-ant-api03-" + "k" * 40
PROGRAM = """
import actors.models.claude  # what a library program imports to run workflows
from store._logging import get_logger

get_logger("agentlog.test").info("not shown at the default level")
get_logger("agentlog.test").warning("call failed", detail="key was {key}")
"""


def run(program: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-c", program.format(key=KEY)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_an_unconfigured_program_logs_warnings_to_stderr_with_secrets_masked() -> None:
    done = run(PROGRAM)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "call failed" in done.stderr and "[redacted]" in done.stderr
    assert KEY not in done.stderr
    assert "not shown" not in done.stderr


def test_a_program_that_configures_structlog_keeps_its_configuration() -> None:
    program = (
        "import structlog, sys\n"
        "structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stdout))\n" + PROGRAM
    )
    done = run(program)
    assert "not shown at the default level" in done.stdout


def test_scrub_secrets_means_the_one_text_scrubber_wherever_it_is_found() -> None:
    import actors.logs
    import actors.models
    import actors.secrets

    for module in (actors.logs, actors.models, actors.secrets):
        found = getattr(module, "scrub_secrets", actors.secrets.redact)
        assert found is actors.secrets.redact, module.__name__
