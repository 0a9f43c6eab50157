"""Running the ``agentlog`` console command in a subprocess, and scripts for it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from _workflow import APPROVE, CODE, PLAN, answer

#: The console command, run by this interpreter (the venv's agentlog).
CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]


def cli(
    *args: str | Path, input: str | bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``agentlog ARGS`` to its end; stdout and stderr captured as text."""
    return subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=not isinstance(input, bytes),
        input=input,
        env=env,
        timeout=120,
        check=False,
    )


def write_script(path: Path, **steps: list[dict[str, Any]]) -> Path:
    """A model script file: each step's answers (a step not given answers happily)."""
    script = {
        "plan": steps.get("plan", [answer(PLAN)]),
        "code": steps.get("code", [answer(CODE)]),
        "review": steps.get("review", [answer(APPROVE)]),
    }
    path.write_text(json.dumps(script))
    return path
