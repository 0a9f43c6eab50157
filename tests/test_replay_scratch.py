"""What makes a replay's scratch run cheap keeps its meaning: a held log writer, a fold
that refreezes only the step an event changed, a workspace root that does not exist."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from _workflow import APPROVE, CHANGES, CODE, FAST, PLAN, answer, error, scripted

from actors import Supervisor
from events import Event, StepStarted, UnknownEvent
from store import EventLog, UnsafePath, workflow_state
from store.paths import PathGuard
from store.projections import WorkflowFold

FIXTURE = Path(__file__).parent / "fixtures" / "v1-demo"


def _steps(n: int) -> list[StepStarted]:
    return [StepStarted(step="plan", attempt=i, round=0) for i in range(1, n + 1)]


def test_held_appends_reach_the_file_at_sync(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        writer.hold()
        writer.append_many(_steps(3), sync=False)
        assert log.path.read_bytes() == b""
        writer.sync()
        assert [ev.seq for ev in log.read()] == [1, 2, 3]


def test_held_appends_reach_the_file_at_close_in_order(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        writer.hold()
        for ev in _steps(5):
            writer.append_many([ev], sync=False)
    assert [(ev.seq, getattr(ev, "attempt", 0)) for ev in log.read()] == [
        (i, i) for i in range(1, 6)
    ]
    assert log.verify().last_seq == 5


def test_a_synced_append_writes_what_was_held_before_it(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        writer.hold()
        writer.append_many(_steps(2), sync=False)
        writer.append_many(_steps(1), sync=True)
        assert [ev.seq for ev in log.read()] == [1, 2, 3]


def test_a_writer_holds_no_more_than_a_block(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    with log.writer() as writer:
        writer.hold()
        for ev in _steps(10_000):  # about 1.6 MB of lines, several blocks
            writer.append_many([ev], sync=False)
        assert log.path.stat().st_size > 0
        written = log.path.stat().st_size
    assert written < log.path.stat().st_size


_APPEND = """
import sys
sys.path.insert(0, sys.argv[1])
from events import StepStarted
from store import EventLog
with EventLog(sys.argv[2]).writer() as writer:
    if sys.argv[3] == "held":
        writer.hold()
    for i in range(1, 201):
        writer.append_many([StepStarted(step="plan", attempt=i, round=0)], sync=False)
    writer.sync()
"""


def _fdatasyncs(tmp_path: Path, mode: str) -> int:
    """How many fdatasync calls a process appending 200 events (then sync, close) makes."""
    trace = tmp_path / f"{mode}.strace"
    root = str(Path(__file__).resolve().parents[1])
    command = [sys.executable, "-c", _APPEND, root, str(tmp_path / mode), mode]
    subprocess.run(
        ["strace", "-f", "-e", "trace=fdatasync", "-o", str(trace), *command],
        check=True,
        timeout=120,
    )
    return trace.read_text().count("fdatasync(")


@pytest.mark.skipif(
    shutil.which("strace") is None,
    reason="needs strace: apt-get install strace (CI's .ci/run does)",
)
def test_a_held_log_is_never_fsynced(tmp_path: Path) -> None:
    assert _fdatasyncs(tmp_path, "held") == 0
    assert _fdatasyncs(tmp_path, "plain") >= 1  # the same appends, not held
    assert EventLog(tmp_path / "held").verify().last_seq == 200


def _recorded_run(run_dir: Path) -> list[Event | UnknownEvent]:
    model = scripted(
        plan=[error("rate_limit"), answer(PLAN)],
        code=[answer(CODE), error("overloaded"), answer(CODE)],
        review=[answer(CHANGES), answer(APPROVE)],
    )
    config = msgspec.structs.replace(FAST, max_revisions=1)
    Supervisor(config, model=model).run("add a greeting module", run_dir)
    return list(EventLog(run_dir).read())


@pytest.mark.parametrize("source", ["fixture", "recorded"])
def test_each_snapshot_of_a_growing_fold_is_the_whole_fold_of_the_same_events(
    source: str, tmp_path: Path
) -> None:
    events = list(EventLog(FIXTURE).read()) if source == "fixture" else _recorded_run(tmp_path)
    fold = WorkflowFold()
    for i, ev in enumerate(events, 1):
        fold.apply(ev)
        assert fold.snapshot() == workflow_state(events[:i]), ev


def test_any_path_the_lexical_rules_allow_is_inside_a_root_that_does_not_exist(
    tmp_path: Path,
) -> None:
    guard = PathGuard(tmp_path / "files")
    assert guard.check("pkg/./a.py") == tmp_path / "files" / "pkg" / "a.py"
    with pytest.raises(UnsafePath, match=r"'\.\.' components"):
        guard.check("pkg/../../a.py")


def test_a_root_behind_a_symlink_loop_is_still_refused(tmp_path: Path) -> None:
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(UnsafePath):
        PathGuard(tmp_path / "loop" / "files").check("a.py")
