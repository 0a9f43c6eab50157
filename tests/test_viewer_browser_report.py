"""The report page in a real browser: two evaluations' intervals, scatter, flips and table."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import browser, expect, open_page  # noqa: F401 (browser: a fixture)
from _reports import HOSTILE_TASK, two_evaluations

from actors.viewer.serve import RunningViewer, start

SHOTS = os.environ.get("AGENTLOG_SCREENSHOTS")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_evaluations(tmp_path_factory.mktemp("report-browser") / "evals")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811 (the fixture from _browser)
    with open_page(browser, viewport={"width": 1400, "height": 1000}) as tab:
        yield tab


def compare(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/report?dir=before&dir2=after")
    expect(page.locator("#report")).to_be_visible()


def test_each_evaluation_has_its_pass_rate_and_interval_marks(
    page: Any, viewer: RunningViewer
) -> None:
    compare(page, viewer)
    marks = page.locator("#ci-chart .ci-mark")
    expect(marks).to_have_count(2)
    for i, rate in ((0, "33.3%"), (1, "66.7%")):  # before: hello; after: hi and the copy
        mark = marks.nth(i)
        expect(mark.locator("line.ci-bar")).to_have_count(1)
        expect(mark.locator("line.ci-cap")).to_have_count(2)
        expect(mark.locator("circle.ci-point")).to_have_count(1)
        expect(mark.locator("title")).to_contain_text(f"{rate}, 95% CI")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "ui-report.png"), full_page=True)


def test_the_scatter_has_a_point_per_evaluation_and_per_task(
    page: Any, viewer: RunningViewer
) -> None:
    compare(page, viewer)
    expect(page.locator("#scatter .point-evaluation")).to_have_count(2)
    expect(page.locator("#scatter circle.point-task")).to_have_count(6)
    expect(page.locator("#scatter .point-evaluation").first).to_contain_text("before")


def test_a_flip_links_to_the_run_in_each_evaluation(page: Any, viewer: RunningViewer) -> None:
    compare(page, viewer)
    flip = page.locator("#flips li.flip-regressed")
    expect(flip.locator(".task-id")).to_have_text("hello")
    expect(flip.locator("a.run-link")).to_have_text(["before: hello#1", "after: hello#1"])
    flip.locator("a.run-link", has_text="after: hello#1").click()
    expect(page.locator("#run-id")).to_have_text("after/hello#1")
    expect(page.locator("#status")).to_contain_text("completed")
    page.go_back()
    page.locator("#flips li.flip-regressed a.run-link", has_text="before: hello#1").click()
    expect(page.locator("#run-id")).to_have_text("before/hello#1")


def test_a_flips_compare_link_opens_the_compare_page_of_its_two_runs(
    page: Any, viewer: RunningViewer
) -> None:
    compare(page, viewer)
    page.locator("#flips li.flip-regressed a.compare-link").click()
    expect(page).to_have_url(viewer.url + "/compare/before%2Fhello%231/after%2Fhello%231")
    expect(page.locator("#sides .run-link")).to_have_text(["before/hello#1", "after/hello#1"])
    expect(page.locator("#changes code.path")).to_have_text(["hello.py", "pkg/util.py"])
    expect(page.locator("#changes pre.diff").first).to_contain_text("+    return 'hi ' + name")
    expect(page.locator("#figures tr[data-figure=status] td")).to_have_text(
        ["status", "completed", "completed", ""]
    )


def test_the_table_has_a_row_per_task_and_the_totals(page: Any, viewer: RunningViewer) -> None:
    compare(page, viewer)
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#tasks tbody tr.flip-fixed")).to_have_count(2)
    expect(page.locator("#tasks tfoot tr")).to_contain_text("1/3")
    expect(page.locator("#totals tbody tr")).to_have_count(2)
    expect(page.locator("#mcnemar")).to_contain_text("2 fixed, 1 regressed; McNemar exact p = 1")


def test_a_hostile_task_id_stays_text(page: Any, viewer: RunningViewer) -> None:
    compare(page, viewer)
    expect(page.locator("#tasks tbody td.task-id").first).to_have_text(HOSTILE_TASK)
    expect(page.locator("#flips .task-id").first).to_have_text(HOSTILE_TASK)
    page.locator("#flips a.run-link", has_text=f"after: {HOSTILE_TASK}#1").click()
    expect(page.locator("#run-id")).to_have_text(f"after/{HOSTILE_TASK}#1")
    assert page.locator("img").count() == 0
    assert page.title() != "pwned"


def test_the_runs_list_links_each_evaluation_to_its_report(
    page: Any, viewer: RunningViewer
) -> None:
    page.goto(viewer.url + "/")
    expect(page.locator("#evals a.report-link")).to_have_text(["after (3 runs)", "before (3 runs)"])
    page.locator("#evals a.report-link", has_text="before").click()
    expect(page.locator("#which")).to_have_text("before")
    page.select_option("#pick-second", "after")
    expect(page.locator("#which")).to_have_text("before  vs  after")
    expect(page.locator("#ci-chart .ci-mark")).to_have_count(2)


def test_one_evaluation_has_its_interval_and_no_flips(page: Any, viewer: RunningViewer) -> None:
    page.goto(viewer.url + "/report?dir=after")
    expect(page.locator("#report")).to_be_visible()
    expect(page.locator("#ci-chart .ci-mark")).to_have_count(1)
    expect(page.locator("#scatter .point-evaluation")).to_have_count(1)
    expect(page.locator("#comparison")).to_be_hidden()
    expect(page.locator("#tasks thead tr").first).not_to_contain_text("Flip")


def test_a_directory_without_evaluations_says_how_to_make_one(page: Any, tmp_path: Path) -> None:
    with start(tmp_path) as empty:
        page.goto(empty.url + "/report")
        expect(page.locator("#error")).to_contain_text("No evaluation under")
        expect(page.locator("#report")).to_be_hidden()
