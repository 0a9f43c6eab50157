"""The agent loop: an agent's attempt as model turns and tool calls, every one an event.

:func:`code_loop` is the Coder's loop (``WorkflowConfig.agent_loop``); the tools it
offers are in :mod:`actors.loop.tools`. See ``docs/agent-loop.md``.
"""

from actors.loop.coder import code_loop, net_change
from actors.loop.tools import ToolError, tool_definitions

__all__ = ["ToolError", "code_loop", "net_change", "tool_definitions"]
