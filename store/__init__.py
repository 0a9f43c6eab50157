"""agentlog's store: the append-only JSONL event log and the projections built from it."""
