"""One secret scrubber serves log records, events, model errors and test output."""

from __future__ import annotations

import pytest
from _workflow import KEY
from hypothesis import given
from hypothesis import strategies as st

from actors.logs import redact as logs_redact
from actors.models import scrub_secrets
from actors.secrets import MASK, redact

DEPLOY_KEY = "prod:" + "convexdeploykey0123456789"  # fake; split so it reads as no real key


def test_the_model_client_and_the_logs_share_the_scrubber() -> None:
    assert scrub_secrets is redact
    assert logs_redact is redact


def test_a_deploy_key_is_masked_in_a_model_error_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", DEPLOY_KEY)
    assert scrub_secrets(f"boom: {DEPLOY_KEY}") == f"boom: {MASK}"


def test_a_secret_given_explicitly_is_masked() -> None:
    assert redact("key=abcdefgh12345", extra=("abcdefgh12345",)) == f"key={MASK}"


def test_a_secret_containing_another_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "token-12345678")
    assert redact("x token-12345678-extra y", extra=("token-12345678-extra",)) == f"x {MASK} y"


@given(st.text(), st.text())
def test_a_key_shaped_token_never_survives(before: str, after: str) -> None:
    assert KEY not in redact(before + KEY + after)
