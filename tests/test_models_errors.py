"""ModelError and NonDeterminism: kinds, retryability defaults, and copies that keep fields."""

from __future__ import annotations

import pickle

import pytest

from actors.models import (
    ERROR_KINDS,
    RETRYABLE_KINDS,
    ModelError,
    ModelResponse,
    NonDeterminism,
)
from events import AgentlogError


@pytest.mark.parametrize("kind", sorted(ERROR_KINDS))
def test_retryable_defaults_from_the_kind(kind: str) -> None:
    assert ModelError("m", kind=kind).retryable is (kind in RETRYABLE_KINDS)  # type: ignore[arg-type]


def test_transient_kinds_are_retryable() -> None:
    assert {
        "rate_limit",
        "overloaded",
        "server_error",
        "timeout",
        "connection",
        "invalid_output",
    } == RETRYABLE_KINDS


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown ModelError kind"):
        ModelError("m", kind="oops")  # type: ignore[arg-type]


def test_model_error_is_an_agentlog_error_with_its_message() -> None:
    err = ModelError("Claude is overloaded", kind="overloaded")
    assert isinstance(err, AgentlogError)
    assert str(err) == "Claude is overloaded"


def test_model_error_survives_pickling_with_every_field() -> None:
    response = ModelResponse(content=(), stop_reason="max_tokens")
    err = ModelError("m", kind="rate_limit", retryable=False, retry_after=2.0, response=response)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.kind, copy.retryable, copy.retry_after, copy.response) == (
        "rate_limit",
        False,
        2.0,
        response,
    )


def test_non_determinism_survives_pickling() -> None:
    err = NonDeterminism(step="plan", seq=3, expected="a", actual="b", reason="digest differs")
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.seq, copy.expected, copy.actual) == (str(err), 3, "a", "b")
