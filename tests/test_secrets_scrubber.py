"""One secret scrubber serves log records, events, model errors and test output."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import msgspec
import pytest
from _workflow import KEY
from hypothesis import given
from hypothesis import strategies as st

from actors.logs import redact as logs_redact
from actors.models import scrub_secrets
from actors.secrets import MASK, holds_secret, redact, redact_event
from events import StepFailed

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


def failed(message: str) -> StepFailed:
    return StepFailed(step="code", attempt=1, error_kind="x", message=message, retryable=False)


# Fake tokens of each known format, cut in two so that no scanner takes this file for a leak.
TOKENS = {
    "Anthropic": "sk-ant-" + "api03-abcdefghijklmnop",
    "OpenAI project": "sk-proj-" + "abcdefghijklmnopqrstuvwx",
    "OpenAI legacy": "sk-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "AWS access key id": "AKIA" + "ABCDEFGHIJKLMNOP",
    "AWS temporary key id": "ASIA" + "ABCDEFGHIJKLMNOP",
    "GitHub classic": "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "GitHub app": "ghs_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "GitHub fine-grained": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop",
    "GitLab": "glpat-" + "abcdefghij0123456789",
    "Slack": "xoxb-" + "123456789012-abcdefghij",
    "Google": "AIza" + "SyA-abcdefghijklmnopqrstuvwxyz01234",
    "Stripe": "sk_live_" + "abcdefghijklmnop0123",
    "npm": "npm_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "Hugging Face": "hf_" + "abcdefghijklmnopqrstuvwxyz01234567",
}
PEM = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakefakefake\nZm9vYmFy\n"
    "-----END RSA " + "PRIVATE KEY-----"
)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzzzzzzzzzz"  # 40 characters


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
def test_a_known_token_format_is_masked(token: str) -> None:
    assert redact(f"config: {token}\n") == f"config: {MASK}\n"


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
def test_a_known_token_at_a_line_start_inside_json_is_masked(token: str) -> None:
    event = failed(f"a\n{token}\nb")
    assert redact_event(event).message == f"a\n{MASK}\nb"


def test_an_aws_secret_key_after_its_name_is_masked_and_the_name_kept() -> None:
    text = f"[default]\naws_secret_access_key = {AWS_SECRET}\n"
    assert redact(text) == f"[default]\naws_secret_access_key = {MASK}\n"
    assert redact(f'{{"SecretAccessKey": "{AWS_SECRET}"}}') == f'{{"SecretAccessKey": "{MASK}"}}'


def test_a_private_key_block_is_masked_whole_even_inside_json() -> None:
    assert redact(f"key:\n{PEM}\nend") == f"key:\n{MASK}\nend"
    event = failed(f"see {PEM} here")
    assert redact_event(event).message == f"see {MASK} here"


def test_a_private_key_cut_short_is_masked_to_the_end_of_its_string() -> None:
    event = failed(PEM[:60])
    assert redact_event(event).message == MASK


@pytest.mark.parametrize(
    "text",
    [
        "task-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCD",  # sk- inside a word
        "risk-assessment-of-the-deployment-pipeline-stage",
        "See the AWS docs on access keys and secret access keys.",
        "aws_secret_access_key = <your secret key here>",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----",
        "sha256: " + "ab" * 32,
    ],
)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_a_variable_named_like_a_secret_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENTS_API_TOKEN", "pay-0123456789-secret")
    monkeypatch.setenv("DB_PASSWORD", "correct horse battery")
    text = "token pay-0123456789-secret, password correct horse battery"
    assert redact(text) == f"token {MASK}, password {MASK}"


def test_other_variables_and_short_values_are_not_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR_THEME_NAME", "solarized-dark-high")
    monkeypatch.setenv("TINY_TOKEN", "abc1234")
    text = "theme solarized-dark-high, code abc1234"
    assert redact(text) == text


ENV_SECRET = "env-Secret/value+42!"


def _encodings(value: bytes) -> dict[str, str]:
    out = {}
    for shift, before in enumerate((b"", b"x", b"xy")):
        blob = before + value + b" and more"
        out[f"base64 at {shift}"] = base64.b64encode(blob).decode()
        out[f"base64url at {shift}"] = base64.urlsafe_b64encode(blob).decode()
    out["hex"] = value.hex()
    out["HEX"] = value.hex().upper()
    out["URL-encoded"] = quote(value.decode(), safe="")
    out["form-encoded"] = quote_plus(value.decode())
    out["JSON-escaped"] = json.dumps(value.decode())[1:-1]
    return out


@pytest.mark.parametrize(
    ("name", "encoded"),
    [(k, v) for k, v in _encodings(ENV_SECRET.encode()).items()],
)
def test_an_environment_secret_is_masked_in_its_encodings(
    monkeypatch: pytest.MonkeyPatch, name: str, encoded: str
) -> None:
    monkeypatch.setenv("SERVICE_SECRET", ENV_SECRET)
    line = msgspec.json.encode(failed(encoded))
    assert holds_secret(line)
    clean = redact(f"<{encoded}>")
    assert MASK in clean
    for form in _encodings(ENV_SECRET.encode()).values():
        assert form not in clean


def test_a_secret_with_quotes_is_masked_in_an_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTED_TOKEN", 'ab"cd\\ef"gh')
    event = failed('x ab"cd\\ef"gh y')
    assert redact_event(event).message == f"x {MASK} y"


@given(st.text(max_size=200), st.sampled_from(sorted(TOKENS.values())), st.text(max_size=50))
def test_the_fast_path_never_misses_what_the_scrubber_masks(
    before: str, token: str, after: str
) -> None:
    text = before + token + after
    if redact(text) != text:
        assert holds_secret(text.encode("utf-8", "surrogatepass"))


def test_a_secret_variable_that_changes_is_masked_with_its_new_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROTATING_TOKEN", "short")
    assert redact("value rotated-0123456789") == "value rotated-0123456789"
    monkeypatch.setenv("ROTATING_TOKEN", "rotated-0123456789")
    assert redact("value rotated-0123456789") == f"value {MASK}"


def test_the_auth_token_variable_is_masked_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok-abcdefgh12345678")
    assert redact("Authorization: Bearer tok-abcdefgh12345678") == f"Authorization: Bearer {MASK}"


def test_a_secret_variable_taking_the_place_of_another_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLAIN_SETTING_FOR_SWAP", "some ordinary value")
    assert redact("value swapped-0123456789") == "value swapped-0123456789"  # forms known
    monkeypatch.delenv("PLAIN_SETTING_FOR_SWAP")  # as many variables as before, one new
    monkeypatch.setenv("SWAPPED_IN_TOKEN", "swapped-0123456789")
    assert redact("value swapped-0123456789") == f"value {MASK}"
