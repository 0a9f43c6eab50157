"""The model client is ready before the first step's clock starts (importing the SDK and
building the client can take seconds on a loaded machine; no step timeout pays for it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _workflow import APPROVE, CODE, KEY, PLAN
from fake_anthropic import FakeAnthropic

PROBE = """
import sys
from actors import Supervisor, WorkflowConfig
from actors.models import AnthropicModel

loaded_at_first_step = []

def listener(event):
    if type(event).__name__ == "StepStarted" and not loaded_at_first_step:
        loaded_at_first_step.append("anthropic" in sys.modules)

assert "anthropic" not in sys.modules
model = AnthropicModel("claude-sonnet-5-5", api_key=sys.argv[1], base_url=sys.argv[2])
config = WorkflowConfig(backoff_base=0, step_timeout=30)
result = Supervisor(config, model=model, listeners=[listener]).run("task", sys.argv[3])
print(result.status, loaded_at_first_step)
"""


def test_the_sdk_is_loaded_before_the_first_step_starts(
    fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    for answer in (PLAN, CODE, APPROVE):
        fake_anthropic.reply_tool_use(answer)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, KEY, fake_anthropic.url, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["completed", "[True]"]
