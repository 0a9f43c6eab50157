"""Approving from the run page in a real browser (Playwright driving Chromium)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "browser tests need Chromium: apt-get install chromium (CI's .ci/run does)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Playwright: pip install -e '.[dev]'"
)
pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _workflow import FAST, scripted  # noqa: E402

from actors import Supervisor  # noqa: E402
from actors.viewer.serve import RunningViewer, start  # noqa: E402
from events import ApprovalDecided  # noqa: E402
from store import EventLog  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TOKEN = "browser-token-0123456789abcdef"
expect = sync_api.expect


@pytest.fixture
def root(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    gate = msgspec.structs.replace(FAST, approve=("plan",))
    assert Supervisor(gate, model=scripted()).run("a task", runs / "waits").waiting
    return runs


@pytest.fixture
def viewer(root: Path) -> Iterator[RunningViewer]:
    with start(root, token=TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == []


def test_a_person_approves_from_the_run_page(root: Path, viewer: RunningViewer, page: Any) -> None:
    page.goto(f"{viewer.url}/runs/waits?token={TOKEN}")
    assert page.url == f"{viewer.url}/runs/waits"  # the token left the address bar
    expect(page.locator("#decision-what")).to_contain_text("approve or reject the plan")
    page.fill("#decision-comment", "looks good")
    page.fill("#decision-by", "dora")
    page.click("#decision-approve")
    expect(page.locator("#decision-result")).to_contain_text("agentlog resume")
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
