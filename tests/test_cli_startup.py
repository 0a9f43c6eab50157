"""`agentlog log` and `show` start without what they never use.

A read command pays for the log and its events only: no projection or workspace
modules, no compiled secret scanners (compiled on first scan), no ``shutil`` (argparse
would import it, and through it the compression modules, for the terminal's width).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _workflow import FAST, scripted

from actors import Supervisor

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
from actors.cli import main
code = main(sys.argv[1:])
import store.tokens as c
heavy = ("shutil", "store.materialize", "store.projections", "store.tree", "store.objects",
         "ahocorasick_rs")
lazy = getattr(c._compiled, "cache_info", None)  # compiled at import when not lazy
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules],
                  "scanners": lazy().currsize if lazy else "compiled"}), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("startup") / "run"
    assert Supervisor(FAST, model=scripted()).run("task", run_dir).ok
    return run_dir


def _probe(*args: str) -> dict[str, object]:
    import json

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("command", [["log"], ["show", "1"]])
def test_a_read_command_imports_no_projection_shutil_or_scanner(
    run: Path, command: list[str]
) -> None:
    args = [command[0], str(run), *command[1:]]
    assert _probe(*args) == {"code": 0, "loaded": [], "scanners": 0}
