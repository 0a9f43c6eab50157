"""The viewer's browser tests: Playwright driving the system's Chromium.

Importing this skips the importing test module, with one line saying how to enable it,
when Chromium, Playwright or the viewer's extra is missing. ``browser`` is a module-scoped
fixture; ``open_page`` gives a fresh context's tab and fails on any page error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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

#: Chromium flags for a closed network (no background requests) and a root user.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@contextmanager
def open_page(browser: Any, **context: Any) -> Iterator[Any]:
    """A tab in a new browser context; any JavaScript error on the page fails the test."""
    ctx = browser.new_context(**context)
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    ctx.close()
    assert errors == []
