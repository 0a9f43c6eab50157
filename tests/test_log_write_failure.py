"""A write the disk refuses: rolled back, the writer closed and its lock freed, nothing heard.

The failure is real: a child process lowers its ``RLIMIT_FSIZE`` (no privileges needed)
so the log cannot grow past a few bytes more, and appends an event longer than that: the
kernel takes part of the line, then refuses the rest (``EFBIG``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from store import EventLog

CHILD = r"""
import json, os, resource, signal, sys
from events import StepStarted, WorkflowStarted
from store import EventLog, LogError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write is EFBIG, not a kill
log = EventLog(sys.argv[1])
heard = []
writer = log.writer()
writer.on_append(lambda events: heard.extend(ev.seq for ev in events))
writer.append(StepStarted(step="plan", attempt=1))
writer.append_many([StepStarted(step="plan", attempt=2)], sync=False)  # not yet durable
before = os.path.getsize(log.path)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (before + 100, hard))
try:
    writer.append(WorkflowStarted(task="x" * 10_000))
    error = None
except LogError as exc:
    error = str(exc)
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
out = {"error": error, "before": before, "after": os.path.getsize(log.path)}
out["closed"] = writer.closed
writer.close()  # closing again does nothing
try:
    writer.append(StepStarted(step="code", attempt=1))
except LogError as exc:
    out["refused"] = str(exc)
with log.writer() as again:  # the lock was released with the failed writer
    out["next_seq"] = again.append(StepStarted(step="code", attempt=1)).seq
out["heard"] = heard
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    run = tmp_path_factory.mktemp("efbig") / "run"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(run)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), run


def test_a_refused_write_is_one_error_naming_the_cause(failed: tuple[dict[str, Any], Path]) -> None:
    out, _ = failed
    assert out["error"] is not None and "could not append (File too large)" in out["error"]


def test_the_partial_line_is_rolled_back(failed: tuple[dict[str, Any], Path]) -> None:
    out, run = failed
    assert out["after"] == out["before"]
    assert [ev.seq for ev in EventLog(run).read()] == [1, 2, 3]


def test_the_writer_is_closed_and_refuses_more(failed: tuple[dict[str, Any], Path]) -> None:
    out, _ = failed
    assert out["closed"] is True and "this writer is closed" in out["refused"]


def test_its_lock_is_freed_so_a_new_writer_continues(failed: tuple[dict[str, Any], Path]) -> None:
    out, _ = failed
    assert out["next_seq"] == 3


def test_no_listener_hears_what_was_not_synced_before_the_failure(
    failed: tuple[dict[str, Any], Path],
) -> None:
    out, _ = failed
    assert out["heard"] == [1]
