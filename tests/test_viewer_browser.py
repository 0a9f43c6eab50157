"""The viewer in a real browser: Playwright driving the distribution's Chromium.

Set ``AGENTLOG_SCREENSHOTS=docs`` to also write the README's screenshots there.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import browser, expect, open_page  # noqa: F401 (browser: a fixture)
from _events import failed_run
from _runs import write_run
from _viewer import HOSTILE_TASK, RECORDED_SEQ, make_runs, write_hostile
from _workflow import FAST, scripted

from actors import Supervisor, what_if
from actors.models import ModelRequest, ModelResponse
from actors.viewer.serve import RunningViewer, start
from events import StepStarted, WorkflowStarted
from store import EventLog

SHOTS = os.environ.get("AGENTLOG_SCREENSHOTS")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runs(tmp_path_factory.mktemp("browser") / "runs")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 (the fixture from _browser)
    with open_page(browser, viewport={"width": 1400, "height": 900}) as tab:
        yield tab


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name))


def test_the_runs_list_shows_each_run(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/")
    demo = page.locator("tr[data-run='demo']")
    expect(demo).to_contain_text("completed")
    expect(demo).to_contain_text("approve")
    expect(page.locator("tr[data-run='demo-fork']")).to_contain_text("demo @ 12")
    shot(page, "ui-runs.png")


def test_model_text_in_the_list_stays_text(page: Any, root: Path, viewer: RunningViewer) -> None:
    write_hostile(root / "hostile")
    page.goto(viewer.url + "/")
    # The viewer shares one listing for half a second, so the new run may arrive with the
    # live stream's next listing (each second), as in test_the_runs_list_is_live.
    row = page.locator("tr[data-run='hostile'] .task-line")
    expect(row).to_have_text(HOSTILE_TASK, timeout=10_000)
    assert page.locator("#runs img").count() == 0
    assert page.title() != "pwned"


def test_the_runs_list_is_live(page: Any, root: Path, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/")
    expect(page.locator("#live")).to_have_text("● live")
    write_run(root / "newcomer", failed_run())
    expect(page.locator("tr[data-run='newcomer']")).to_contain_text("failed", timeout=10_000)


def test_a_run_opens_from_the_list(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/")
    page.click("tr[data-run='demo'] a")
    expect(page.locator("#run-id")).to_have_text("demo")
    expect(page.locator("#events li.event")).to_have_count(21)
    expect(page.locator("#facts")).to_contain_text("5,319")


def test_the_timeline_filters_by_step_and_type(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo")
    expect(page.locator("#events li.event")).to_have_count(21)
    page.check("input[name=step][value=code]")
    page.select_option("#type-filter", "ModelCalled")
    expect(page.locator("#events li.event")).to_have_count(2)
    expect(page.locator("#events li.event .seq")).to_have_text(["8", "15"])


def test_a_model_exchange_shows_request_response_and_artifact(
    page: Any, viewer: RunningViewer
) -> None:
    page.goto(viewer.url + "/runs/demo")
    page.click(f"#ev-{RECORDED_SEQ}")
    inspector = page.locator("#inspector")
    expect(inspector.locator(".role-system pre")).to_contain_text("Answer with submit_code")
    expect(inspector.locator(".request details pre")).to_contain_text("<b>markup from a log")
    expect(inspector.locator(".tool-use code").first).to_have_text("submit_code")
    expect(inspector.locator(".tool-use .file summary code")).to_have_text(
        ["wordfreq.py", "test_wordfreq.py"]
    )
    expect(inspector.locator(".became a")).to_have_text(f"#{RECORDED_SEQ + 1}")
    assert page.evaluate("document.querySelectorAll('#inspector b').length") == 0
    expect(page.locator("#facts")).to_contain_text("5,319")  # the overview has arrived
    shot(page, "ui-run.png")
    page.click("#ev-5")
    expect(inspector.locator(".request.missing")).to_contain_text("Request not recorded.")
    expect(inspector.locator(".plan-steps li")).to_have_count(3)


def test_the_code_tab_diffs_a_round_against_the_previous(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo#code")
    expect(page.locator(".round-picker button.chosen")).to_contain_text("round 1")
    expect(page.locator(".diff-head")).to_contain_text("previous round: 1 of 2 files changed")
    expect(page.locator("pre.diff .add")).to_have_text(
        ["+    counts = Counter(_WORD.findall(text.lower()))"]
    )
    shot(page, "ui-diff.png")
    page.click(".round-picker button >> nth=0")
    expect(page.locator(".diff-head")).to_contain_text("nothing (first version)")


def test_a_code_event_links_to_its_diff(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo#seq-9")
    page.click("#inspector a.to-diff")
    expect(page.locator(".round-picker button.chosen")).to_contain_text("round 0")
    expect(page.locator(".diff-head")).to_contain_text("nothing (first version)")


def test_a_deep_link_selects_its_event(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo#seq-12")
    expect(page.locator("#ev-12.selected")).to_be_visible()
    expect(page.locator("#inspector .inspector-head")).to_contain_text("ModelCalled")


def test_keys_move_the_inspected_event(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo#seq-5")
    expect(page.locator("#ev-5.selected")).to_be_visible()
    page.keyboard.press("j")
    expect(page.locator("#ev-6.selected")).to_be_visible()
    expect(page.locator("#inspector .inspector-head")).to_contain_text("PlanProduced")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("k")
    expect(page.locator("#ev-4.selected")).to_be_visible()
    assert page.evaluate("location.hash") == "#seq-4"


def test_failures_stats_and_forks_are_rendered(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo#failures")
    expect(page.locator("table.failures tbody tr")).to_contain_text(["overloaded"])
    page.click("#tabs a[data-tab=stats]")
    expect(page.locator("svg.chart")).to_have_count(3)
    page.click("#tabs a[data-tab=forks]")
    expect(page.locator(".fork-tree a")).to_have_text(["demo-fork", "#12", "compare"])
    page.click("#tabs a[data-tab=tests]")
    expect(page.locator(".card.test")).to_have_count(2)


class GatedModel:
    """A ScriptedModel whose Reviewer waits until the test opens the gate, so the page is
    surely open on a running run (a Model like any other: ``name`` and ``call``)."""

    def __init__(self, gate: threading.Event) -> None:
        self.inner = scripted()
        self.name = self.inner.name
        self.gate = gate

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        if request.step == "review":
            self.gate.wait(timeout)
        return self.inner.call(request, timeout=timeout)


def test_a_live_run_is_followed_to_completion(page: Any, root: Path, viewer: RunningViewer) -> None:
    run_dir = root / "live"
    gate = threading.Event()
    supervisor = Supervisor(FAST, model=GatedModel(gate))
    worker = threading.Thread(target=supervisor.run, args=("a live task", run_dir), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not (run_dir / "events.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        page.goto(viewer.url + "/runs/live")
        expect(page.locator("#live")).to_have_text("● live")
        expect(page.locator("#status")).to_have_text("running")
        expect(page.locator("#events li.type-WorkflowCompleted")).to_have_count(0)
    finally:
        gate.set()
    expect(page.locator("#events li.type-WorkflowCompleted")).to_have_count(1, timeout=20_000)
    expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#live")).to_have_text("● finished")
    worker.join(timeout=10)
    count = page.locator("#events li.event").count()
    assert count == len(list(EventLog(run_dir).read()))


def test_scrolling_a_long_run_loads_the_next_page(
    page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("long")
    events = [WorkflowStarted(seq=1, id="e1", ts="2026-01-01T00:00:00Z", task="long")]
    events += [
        StepStarted(seq=i, id=f"e{i}", ts="2026-01-01T00:00:01Z", step="plan", attempt=i)
        for i in range(2, 1001)
    ]
    write_run(root / "long", events)
    with start(root) as running:
        page.goto(running.url + "/runs/long")
        expect(page.locator("#events li.event")).to_have_count(200)
        expect(page.locator("#event-count")).to_contain_text("1,000 events in the log")
        page.locator(".timeline-pane").evaluate("pane => { pane.scrollTop = pane.scrollHeight; }")
        expect(page.locator("#events li.event")).to_have_count(400)
        page.goto(running.url + "/runs/long#seq-900")
        expect(page.locator("#ev-900.selected")).to_be_visible()
        expect(page.locator("#ev-1")).to_have_count(0)


def test_a_what_if_is_shown_as_one_of_its_source(
    page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("what-if")
    Supervisor(FAST, model=scripted()).run("write hello(name)", root / "source")
    what_if(root / "source", root / "strict", prompts={"reviewer": "Be strict.\n"}, live=scripted())
    with start(root) as running:
        page.goto(running.url + "/")
        expect(page.locator("tr[data-run='strict'] td.fork")).to_contain_text("what-if source @")
        page.goto(running.url + "/runs/strict")
        expect(page.locator("body")).to_contain_text("what-if of")
        page.goto(running.url + "/runs/source")
        page.click("#tabs a[data-tab=forks]")
        expect(page.locator(".fork-tree")).to_contain_text("completed what-if, shares events 1")


def test_a_phone_sized_window_does_not_scroll_sideways(browser: Any, viewer: RunningViewer) -> None:  # noqa: F811
    with open_page(browser, viewport={"width": 420, "height": 800}) as narrow:
        narrow.goto(viewer.url + "/runs/demo#stats")
        expect(narrow.locator("#tab-stats table")).to_be_visible()
        width = narrow.evaluate("document.documentElement.scrollWidth")
        assert width <= 420


def test_the_type_filter_offers_the_newer_event_types(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/runs/demo")
    options = page.locator("#type-filter option")
    expect(options.filter(has_text="ApprovalRequested")).to_have_count(1)
    expect(options.filter(has_text="FilesRequested")).to_have_count(1)
