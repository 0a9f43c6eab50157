"""The runs list's cache: one file per listed directory, keyed by each log, never trusted."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import msgspec
import pytest
from _events import completed_run, failed_run, forked_run
from _runs import append_lines, write_run

from actors.cli import main
from actors.viewer import CACHE_NAME, list_runs
from events import WorkflowStarted, encode_line


def ls_json(root: Path, *extra: str) -> dict[str, dict[str, object]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["ls", str(root), "--json", *extra]) == 0
    return {run["id"]: run for run in json.loads(out.getvalue())}


def files_under(root: Path) -> set[Path]:
    return {Path(d, f) for d, _, names in os.walk(root) for f in names}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A runs directory: one completed, one failed, one interrupted, one fork."""
    root = tmp_path / "runs"
    write_run(root / "done", completed_run())
    write_run(root / "broke", failed_run())
    write_run(root / "cut", completed_run()[:6])
    write_run(root / "fork", forked_run(at_seq=4))
    return root


@pytest.mark.parametrize("count", [1, 40])
def test_a_cold_listing_creates_one_file_however_many_runs(tmp_path: Path, count: int) -> None:
    root = tmp_path / "runs"
    for i in range(count):
        write_run(root / f"run-{i:02d}", completed_run())
    before = files_under(root)
    assert len(list_runs(root)) == count
    assert files_under(root) - before == {root / CACHE_NAME}


def test_a_run_growing_line_by_line_is_listed_as_a_fresh_read_shows_it(runs: Path) -> None:
    rest = b"".join(encode_line(ev) for ev in completed_run()[6:])
    for cut in (1, 40, len(rest) // 2, len(rest) - 1, len(rest)):  # torn lines, then whole
        write_run(runs / "cut", completed_run()[:6], extra=[rest[:cut]])
        assert ls_json(runs)["cut"] == ls_json(runs, "--no-cache")["cut"]
    assert ls_json(runs)["cut"]["status"] == "completed"


def test_a_log_rewritten_at_the_same_size_is_folded_again(runs: Path) -> None:
    first, *rest = completed_run()
    assert isinstance(first, WorkflowStarted) and first.task == "add a greeting module"
    ls_json(runs)
    write_run(runs / "done", [msgspec.structs.replace(first, task="add a farewell module"), *rest])
    assert ls_json(runs)["done"]["task"] == "add a farewell module"


def test_a_run_that_ended_and_goes_on_is_folded_again(runs: Path) -> None:
    ls_json(runs)
    tail = forked_run(at_seq=len(completed_run()))[len(completed_run()) :]
    append_lines(runs / "done", [encode_line(ev) for ev in tail])
    assert ls_json(runs)["done"] == ls_json(runs, "--no-cache")["done"]


def test_runs_gone_since_the_last_listing_leave_the_cache(runs: Path) -> None:
    ls_json(runs)
    shutil.rmtree(runs / "broke")
    ls_json(runs)
    assert set(json.loads((runs / CACHE_NAME).read_bytes())["runs"]) == {"done", "cut", "fork"}


GARBAGE = {
    "bytes": b"\x00\xff\xfe not json",
    "json of another shape": b'{"version": 3, "runs": {"done": {"key": "x"}}}',
    "another version": b'{"version": 2, "runs": {}}',
    "deep nesting": b"[" * 100_000,
    "a fold that is not one": json.dumps(
        {
            "version": 3,
            "runs": {
                "cut": {
                    "key": [0, 0, 1, 0],
                    "state": {
                        "mark": {"offset": 5, "tail": "zz"},
                        "shown": {
                            "workflow_id": "w",
                            "status": "running",
                            "verdict": None,
                            "task": "forged",
                            "forked_from": None,
                            "error": None,
                        },
                        "events": -7,
                    },
                    "fold": {"steps": 1},
                }
            },
        }
    ).encode(),
}


@pytest.mark.parametrize("garbage", list(GARBAGE.values()), ids=list(GARBAGE))
def test_a_garbled_cache_is_ignored_and_rebuilt(runs: Path, garbage: bytes) -> None:
    (runs / CACHE_NAME).write_bytes(garbage)
    assert ls_json(runs) == ls_json(runs, "--no-cache")
    rebuilt = json.loads((runs / CACHE_NAME).read_bytes())
    assert (rebuilt["version"], set(rebuilt["runs"])) == (3, {"done", "broke", "cut", "fork"})


def test_a_cache_that_is_a_link_is_not_followed(runs: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(b"not ours")
    (runs / CACHE_NAME).symlink_to(elsewhere)
    assert ls_json(runs) == ls_json(runs, "--no-cache")
    assert elsewhere.read_bytes() == b"not ours"
    assert not (runs / CACHE_NAME).is_symlink()


def test_a_cached_fold_that_is_not_one_is_folded_again(runs: Path) -> None:
    ls_json(runs)
    cache = json.loads((runs / CACHE_NAME).read_bytes())
    cache["runs"]["cut"]["fold"] = {"steps": "forged"}
    (runs / CACHE_NAME).write_text(json.dumps(cache))
    append_lines(runs / "cut", [encode_line(ev) for ev in completed_run()[6:8]])
    assert ls_json(runs)["cut"] == ls_json(runs, "--no-cache")["cut"]
    assert isinstance(
        json.loads((runs / CACHE_NAME).read_bytes())["runs"]["cut"]["fold"]["steps"], dict
    )


def test_a_directory_holding_more_than_runs_is_listed_without_writing_to_it(
    runs: Path,
) -> None:
    (runs / "notes.txt").write_text("someone's file")
    before = files_under(runs)
    assert ls_json(runs) == ls_json(runs, "--no-cache")
    assert files_under(runs) == before
