"""The compare page in a real browser: a what-if against its source, side by side."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import browser, expect, open_page  # noqa: F401 (browser: a fixture)
from _workflow import CHANGES, FAST, PLAN, answer, of_type, scripted

from actors import Supervisor, what_if
from actors.viewer.serve import RunningViewer
from events import Diverged

SHOTS = os.environ.get("AGENTLOG_SCREENSHOTS")
STRICT = "You are a strict reviewer.\n"
#: A run directory name, file name, plan and file content that would run script as HTML.
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
#: The figure names of the rows of the figures table, in order.
FIGURE_NAMES = "rows => rows.map(r => r.dataset.figure)"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``source``, ``strict`` (a what-if of it whose stricter Reviewer asks for changes)
    and a run named :data:`HOSTILE` whose plan and file are HTML."""
    root = tmp_path_factory.mktemp("compare-browser") / "runs"
    Supervisor(FAST, model=scripted()).run("write hello(name)", root / "source")
    live = scripted(review=[answer(CHANGES)])
    what_if(root / "source", root / "strict", prompts={"reviewer": STRICT}, live=live)
    hostile_plan = {**PLAN, "summary": HOSTILE}
    hostile_file = {"path": f"{HOSTILE}.py", "content": f"<script>{HOSTILE}</script>\n"}
    hostile_code = {"files": [hostile_file]}
    model = scripted(plan=[answer(hostile_plan)], code=[answer(hostile_code)])
    Supervisor(FAST, model=model).run("write hello(name)", root / HOSTILE)
    return root


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 (the fixture from _browser)
    with open_page(browser, viewport={"width": 1400, "height": 1000}) as tab:
        yield tab


def test_the_divergence_links_to_the_seq_in_each_run(
    page: Any, root: Path, viewer: RunningViewer
) -> None:
    (diverged,) = of_type(root / "strict", Diverged)
    page.goto(viewer.url + "/compare/source/strict")
    row = page.locator("#parting li.diverged")
    said = f"B's review request differs from A's at A seq {diverged.source_seq}"
    expect(row).to_contain_text(said)
    expect(row.locator("a")).to_have_text([f"B #{diverged.seq}", f"A #{diverged.source_seq}"])
    row.locator("a", has_text=f"A #{diverged.source_seq}").click()
    expect(page.locator("#run-id")).to_have_text("source")
    expect(page.locator(f"#ev-{diverged.source_seq}")).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator(f"#ev-{diverged.source_seq}")).to_contain_text("ModelCalled")
    page.go_back()
    page.locator("#parting li.diverged a", has_text=f"B #{diverged.seq}").click()
    expect(page.locator("#run-id")).to_have_text("strict")
    expect(page.locator(f"#ev-{diverged.seq}")).to_contain_text("Diverged")


def test_the_changed_setting_is_shown_with_both_values(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/compare/source/strict")
    row = page.locator("#settings tr[data-key='prompts.reviewer'] td")
    expect(row).to_have_text(["prompts.reviewer", "(built-in)", STRICT.strip()])


def test_the_figures_table_has_a_b_and_the_delta(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/compare/source/strict")
    verdict = page.locator("#figures tr[data-figure=verdict] td")
    expect(verdict).to_have_text(["verdict", "approve", "request_changes", ""])
    figures = page.locator("#figures tbody tr").evaluate_all(FIGURE_NAMES)
    for name in ("status", "tests", "revisions", "model_calls", "tool_calls", "output_tokens"):
        assert name in figures
    assert {"input_tokens", "cache_read_input_tokens", "tokens", "cost_usd", "wall_ms"} < set(
        figures
    )
    calls = page.locator("#figures tr[data-figure=model_calls] td")
    expect(calls).to_have_text(["model_calls", "3", "3", "0"])
    expect(page.locator("#sides tbody tr")).to_have_count(2)
    expect(page.locator("#plan")).to_have_text("The plans are the same.")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "ui-compare.png"), full_page=True)


def test_the_fork_trees_compare_links_open_the_compare_page(
    page: Any, viewer: RunningViewer
) -> None:
    page.goto(viewer.url + "/runs/source#forks")
    page.locator(".fork-tree a.compare-link").click()
    expect(page).to_have_url(viewer.url + "/compare/source/strict")
    expect(page.locator("#sides .run-link")).to_have_text(["source", "strict"])
    page.goto(viewer.url + "/runs/strict#forks")
    page.locator(".fork-tree a.compare-link").click()
    expect(page).to_have_url(viewer.url + "/compare/source/strict")
    expect(page.locator("#parting li.diverged")).to_be_visible()


def test_a_hostile_name_and_content_stay_text(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + f"/compare/source/{urllib.request.quote(HOSTILE, safe='')}")
    expect(page.locator("#sides .run-link")).to_have_text(["source", HOSTILE])
    paths = page.locator("#changes code.path")
    expect(paths).to_have_text([f"{HOSTILE}.py", "hello.py", "pkg/util.py"])
    expect(page.locator("#changes pre.diff").first).to_contain_text(f"+<script>{HOSTILE}</script>")
    expect(page.locator("#plan pre.diff")).to_contain_text(f"+summary: {HOSTILE}")
    assert page.locator("img, script:not([src])").count() == 0
    assert page.title() != "pwned"


def test_the_page_shows_the_servers_comparison(page: Any, viewer: RunningViewer) -> None:
    with urllib.request.urlopen(viewer.url + "/api/runs/source/compare/strict") as response:
        served = json.loads(response.read())
    page.goto(viewer.url + "/compare/source/strict")
    rows = page.locator("#figures tbody tr")
    expect(rows).to_have_count(len(served["figures"]))  # drawn once the page has its data
    shown = rows.evaluate_all(FIGURE_NAMES)
    assert shown == [f["name"] for f in served["figures"]]
