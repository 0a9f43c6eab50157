"""The Loop tab and the fork command in a real browser (Playwright, system Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import browser, expect, open_page  # noqa: F401 (browser: a fixture)
from _loop_run import make_loop_run
from _viewer import make_runs

from actors.viewer.serve import RunningViewer


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("browser-loop")
    runs = make_runs(base / "runs")
    make_loop_run(runs / "loop", base / "workspace")
    return runs


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 (the fixture from _browser)
    with open_page(browser, viewport={"width": 1400, "height": 900}) as tab:
        yield tab


def test_the_loop_tab_shows_the_transcript_turn_by_turn(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/loop#loop")
    pane = page.locator("#tab-loop")
    expect(pane).to_be_visible()
    expect(pane.locator("h2.loop-attempt")).to_have_text(
        ["plan · attempt 1", "code · attempt 1", "review · attempt 1"]
    )
    expect(pane.locator(".loop-turn")).to_have_count(8)
    expect(pane.locator(".loop-thinking").first).to_have_text("Where is top_words defined?")
    names = pane.locator(".loop-call .tool-name")
    expect(names).to_have_text(
        ["submit", "read_file", "edit_file", "run_command", "edit_file", "run_command",
         "submit", "submit"]
    )  # fmt: skip


def test_a_tool_call_shows_its_result_and_the_diff_it_made(
    page: Any, viewer: RunningViewer
) -> None:
    page.goto(viewer.url + "/runs/loop#loop")
    calls = page.locator("#tab-loop .loop-call")
    failing = calls.filter(has=page.locator(".tool-name", has_text="run_command")).first
    expect(failing.locator(".loop-result")).to_contain_text("→ exit 1, 1 failed, 2 passed")
    expect(failing).to_have_class("loop-call bad")
    expect(failing.locator("pre.output")).to_contain_text("FAILED (failures=1)")
    edit = calls.filter(has=page.locator(".tool-name", has_text="edit_file")).first
    expect(edit.locator(".diff-file code")).to_have_text("wordfreq.py")
    expect(edit.locator(".diff .line.add").first).to_contain_text("ranked = sorted(")
    expect(edit.locator(".diff .line.del")).to_have_text(["-    return counts.most_common(n)"])


def test_a_run_without_a_loop_says_so(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo#loop")
    expect(page.locator("#tab-loop")).to_contain_text("No agent loop")


def test_the_inspector_gives_the_fork_command_of_the_event(
    page: Any, root: Path, viewer: RunningViewer
) -> None:
    page.goto(viewer.url + "/runs/loop#seq-12")
    run = root / "loop"
    expect(page.locator("#inspector .fork-command")).to_have_text(
        f"agentlog fork {run} --at 12 --run-dir {run}-fork-12"
    )


def test_a_seq_link_in_the_transcript_opens_the_event(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/loop#loop")
    call = page.locator("#tab-loop .loop-call").nth(3)  # the first run_command
    call.locator(".loop-call-head .seq-link").click()
    expect(page.locator("#inspector .inspector-head .etype")).to_have_text("ToolCalled")
    expect(page.locator("#inspector .fork-command")).to_contain_text("--at ")


def test_the_stats_tab_shows_tool_calls_and_cache_share(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/loop#stats")
    code = page.locator("#tab-stats table.stats tbody tr").filter(has_text="code")
    expect(code.locator("td.tool-calls")).to_have_text("6")
    expect(code.locator("td.cache-share")).to_have_text(re.compile(r"^\d+%$"))
