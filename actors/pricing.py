"""The price table, in one place: US dollars per million tokens, by model.

Figures are list prices for standard (non-batch) use, from the model pages of the Claude
API docs (as of 2026-11-25). Prices differ within a family (Opus 4 and 4.1 cost three
times Opus 4.5 and later), so a model is looked up by its own id: a dated id
(``claude-sonnet-4-5-20250929``), a Bedrock/Vertex form (``anthropic.claude-opus-4-1-
20250805-v1:0``, ``claude-opus-4-1@20250805``) or a ``[1m]`` suffix all name their model.
A model not in the table has no cost (shown as ``-``), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from actors.model_names import model_key
from events import Usage

__all__ = ["PRICES", "UNPRICED", "Price", "cost_usd", "price_for", "usage_cost"]


class Price(NamedTuple):
    """USD per million tokens; ``cache_write`` is the 5-minute cache, the default."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    cache_write_1h: float


def _standard(input: float, output: float, cache_read: float | None = None) -> Price:
    """A price with the usual cache multipliers: writes 1.25x (5 min) / 2x (1 h), reads 0.1x."""
    read = round(input * 0.1, 6) if cache_read is None else cache_read
    return Price(input, output, input * 1.25, read, input * 2.0)


_OPUS_4_5_ON = _standard(5.00, 25.00)
_OPUS_4_0 = _standard(15.00, 75.00)
_SONNET_4 = _standard(3.00, 15.00)
_FABLE_5 = _standard(10.00, 50.00)
_FABLE_5_1 = _standard(10.00, 50.00, cache_read=0.25)

#: Price per model id (without date, platform prefix or suffix); see
#: :func:`~actors.models.defaults.model_key`.
PRICES: dict[str, Price] = {
    "claude-mythos-preview": _standard(25.00, 125.00),
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": _standard(4.00, 20.00, cache_read=0.20),
    "claude-opus-5": _OPUS_4_5_ON,
    "claude-opus-4-8": _OPUS_4_5_ON,
    "claude-opus-4-7": _OPUS_4_5_ON,
    "claude-opus-4-6": _OPUS_4_5_ON,
    "claude-opus-4-5": _OPUS_4_5_ON,
    "claude-opus-4-1": _OPUS_4_0,
    "claude-opus-4-0": _OPUS_4_0,
    "claude-opus-4": _OPUS_4_0,
    "claude-3-opus": _OPUS_4_0,
    # Sonnet 5.5 cache reads went from 0.20 to 0.10 on 2026-10-07.
    "claude-sonnet-5-5": _standard(2.00, 10.00, cache_read=0.10),
    "claude-sonnet-5": _standard(2.00, 10.00),
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-3-7-sonnet": _SONNET_4,
    "claude-3-5-sonnet": _SONNET_4,
    # Haiku 5.5 is priced by prompt length; this is the band up to 100k prompt tokens
    # (longer prompts cost 5x). Usage is summed per model, so the band cannot be told.
    "claude-haiku-5-5": _standard(0.10, 0.50, cache_read=0.01),
    "claude-haiku-4-5": _standard(1.00, 5.00),
    "claude-3-5-haiku": _standard(0.80, 4.00),
    "claude-3-haiku": Price(0.25, 1.25, 0.30, 0.03, 0.50),
}

#: Models the SDK lists whose price was not published when the table was written: their
#: cost is unknown (``-``) rather than guessed. Each says why.
UNPRICED: dict[str, str] = {
    "claude-fable-5-2": "no published price found on 2026-11-25",
    "claude-mythos-5-2": "no published price found on 2026-11-25",
}


def price_for(model: str) -> Price | None:
    """The price of ``model`` (by its :func:`model_key`), or None when it is not known."""
    return PRICES.get(model_key(model))


def usage_cost(usage: Usage, price: Price) -> float:
    """USD for ``usage`` at ``price``; cache writes to the 1-hour cache cost its rate."""
    one_hour = min(usage.cache_creation_1h_input_tokens, usage.cache_creation_input_tokens)
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + (usage.cache_creation_input_tokens - one_hour) * price.cache_write
        + one_hour * price.cache_write_1h
        + usage.cache_read_input_tokens * price.cache_read
    ) / 1_000_000


def cost_usd(usage_by_model: Mapping[str, Usage]) -> float | None:
    """Cost of the given usage; None when any model with tokens has no known price."""
    total = 0.0
    for model, usage in usage_by_model.items():
        price = price_for(model)
        if price is None:
            if usage.total:
                return None
            continue
        total += usage_cost(usage, price)
    return round(total, 6)
