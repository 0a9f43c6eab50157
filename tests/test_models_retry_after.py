"""The server's ``retry-after`` hint: how it is read, and how it bounds the next wait."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.models.claude import parse_retry_after
from actors.orchestration import RETRY_AFTER_CAP, StartAttempt, backoff_delay, next_action
from events import StepFailed, StepStarted, WorkflowConfig, WorkflowStarted
from store import workflow_state

NOW = 1_800_000_000.0
NO_BACKOFF = WorkflowConfig(backoff_base=0, step_timeout=600)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "16"}, 16.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": " 3 "}, 3.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after": "0"}, 0.0),
    ],
)
def test_numeric_hints_are_seconds_and_ms_wins(headers: dict[str, str], seconds: float) -> None:
    assert parse_retry_after(headers, now=NOW) == seconds


def test_an_http_date_is_the_time_left_until_it() -> None:
    date = email.utils.formatdate(NOW + 42, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=NOW) == pytest.approx(42.0)


def test_an_http_date_in_the_past_means_no_wait() -> None:
    date = email.utils.formatdate(NOW - 600, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=NOW) == 0.0


@pytest.mark.parametrize("raw", ["", "soon", "-5", "inf", "nan", "1e999", "Wed, 99 Foo"])
def test_unusable_hints_are_no_hint(raw: str) -> None:
    assert parse_retry_after({"retry-after": raw}, now=NOW) is None


def test_no_header_is_no_hint() -> None:
    assert parse_retry_after({}, now=NOW) is None


@given(st.text(max_size=40), st.text(max_size=40))
def test_any_header_text_gives_none_or_a_finite_non_negative_wait(ms: str, raw: str) -> None:
    wait = parse_retry_after({"retry-after-ms": ms, "retry-after": raw}, now=NOW)
    assert wait is None or 0.0 <= wait < float("inf")


def test_the_wait_is_the_servers_when_there_is_no_backoff() -> None:
    assert backoff_delay(NO_BACKOFF, 1, 16.0) == 16.0


def test_the_wait_is_bounded_by_the_step_timeout() -> None:
    config = WorkflowConfig(backoff_base=0, step_timeout=5)
    assert backoff_delay(config, 1, 16.0) == 5.0


def test_the_wait_is_bounded_by_the_cap() -> None:
    assert backoff_delay(NO_BACKOFF, 1, 10_000.0) == RETRY_AFTER_CAP


def test_a_longer_backoff_wins_over_a_short_hint() -> None:
    config = WorkflowConfig(backoff_base=8, backoff_max=30, step_timeout=600)
    assert 4.0 <= backoff_delay(config, 1, 0.5) <= 8.0


def test_a_longer_hint_wins_over_a_short_backoff() -> None:
    config = WorkflowConfig(backoff_base=1, backoff_max=30, step_timeout=600)
    assert backoff_delay(config, 1, 16.0) == 16.0


def test_no_hint_leaves_the_backoff_alone() -> None:
    assert backoff_delay(NO_BACKOFF, 3, None) == 0.0


def test_a_resumed_run_waits_what_the_logged_failure_asked() -> None:
    logged = [
        WorkflowStarted(seq=1, task="t", config=NO_BACKOFF),
        StepStarted(seq=2, step="plan", attempt=1),
        StepFailed(
            seq=3,
            step="plan",
            attempt=1,
            error_kind="rate_limit",
            message="Claude rate limit reached",
            retryable=True,
            retry_after_s=16.0,
        ),
    ]
    assert next_action(workflow_state(logged)) == StartAttempt("plan", 2, 0, 16.0)
