"""agentlog's actors: the Planner, Coder and Reviewer agents, their supervisor, and the CLI."""
