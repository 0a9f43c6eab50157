"""The viewer's report endpoint: exactly ``agentlog report --json``, for directories under
its root only."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _reports import HOSTILE_TASK, two_evaluations
from _viewer import SAMPLE

from actors.cli import main

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from actors.viewer.serve import RunningViewer, start


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``evals`` (before, after) beside ``outside``, an evaluation the viewer must not read."""
    evals = two_evaluations(tmp_path_factory.mktemp("report") / "evals")
    shutil.copytree(evals / "after", evals.parent / "outside")
    return evals


def _get(url: str, path: str, **params: str) -> tuple[int, Any]:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    try:
        with urllib.request.urlopen(url + path + query, timeout=30) as response:
            body = response.read()
            kind = response.headers.get("content-type", "")
            return response.status, json.loads(body) if "json" in kind else body
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _cli_json(capsys: pytest.CaptureFixture[str], *dirs: Path) -> object:
    assert main(["report", *map(str, dirs), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_report_endpoint_is_report_json_of_two_evaluations(
    root: Path, viewer: RunningViewer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, served = _get(viewer.url, "/api/report", dir="before", dir2="after")
    assert status == 200
    assert served == _cli_json(capsys, root / "before", root / "after")
    assert served["comparison"]["fixed"] == sorted([HOSTILE_TASK, "hi"])


def test_the_report_endpoint_is_report_json_of_one_evaluation(
    root: Path, viewer: RunningViewer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _get(viewer.url, "/api/report", dir="after") == (200, _cli_json(capsys, root / "after"))


def test_a_viewer_started_on_an_evaluation_reports_it_as_dot(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with start(root / "before") as running:
        served = _get(running.url, "/api/report")
        listed = _get(running.url, "/api/evaluations")[1]["evaluations"]
    assert served == (200, _cli_json(capsys, root / "before"))
    assert listed == [{"dir": ".", "runs": 3}]


def test_the_evaluations_under_the_root_are_listed(viewer: RunningViewer) -> None:
    listed = _get(viewer.url, "/api/evaluations")[1]["evaluations"]
    assert listed == [{"dir": "after", "runs": 3}, {"dir": "before", "runs": 3}]


@pytest.mark.parametrize("name", ["..", "../outside", "before/hi#1", ".hidden", "/etc", "nowhere"])
def test_a_directory_outside_the_root_or_not_there_is_refused(
    viewer: RunningViewer, name: str
) -> None:
    status, served = _get(viewer.url, "/api/report", dir=name)
    assert status == 400
    assert "no evaluation directory" in served["error"]


def test_a_directory_without_runs_is_a_404_naming_it(root: Path, viewer: RunningViewer) -> None:
    (root / "empty").mkdir(exist_ok=True)
    status, served = _get(viewer.url, "/api/report", dir="empty")
    assert status == 404
    assert "no runs in this directory" in served["error"]


def test_a_run_of_a_child_evaluation_has_its_page_and_data(viewer: RunningViewer) -> None:
    assert _get(viewer.url, "/runs/after%2Fhi%231")[0] == 200
    status, overview = _get(viewer.url, "/api/runs/after%2Fhi%231/overview")
    assert status == 200
    assert overview["summary"]["status"] == "completed"


@pytest.mark.parametrize(
    "run_id", ["..%2Foutside%2Fhi%231", "after%2F..%2F..%2Foutside%2Fhi%231", "after%2F.x"]
)
def test_a_run_id_never_leaves_the_root(viewer: RunningViewer, run_id: str) -> None:
    assert _get(viewer.url, f"/api/runs/{run_id}/overview")[0] == 404


def test_a_directory_of_runs_not_named_as_samples_is_not_listed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(SAMPLE, runs / "demo")
    with start(runs) as running:
        assert _get(running.url, "/api/evaluations")[1]["evaluations"] == []
        assert _get(running.url, "/api/report")[1]["first"]["runs"] == 1
