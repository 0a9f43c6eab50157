"""``agentlog ls``: one line per run, from the log's tail and a cache, never the whole log."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from _events import completed_run, failed_run, forked_run, stamp, ts_at
from _runs import append_lines, raw_line, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.cli import main
from actors.cli.ls_cmd import terminal_safe
from actors.viewer import CACHE_NAME, list_runs
from events import Event, RetryRequested, WorkflowStarted, encode_line
from store import EventLog, workflow_state


def ls(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["ls", *args])
    return code, out.getvalue(), err.getvalue()


def ls_json(root: Path, *extra: str) -> dict[str, dict[str, object]]:
    code, out, _ = ls(str(root), "--json", *extra)
    assert code == 0
    return {run["id"]: run for run in json.loads(out)}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A runs directory: one completed, one failed, one interrupted, one fork."""
    root = tmp_path / "runs"
    write_run(root / "done", completed_run())
    write_run(root / "broke", failed_run())
    write_run(root / "cut", completed_run()[:6])
    write_run(root / "fork", forked_run(at_seq=4))
    (root / "not-a-run").mkdir()
    return root


def test_lists_every_run_with_its_status_verdict_and_totals(runs: Path) -> None:
    found = ls_json(runs)
    assert sorted(found) == ["broke", "cut", "done", "fork"]
    done = found["done"]
    assert (done["status"], done["verdict"], done["task"]) == (
        "completed",
        "approve",
        "add a greeting module",
    )
    assert done["events"] == len(completed_run())
    assert done["tokens"] == 100 + 50 + 100 + 50 + 100 + 400 + 100 + 50 + 30
    assert done["started"] == ts_at(1)
    assert done["duration_s"] == len(completed_run()) - 1
    assert found["broke"]["status"] == "failed"
    assert found["broke"]["error"] == "code: api_error: code failed: 400 bad"


def test_a_run_without_final_event_and_writer_is_interrupted(runs: Path) -> None:
    assert ls_json(runs)["cut"]["status"] == "interrupted"


def test_a_run_whose_log_has_a_writer_is_running(runs: Path) -> None:
    with EventLog(runs / "cut").writer():
        assert ls_json(runs)["cut"]["status"] == "running"
    assert ls_json(runs)["cut"]["status"] == "interrupted"


def retried(events: list[Event]) -> list[Event]:
    return stamp([*events, RetryRequested(reason="key fixed")])


def test_a_failed_run_retried_is_interrupted_as_resume_sees_it_not_failed(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "retried", retried(failed_run()))
    assert workflow_state(EventLog(run).read()).status == "running"  # resume continues it
    assert ls_json(tmp_path / "runs")["retried"]["status"] == "interrupted"


def test_a_retry_appended_after_a_cached_listing_reopens_the_run(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "retried", failed_run())
    assert ls_json(tmp_path / "runs")["retried"]["status"] == "failed"
    append_lines(run, [encode_line(retried(failed_run())[-1])])
    assert ls_json(tmp_path / "runs")["retried"]["status"] == "interrupted"


def test_a_run_asking_a_person_is_waiting(runs: Path) -> None:
    ask = {
        "type": "ApprovalRequested",
        "seq": 7,
        "id": "x",
        "ts": ts_at(7),
        "step": "plan",
        "digest": "sha256:" + "0" * 64,
    }
    append_lines(runs / "cut", [raw_line(ask)])
    assert ls_json(runs)["cut"]["status"] == "waiting"


def test_a_fork_names_its_parent_and_the_shared_seq(runs: Path) -> None:
    fork = ls_json(runs)["fork"]
    assert fork["forked_from"] == {
        "source": "/runs/original/events.jsonl",
        "source_workflow_id": "wf-test",
        "at_seq": 4,
    }
    assert fork["workflow_id"] == "wf-fork"
    assert fork["task"] == "add a farewell module instead"


def test_a_failure_the_run_recovered_from_is_no_error(runs: Path) -> None:
    assert ls_json(runs)["done"]["error"] is None
    assert ls_json(runs)["cut"]["error"] is None


def test_a_damaged_line_is_reported_with_its_number(runs: Path) -> None:
    log = runs / "done" / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"attempt":1', b'"attempt":7', 1)
    log.write_bytes(b"".join(lines))
    done = ls_json(runs)["done"]
    assert (done["status"], done["damaged_line"], done["events"]) == ("damaged", 3, 2)


def test_a_mended_line_is_read_again(runs: Path) -> None:
    log = runs / "done" / "events.jsonl"
    good = log.read_bytes()
    log.write_bytes(good.replace(b'"attempt":1', b'"attempt":7', 1))
    assert ls_json(runs)["done"]["status"] == "damaged"
    log.write_bytes(good)
    assert ls_json(runs)["done"]["status"] == "completed"


def test_the_table_has_a_header_and_a_line_per_run(runs: Path) -> None:
    code, out, _ = ls(str(runs))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 5
    assert lines[0].split()[:3] == ["RUN", "STATUS", "VERDICT"]
    assert any(line.startswith("fork ") and "original@4" in line for line in lines)


def test_model_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    task = "evil\x1b]0;pwned\x07 \x1b[2Jtask\u202e"
    write_run(tmp_path / "r", [WorkflowStarted(seq=1, id="a", ts=ts_at(1), task=task)])
    code, out, _ = ls(str(tmp_path))
    assert code == 0 and "\x1b" not in out and "\u202e" not in out
    assert "evil\\u001b]0;pwned\\u0007 \\u001b[2Jtask\\u202e" in out


def test_terminal_safe_keeps_ordinary_text() -> None:
    assert terminal_safe("naïve  café\ttâche 日本") == "naïve café tâche 日本"


def test_a_directory_that_is_a_run_lists_itself(runs: Path) -> None:
    assert list(ls_json(runs / "done")) == ["done"]


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = ls(str(tmp_path / "nope"))
    assert code == 2 and "no such directory" in err


def test_an_empty_directory_says_so(tmp_path: Path) -> None:
    code, out, _ = ls(str(tmp_path))
    assert code == 0 and "no runs under" in out


def test_the_cache_is_one_file_in_the_listed_directory_and_used_again(runs: Path) -> None:
    (runs / "not-a-run").rmdir()
    first = ls_json(runs)
    assert (runs / CACHE_NAME).is_file()
    assert not (runs / "done" / CACHE_NAME).exists()
    assert ls_json(runs) == first


def test_appended_events_are_folded_into_the_cached_summary(runs: Path) -> None:
    ls_json(runs)
    tail = completed_run()[6:]
    append_lines(runs / "cut", [encode_line(ev) for ev in tail])
    assert ls_json(runs)["cut"] == {**ls_json(runs, "--no-cache")["cut"]}
    assert ls_json(runs)["cut"]["status"] == "completed"


def test_a_replaced_log_rebuilds_the_cache(runs: Path) -> None:
    ls_json(runs)
    write_run(runs / "done", failed_run())
    assert ls_json(runs)["done"]["status"] == "failed"


@contextlib.contextmanager
def unwritable(directory: Path) -> Iterator[None]:
    """``directory`` made unwritable for this process: mode 0555, or for root (who may
    write anywhere) the immutable attribute, which stops root too."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("as root this test needs chattr(1): apt-get install e2fsprogs")
    assert chattr is not None
    made = subprocess.run([chattr, "+i", str(directory)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"root needs chattr +i to make a directory unwritable: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(directory)], check=True)


def test_a_read_only_runs_directory_is_listed_without_a_cache(runs: Path) -> None:
    (runs / "not-a-run").rmdir()
    with unwritable(runs):
        assert ls_json(runs)["done"]["status"] == "completed"
        assert not (runs / CACHE_NAME).exists()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(completed_run())), max_size=4))
def test_summaries_folded_piecewise_equal_one_whole_fold(
    tmp_path_factory: pytest.TempPathFactory, cuts: list[int]
) -> None:
    root = tmp_path_factory.mktemp("runs")
    events = completed_run()
    run = root / "r"
    written = 0
    write_run(run, [])
    for cut in sorted(cuts):
        append_lines(run, [encode_line(ev) for ev in events[written:cut]])
        written = max(written, cut)
        list_runs(root)
    append_lines(run, [encode_line(ev) for ev in events[written:]])
    assert list_runs(root) == list_runs(root, cache=False)


def test_a_torn_last_line_longer_than_a_read_block_is_left_out(runs: Path) -> None:
    with (runs / "done" / "events.jsonl").open("ab") as log:
        log.write(b'{"seq": 15, "task": "' + b"x" * (3 << 20))  # 3 MiB, no newline
    summary = ls_json(runs, "--no-cache")["done"]
    assert (summary["events"], summary["status"]) == (len(completed_run()), "completed")


def test_lines_longer_than_a_read_block_are_each_counted(runs: Path) -> None:
    first, *rest = completed_run()
    assert isinstance(first, WorkflowStarted)
    long_task = msgspec.structs.replace(first, task="t" * (3 << 20))  # 3 MiB: 3 read blocks
    write_run(runs / "long", [long_task, *rest])
    summary = ls_json(runs, "--no-cache")["long"]
    assert (summary["events"], summary["task"][:3]) == (len(completed_run()), "ttt")
