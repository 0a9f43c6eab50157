"""The viewer serves ``agentlog diff RUN_A RUN_B --json``'s comparison of two runs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _cli import cli
from _workflow import FAST, scripted

from actors import Supervisor, what_if
from actors.viewer.comparing import compared_runs
from actors.viewer.serve import RunningViewer

STRICT = "You are a strict reviewer.\n"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs directory with a run and a what-if of it with a stricter Reviewer."""
    root = tmp_path_factory.mktemp("viewer") / "runs"
    Supervisor(FAST, model=scripted()).run("write hello(name)", root / "source")
    what_if(root / "source", root / "strict", prompts={"reviewer": STRICT}, live=scripted())
    return root


def _get(viewer: RunningViewer, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(viewer.url + path, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_viewer_serves_the_comparison_the_cli_prints(viewer: RunningViewer, root: Path) -> None:
    status, body = _get(viewer, "/api/runs/source/compare/strict")
    assert status == 200, body
    served = json.loads(body)
    printed = json.loads(cli("diff", root / "source", root / "strict", "--json").stdout)
    for side in ("a", "b"):  # the run as each was given: a path here, the runs' own there
        assert Path(served[side].pop("run")).resolve() == Path(printed[side].pop("run")).resolve()
    assert served == printed
    assert served["lineage"]["diverged"]["step"] == "review"


def test_comparing_with_a_run_that_is_not_there_is_not_found(viewer: RunningViewer) -> None:
    status, body = _get(viewer, "/api/runs/source/compare/nothing")
    assert status == 404 and json.loads(body) == {"error": "run not found"}


def test_a_compare_pages_address_names_two_runs_whole_or_split_where_both_are() -> None:
    runs = {"before/hello#1": Path("b"), "after/hello#1": Path("a"), "before": Path("x")}
    encoded = "/compare/before%2Fhello%231/after%2Fhello%231"
    assert compared_runs(encoded, runs.get) == ("before/hello#1", "after/hello#1")
    typed = "/compare/before/hello%231/after/hello%231"
    assert compared_runs(typed, runs.get) == ("before/hello#1", "after/hello#1")
    assert compared_runs("/compare/before/nothing", runs.get) is None


def test_the_compare_page_is_served_for_two_runs_and_not_found_otherwise(
    viewer: RunningViewer,
) -> None:
    status, body = _get(viewer, "/compare/source/strict")
    assert status == 200 and b"compare.js" in body
    assert _get(viewer, "/compare/source/nothing")[0] == 404
