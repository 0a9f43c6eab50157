"""agentlog's actors: the Planner, Coder and Reviewer agents, their supervisor, and the CLI.

``from actors import Supervisor, WorkflowConfig`` is the way to run workflows from Python;
``Supervisor(config, listeners=integrations_from_env())`` (from ``actors.integrations``)
also exports and mirrors them as the CLI does, which a bare ``Supervisor`` does not.
Names are imported on first use, so the CLI's ``--help`` does not pay for pykka and the
model layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.agents import CoderActor, PlannerActor, ReviewerActor, StepWork
    from actors.forking import fork
    from actors.replaying import Replayer, ReplayReport, replay
    from actors.supervisor import RunHandle, Supervisor, WorkflowResult
    from actors.supervisor_actor import SupervisorActor
    from actors.whatif import what_if
    from events import WorkflowConfig

__all__ = [
    "CoderActor",
    "PlannerActor",
    "ReplayReport",
    "Replayer",
    "ReviewerActor",
    "RunHandle",
    "StepWork",
    "Supervisor",
    "SupervisorActor",
    "WorkflowConfig",
    "WorkflowResult",
    "fork",
    "replay",
    "what_if",
]

_HOMES = {
    "CoderActor": "actors.agents",
    "PlannerActor": "actors.agents",
    "ReviewerActor": "actors.agents",
    "StepWork": "actors.agents",
    "ReplayReport": "actors.replaying",
    "Replayer": "actors.replaying",
    "fork": "actors.forking",
    "replay": "actors.replaying",
    "SupervisorActor": "actors.supervisor_actor",
    "RunHandle": "actors.supervisor",
    "Supervisor": "actors.supervisor",
    "WorkflowResult": "actors.supervisor",
    "WorkflowConfig": "events",
    "what_if": "actors.whatif",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
