"""The agent loop: an agent's attempt as model turns and tool calls, every one an event.

:func:`code_loop`, :func:`plan_loop` and :func:`review_loop` are the agents' loops
(``WorkflowConfig.agent_loop``); the tools are in :mod:`actors.loop.tools`. See
``docs/agent-loop.md``.
"""

from actors.loop.run import code_loop, net_change, plan_loop, review_loop
from actors.loop.tools import ToolError, tool_definitions

__all__ = [
    "ToolError",
    "code_loop",
    "net_change",
    "plan_loop",
    "review_loop",
    "tool_definitions",
]
