"""``actors.cleanup``: what an interrupted process kills and removes, and what it leaves."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import cleanup


@pytest.fixture(autouse=True)
def _forget_the_stop() -> Iterator[None]:
    """These tests stop children in the test process itself, which goes on afterwards."""
    yield
    cleanup.reset()


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_registered_groups_are_killed_and_scratch_dirs_removed(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "workspace").mkdir(parents=True)
    proc = _sleeper()
    left: list[str] = []

    def waiter() -> None:
        with cleanup.scratch_dir(scratch), cleanup.process_group(proc.pid):
            proc.wait()
        left.append("recorded a made-up result")  # must never happen

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    while proc.pid not in cleanup._groups:
        threading.Event().wait(0.01)
    assert cleanup.stop_children() == (1, 1)
    assert proc.wait(timeout=10) == -9
    assert not scratch.exists()
    thread.join(0.3)
    assert thread.is_alive() and not left  # parked: the process is exiting


def test_a_group_that_left_its_block_is_not_touched(tmp_path: Path) -> None:
    proc = _sleeper()
    with cleanup.process_group(proc.pid), cleanup.scratch_dir(tmp_path):
        pass
    cleanup.stop_children()
    try:
        assert proc.poll() is None and tmp_path.exists()
    finally:
        proc.kill()
        proc.wait()
