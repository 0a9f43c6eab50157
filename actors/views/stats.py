"""A step's figures as data: the rows ``agentlog stats`` tabulates and the viewer shows."""

from __future__ import annotations

from actors.pricing import cost_usd
from events import tokens
from store import StepStats

__all__ = ["stats_row"]


def stats_row(s: StepStats) -> dict[str, object]:
    """One step's statistics as data: what `stats --json` and the viewer show."""
    cost = cost_usd(s.usage_by_model)
    return {
        "step": s.step,
        "attempts": s.attempts,
        "failures": s.failures,
        "failures_by_kind": s.failures_by_kind,
        "wall_ms": s.wall_ms,
        "model_calls": s.model_calls,
        "latency_ms": s.latency_ms,
        "input_tokens": s.usage.input_tokens,
        "output_tokens": s.usage.output_tokens,
        "cache_creation_input_tokens": s.usage.cache_creation_input_tokens,
        "cache_read_input_tokens": s.usage.cache_read_input_tokens,
        "tokens": tokens(s.usage),
        "models": list(s.models),
        "cost_usd": cost,
    }
