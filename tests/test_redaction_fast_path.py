"""The log writer masks secrets as it encodes: a clean event is written as it is, once."""

from __future__ import annotations

import base64
from pathlib import Path

import msgspec
import pytest

from actors.secrets import MASK, holds_secret, redact_event, scrub_line
from events import StepFailed, WorkflowStarted
from store import EventLog

KEY = "not-a-real-key-0123456789"


def test_a_clean_event_comes_back_as_the_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    event = WorkflowStarted(task="add a greeting module")
    assert redact_event(event) is event
    assert not holds_secret(msgspec.json.encode(event))


def test_an_event_quoting_the_key_is_masked_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    failed = StepFailed(
        step="plan", attempt=1, error_kind="auth", message=f"bad key {KEY}", retryable=False
    )
    with EventLog(tmp_path).writer() as writer:
        (written,) = writer.append_many([failed], scrub=scrub_line)
    assert written.message == f"bad key {MASK}"
    text = (tmp_path / "events.jsonl").read_text()
    assert KEY not in text and MASK in text


def test_the_writer_stamps_extra_fields_with_seq(tmp_path: Path) -> None:
    with EventLog(tmp_path).writer() as writer:
        (written,) = writer.append_many(
            [WorkflowStarted(task="t")], stamp={"workflow_id": "wf-x"}, scrub=scrub_line
        )
    assert (written.seq, written.workflow_id) == (1, "wf-x")
    (read,) = EventLog(tmp_path).read()
    assert read == written


def test_an_encoded_secret_and_a_known_token_are_masked_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLING_API_TOKEN", KEY)
    encoded = base64.b64encode(b"user:" + KEY.encode()).decode()
    token = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789"  # fake, cut in two
    failed = StepFailed(
        step="plan", attempt=1, error_kind="x", message=f"{encoded} {token}", retryable=False
    )
    with EventLog(tmp_path).writer() as writer:
        (written,) = writer.append_many([failed], scrub=scrub_line)
    text = (tmp_path / "events.jsonl").read_text()
    assert encoded[4:-4] not in text and token not in text
    assert written.message.count(MASK) == 2
