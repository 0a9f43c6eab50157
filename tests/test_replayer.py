"""``Replayer``: replay as its own object, driving the re-run as a live run is driven."""

from __future__ import annotations

import threading
from pathlib import Path

from _workflow import FAST, scripted

from actors import Replayer, Supervisor, replay
from actors.agents import AGENTS, AgentPool


def _agent_threads() -> set[str]:
    names = tuple(kind.__name__ for kind in AGENTS.values())
    return {t.name for t in threading.enumerate() if t.name.startswith(names)}


def test_a_replay_is_the_replayers(tmp_path: Path) -> None:
    Supervisor(FAST, model=scripted()).run("write hello(name)", tmp_path / "run")
    assert Replayer().replay(tmp_path / "run") == replay(tmp_path / "run")


def test_a_replay_starts_no_agent_actor(tmp_path: Path) -> None:
    Supervisor(FAST, model=scripted()).run("write hello(name)", tmp_path / "run")
    AgentPool.shared().close()  # no idle agent left to lend the replay
    before = _agent_threads()
    report = Replayer().replay(tmp_path / "run")
    assert report.ok, report.verdict
    assert _agent_threads() - before == set()  # its agents worked in the driver's thread
