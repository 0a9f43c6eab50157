"""The bundled demo: a real task, a scripted model and a configuration that shows it all.

The script answers with one overloaded error (a retry), a first version whose tests fail,
a review asking for changes, a fixed version and an approving review, so ``agentlog demo``
exercises retries, ``--run-tests`` and a revision round with no key and no network.

``agentlog demo --loop`` shows the agent loop instead (``loop.json``): on a small
workspace written to a new temporary directory, the Coder searches, reads, edits, runs
the tests in the sandbox, sees one fail, fixes it, runs them again and submits.
"""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from actors.models import ScriptedModel
from actors.sandbox import resolve_trusted
from events import WorkflowConfig

__all__ = [
    "DEMO_CONFIG",
    "LOOP_CONFIG",
    "demo_config",
    "demo_model",
    "demo_task",
    "loop_demo",
]

#: Settings of the demo run: one revision round, tests on, short backoff.
DEMO_CONFIG = WorkflowConfig(
    model="scripted-demo",
    max_revisions=1,
    run_tests=True,
    backoff_base=0.05,
    step_timeout=60.0,
)


#: Settings of the loop demo: the Coder as a tool loop over a workspace.
LOOP_CONFIG = WorkflowConfig(
    model="scripted-demo", agent_loop=True, backoff_base=0.05, step_timeout=60.0
)


def loop_demo() -> tuple[str, Path, ScriptedModel]:
    """The loop demo's task, its workspace (written to a new temporary directory) and
    its scripted model."""
    data: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("loop.json").read_text("utf-8")
    )
    root = Path(tempfile.mkdtemp(prefix="agentlog-demo-workspace-"))
    for name, text in data["files"].items():
        (root / name).write_text(text, encoding="utf-8")
    return data["task"], root, ScriptedModel(data["script"], name="scripted-demo")


def demo_config(loop: bool = False) -> tuple[WorkflowConfig, str | None]:
    """The demo's settings for this machine, and a note when its tests run unconfined.

    The demo's code is ours, so without bubblewrap its tests may run unconfined (recorded
    as ``sandbox: none``); the note says so. ``loop``: the loop demo's settings.
    """
    config = LOOP_CONFIG if loop else DEMO_CONFIG
    policy, note = resolve_trusted(config.sandbox)
    return msgspec.structs.replace(config, sandbox=policy), note


def demo_task() -> str:
    """The demo's task text."""
    return resources.files(__package__).joinpath("task.txt").read_text("utf-8").strip()


def demo_model(delay: float = 0.0) -> ScriptedModel:
    """A fresh scripted model serving the demo's answers."""
    path = resources.files(__package__).joinpath("script.json")
    with resources.as_file(path) as file:
        return ScriptedModel.from_file(file, delay=delay, name="scripted-demo")
