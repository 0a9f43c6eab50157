"""The price table, in one place: US dollars per million tokens by model family.

Figures are list prices for standard (non-batch) use; cache writes are the 5-minute
tier. A model whose family is not listed has no cost (shown as ``-``), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from events import Usage

__all__ = ["PRICES", "Price", "cost_usd", "price_for"]

#: (input, output, cache write, cache read) in USD per million tokens.
Price = tuple[float, float, float, float]

PRICES: dict[str, Price] = {
    "opus": (5.00, 25.00, 6.25, 0.50),
    "sonnet": (3.00, 15.00, 3.75, 0.30),
    "haiku": (1.00, 5.00, 1.25, 0.10),
}


def price_for(model: str) -> Price | None:
    """The price of ``model`` by its family name, or None when unknown."""
    for family, price in PRICES.items():
        if family in model:
            return price
    return None


def cost_usd(usage_by_model: Mapping[str, Usage]) -> float | None:
    """Cost of the given usage; None when any model with tokens has no known price."""
    total = 0.0
    for model, u in usage_by_model.items():
        price = price_for(model)
        if price is None:
            if u.total:
                return None
            continue
        total += (
            u.input_tokens * price[0]
            + u.output_tokens * price[1]
            + u.cache_creation_input_tokens * price[2]
            + u.cache_read_input_tokens * price[3]
        ) / 1_000_000
    return round(total, 6)
