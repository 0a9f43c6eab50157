"""The price table: every model the SDK lists is priced by its own id, never by a guess."""

from __future__ import annotations

import typing

import pytest

from actors.models import DEFAULT_MODEL
from actors.models.defaults import model_key
from actors.pricing import PRICES, UNPRICED, Price, cost_usd, price_for, usage_cost
from events import Usage


def sdk_models() -> set[str]:
    """Every model id the installed SDK lists (``Model`` and ``ModelParam`` literals)."""
    from anthropic.types.model import Model
    from anthropic.types.model_param import ModelParam

    names: set[str] = set()
    for alias in (Model, ModelParam):
        for arg in typing.get_args(alias):
            names.update(a for a in typing.get_args(arg) if isinstance(a, str))
    return names


def test_every_model_the_sdk_lists_has_a_price_or_a_stated_reason() -> None:
    missing = sorted(m for m in sdk_models() if price_for(m) is None and m not in UNPRICED)
    assert missing == []


def test_a_model_is_either_priced_or_unpriced_never_both() -> None:
    assert set(PRICES).isdisjoint(UNPRICED)
    assert all(reason for reason in UNPRICED.values())


def test_the_default_model_has_a_price() -> None:
    assert price_for(DEFAULT_MODEL) is not None


def test_older_opus_models_cost_three_times_the_newer_ones() -> None:
    old, new = price_for("claude-opus-4-1"), price_for("claude-opus-4-5")
    assert old is not None and new is not None
    assert old == Price(*(3 * x for x in new))


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("claude-opus-5-5[1m]", "claude-opus-5-5"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("Claude-Haiku-4-5", "claude-haiku-4-5"),
    ],
)
def test_dated_and_platform_ids_name_their_model(model: str, key: str) -> None:
    assert model_key(model) == key
    assert price_for(model) == PRICES[key]


@pytest.mark.parametrize("model", ["scripted-demo", "my-sonnet-proxy", "claude-opus-9", ""])
def test_a_model_not_in_the_table_has_no_price(model: str) -> None:
    assert price_for(model) is None


def test_1h_cache_writes_cost_the_1h_rate_and_the_rest_the_5m_rate() -> None:
    price = Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30, cache_write_1h=6.0)
    usage = Usage(cache_creation_input_tokens=4096, cache_creation_1h_input_tokens=3072)
    assert usage_cost(usage, price) == pytest.approx((1024 * 3.75 + 3072 * 6.0) / 1e6)


def test_every_kind_of_token_is_priced() -> None:
    price = Price(input=1.0, output=2.0, cache_write=3.0, cache_read=4.0, cache_write_1h=5.0)
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_creation_input_tokens=2_000_000,
        cache_read_input_tokens=1_000_000,
        cache_creation_1h_input_tokens=1_000_000,
    )
    assert usage_cost(usage, price) == pytest.approx(1 + 2 + 3 + 4 + 5)


def test_cost_is_unknown_when_a_model_with_tokens_has_no_price() -> None:
    usage = {"claude-sonnet-4-5": Usage(input_tokens=10), "scripted": Usage(input_tokens=1)}
    assert cost_usd(usage) is None


def test_a_model_without_tokens_does_not_make_the_cost_unknown() -> None:
    usage = {"claude-sonnet-4-5": Usage(input_tokens=1_000_000), "scripted": Usage()}
    assert cost_usd(usage) == pytest.approx(3.0)
