"""A finished agent-loop run made offline: the loop demo's workspace and script, its
Coder's first turn thinking before it reads (a scripted ``content`` turn)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

import actors.demo
from actors import Supervisor
from actors.demo import demo_config
from actors.models import ScriptedModel

#: The first line of the Coder's first thinking, and the rest of it.
THINKING = "Where is top_words defined?\nThen read it whole."
LOOP_DATA: dict[str, Any] = json.loads(
    (Path(actors.demo.__file__).parent / "loop.json").read_text("utf-8")
)


def make_loop_run(run_dir: Path, workspace: Path, **settings: Any) -> Path:
    """Write the demo's workspace to ``workspace`` and run the scripted loop into
    ``run_dir``: read, edit, tests fail (1 failed, 2 passed), edit, tests pass, submit.
    ``settings`` change the demo's configuration (``max_turns=3``)."""
    workspace.mkdir(parents=True)
    for name, text in LOOP_DATA["files"].items():
        (workspace / name).write_text(text, encoding="utf-8")
    script = json.loads(json.dumps(LOOP_DATA["script"]))
    script["code"][0] = {
        "content": [
            {"type": "thinking", "thinking": THINKING, "signature": "sig"},
            {"type": "tool_use", "id": "toolu_read", "name": "read_file",
             "input": {"path": "wordfreq.py"}},
        ]
    }  # fmt: skip
    config, _ = demo_config(loop=True)
    config = msgspec.structs.replace(config, **settings)
    model = ScriptedModel(script, name="scripted-demo")
    Supervisor(config, model=model).run(LOOP_DATA["task"], run_dir, workspace=workspace)
    return run_dir
