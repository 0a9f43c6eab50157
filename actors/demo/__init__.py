"""The bundled demo: a real task, a scripted model and a configuration that shows it all.

The script answers with one overloaded error (a retry), a first version whose tests fail,
a review asking for changes, a fixed version and an approving review, so ``agentlog demo``
exercises retries, ``--run-tests`` and a revision round with no key and no network.
"""

from __future__ import annotations

from importlib import resources

import msgspec

from actors.models import ScriptedModel
from actors.sandbox import resolve_trusted
from events import WorkflowConfig

__all__ = ["DEMO_CONFIG", "demo_config", "demo_model", "demo_task"]

#: Settings of the demo run: one revision round, tests on, short backoff.
DEMO_CONFIG = WorkflowConfig(
    model="scripted-demo",
    max_revisions=1,
    run_tests=True,
    backoff_base=0.05,
    step_timeout=60.0,
)


def demo_config() -> tuple[WorkflowConfig, str | None]:
    """The demo's settings for this machine, and a note when its tests run unconfined.

    The demo's code is ours, so without bubblewrap its tests may run unconfined (recorded
    as ``sandbox: none``); the note says so.
    """
    policy, note = resolve_trusted(DEMO_CONFIG.sandbox)
    return msgspec.structs.replace(DEMO_CONFIG, sandbox=policy), note


def demo_task() -> str:
    """The demo's task text."""
    return resources.files(__package__).joinpath("task.txt").read_text("utf-8").strip()


def demo_model(delay: float = 0.0) -> ScriptedModel:
    """A fresh scripted model serving the demo's answers."""
    path = resources.files(__package__).joinpath("script.json")
    with resources.as_file(path) as file:
        return ScriptedModel.from_file(file, delay=delay, name="scripted-demo")
