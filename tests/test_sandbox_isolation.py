"""One test run against the host and against other runs: its processes count against its
own limit only, and it sees of an editable install only what the tests can import."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from _sandbox import needs_bwrap

from actors.sandbox import Completed, Limits, resolve, run_confined

pytestmark = needs_bwrap

FEW = Limits(processes=16)


def a_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir(parents=True)
    (root / "mod.py").write_text("X = 1\n")
    return root


def holder_source(name: str) -> str:
    """Forks until the process limit says no, holds every child, reports how many it
    holds, then names itself ``name`` (its ``comm``, visible in the host's ``/proc``)."""
    return (
        "import os, signal\n"
        "held = 0\n"
        "while True:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except BlockingIOError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        signal.pause()\n"
        "    held += 1\n"
        "print('HELD', held, flush=True)\n"
        f"open('/proc/self/comm', 'w').write({name!r})\n"
        "signal.pause()\n"
    )


def named(name: str) -> list[int]:
    """Host pids of the processes whose ``comm`` is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_one_runs_processes_do_not_count_against_anothers_limit(tmp_path: Path) -> None:
    sandbox = resolve("bwrap")
    name = "hold" + uuid.uuid4().hex[:11]  # a comm has at most 15 characters
    holding: list[Completed] = []
    holder = threading.Thread(
        target=lambda: holding.append(
            run_confined(
                a_tree(tmp_path / "a"),
                (sys.executable, "-c", holder_source(name)),
                timeout=120,
                sandbox=sandbox,
                limits=FEW,
            )
        )
    )
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not named(name) and holder.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert named(name), holding  # the first run is at its limit, holding every process
        forker = (
            "import os\n"
            "pids = []\n"
            "for _ in range(8):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        os._exit(0)\n"
            "    pids.append(pid)\n"
            "for pid in pids:\n"
            "    os.waitpid(pid, 0)\n"
            "print('FORKED', len(pids))\n"
        )
        other = run_confined(
            a_tree(tmp_path / "b"),
            (sys.executable, "-c", forker),
            timeout=60,
            sandbox=sandbox,
            limits=FEW,
        )
    finally:
        for pid in named(name):
            os.kill(pid, signal.SIGKILL)
        holder.join(timeout=30)
    assert (other.exit_code, other.output.strip()) == (0, "FORKED 8")
    assert holding[0].output.split() == ["HELD", str(FEW.processes - 1)]


@pytest.mark.skipif(os.geteuid() != 0, reason="a run started by root drops to a user of its own")
def test_a_root_started_runs_user_is_named_sandbox_with_home_in_tmp(tmp_path: Path) -> None:
    who = "import json, os, pwd\nu = pwd.getpwuid(os.getuid())\nprint(json.dumps(u[:6]))\n"
    done = run_confined(
        a_tree(tmp_path), (sys.executable, "-c", who), timeout=60, sandbox=resolve("bwrap")
    )
    assert done.exit_code == 0, done.output
    name, _, uid, gid, _, home = json.loads(done.output)
    assert (name, home) == ("sandbox", "/tmp")
    assert uid == gid != 65534  # not nobody, whom every root-started run would share
