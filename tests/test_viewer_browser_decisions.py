"""Approving from the run page in a real browser (Playwright driving Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _browser import browser, expect, open_page  # noqa: F401 (browser: a fixture)
from _cli import write_script
from _workflow import FAST, scripted

from actors import Supervisor
from actors.viewer.serve import RunningViewer, start
from events import ApprovalDecided
from store import EventLog

TOKEN = "browser-token-0123456789abcdef"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run waiting at its plan gate; the run the viewer continues answers from a script."""
    monkeypatch.setenv("AGENTLOG_SCRIPT", str(write_script(tmp_path / "script.json")))
    runs = tmp_path / "runs"
    gate = msgspec.structs.replace(FAST, approve=("plan",))
    assert Supervisor(gate, model=scripted()).run("a task", runs / "waits").waiting
    return runs


@pytest.fixture
def viewer(root: Path) -> Iterator[RunningViewer]:
    with start(root, token=TOKEN) as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 (the fixture from _browser)
    with open_page(browser) as tab:
        yield tab


def test_a_person_approves_from_the_run_page(root: Path, viewer: RunningViewer, page: Any) -> None:
    page.goto(f"{viewer.url}/runs/waits?token={TOKEN}")
    assert page.url == f"{viewer.url}/runs/waits"  # the token left the address bar
    expect(page.locator("#decision-what")).to_contain_text("approve or reject the plan")
    page.fill("#decision-comment", "looks good")
    page.fill("#decision-by", "dora")
    page.click("#decision-approve")
    expect(page.locator("#decision-result")).to_contain_text("the run continues (process")
    expect(page.locator("#status")).to_contain_text("completed", timeout=60_000)
    decided = [e for e in EventLog(root / "waits").read() if isinstance(e, ApprovalDecided)]
    assert [(d.by, d.comment) for d in decided] == [("dora", "looks good")]


def test_without_the_token_the_page_shows_the_command_instead(
    viewer: RunningViewer, page: Any
) -> None:
    page.goto(f"{viewer.url}/runs/waits")
    expect(page.locator("#decision-what")).to_contain_text("Waiting for a person")
    expect(page.locator("#decision-approve")).to_be_visible()  # the form is there ...
    page.click("#decision-approve")  # ... but the server refuses a write without the token
    expect(page.locator("#decision-result")).to_contain_text("refused: no valid token")
