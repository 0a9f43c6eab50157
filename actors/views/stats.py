"""A step's figures as data: the rows ``agentlog stats`` tabulates and the viewer shows."""

from __future__ import annotations

from actors.pricing import cost_usd
from events import Usage, tokens
from store import StepStats

__all__ = ["cache_share", "stats_row"]


def cache_share(usage: Usage) -> float | None:
    """The part of all input tokens (plain, cache reads, cache writes) read from the
    prompt cache, 0..1; None when there was no input."""
    read = usage.cache_read_input_tokens
    every = usage.input_tokens + usage.cache_creation_input_tokens + read
    return round(read / every, 4) if every else None


def stats_row(s: StepStats) -> dict[str, object]:
    """One step's statistics as data: what `stats --json` and the viewer show.

    The four input token classes are counted apart (``cache_creation_input_tokens`` is
    every cache write; its 1-hour part, priced higher, is ``..._1h_...`` and the rest the
    5-minute writes), and ``cost_usd`` prices each at its rate.
    """
    cost = cost_usd(s.usage_by_model)
    one_hour = min(s.usage.cache_creation_1h_input_tokens, s.usage.cache_creation_input_tokens)
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
        "cache_creation_5m_input_tokens": s.usage.cache_creation_input_tokens - one_hour,
        "cache_creation_1h_input_tokens": one_hour,
        "cache_share": cache_share(s.usage),
        "tool_calls": s.tool_calls,
        "tokens": tokens(s.usage),
        "models": list(s.models),
        "cost_usd": cost,
    }
