"""A fork of a fork: the task, config and workflow id in force follow the whole chain.

demo -> A (``fork --at 3 --task T2 --max-revisions 0``) -> B (``fork A --at 6``): B's
agents are asked about T2, B runs under A's config, has its own workflow id, names
its source by absolute path, and replays identically.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _workflow import APPROVE, CODE, KEY, PLAN
from fake_anthropic import FakeAnthropic

from actors import Supervisor, fork, replay
from actors.demo import DEMO_CONFIG, demo_model, demo_task
from actors.models import AnthropicModel
from events import Forked
from store import EventLog, workflow_state

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
#: The demo run, its fork A, A's fork B, and the request bodies B's agents sent.
Chain = tuple[Path, Path, Path, list[Any]]
T2 = "T2: write a module haiku.py that prints a haiku"


def forked_markers(run: Path) -> list[Forked]:
    return [ev for ev in EventLog(run).read() if isinstance(ev, Forked)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """The demo, its fork A (new task, no revisions), and B, a fork of A asked of a fake API."""
    root = tmp_path_factory.mktemp("chain")
    demo, a, b = root / "demo", root / "A", root / "B"
    quick = msgspec.structs.replace(DEMO_CONFIG, run_tests=False)  # no pytest: fast
    Supervisor(quick, model=demo_model()).run(demo_task(), demo)
    no_revisions = msgspec.structs.replace(quick, max_revisions=0)
    fork(demo, at=3, new_run_dir=a, task=T2, config=no_revisions, model=demo_model())
    with FakeAnthropic() as server:
        for answer in (PLAN, CODE, APPROVE):
            server.reply_tool_use(answer)
        claude = AnthropicModel("claude-sonnet-5-5", api_key=KEY, base_url=server.url)
        fork(a, at=6, new_run_dir=b, model=claude)
        yield demo, a, b, [r.body for r in server.requests]


def test_the_agents_of_a_fork_of_a_fork_are_asked_about_the_first_forks_task(chain: Chain) -> None:
    *_, bodies = chain
    assert len(bodies) == 3  # plan, code, review of B
    for body in bodies:
        text = json.dumps(body)
        assert "haiku.py" in text
        assert demo_task()[:40] not in text


def test_a_fork_of_a_fork_runs_under_the_config_and_task_of_the_chain(chain: Chain) -> None:
    _, _, b, _ = chain
    state = workflow_state(EventLog(b).read())
    assert state.task == T2
    assert state.config.max_revisions == 0
    assert state.status == "completed"
    assert state.round == 0


def test_a_fork_of_a_fork_has_its_own_workflow_id_in_force(chain: Chain) -> None:
    demo, a, b, _ = chain
    ids = [workflow_state(EventLog(run).read()).workflow_id for run in (demo, a, b)]
    assert len(set(ids)) == 3
    assert forked_markers(b)[-1].workflow_id == ids[2]
    assert forked_markers(b)[-1].source_workflow_id == ids[1]
    own = [ev for ev in EventLog(b).read() if ev.seq > forked_markers(b)[-1].seq]
    assert {ev.workflow_id for ev in own} == {ids[2]}


def test_a_fork_of_a_fork_replays_identically(chain: Chain) -> None:
    _, _, b, _ = chain
    report = replay(b)
    assert report.ok, report.verdict


def test_a_fork_names_its_source_by_absolute_path(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo, *_ = chain
    monkeypatch.chdir(demo.parent)
    fork(Path(demo.name), at=3, new_run_dir=tmp_path / "c", model=demo_model())
    (marker,) = forked_markers(tmp_path / "c")
    assert Path(marker.source).is_absolute()
    assert Path(marker.source) == demo.resolve()


def test_the_cli_forks_a_fork_of_the_demo_and_replays_it(tmp_path: Path) -> None:
    def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC")}
        cmd = [*CLI, *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)

    demo, a, b = tmp_path / "demo", tmp_path / "A", tmp_path / "B"
    quick = msgspec.structs.replace(DEMO_CONFIG, run_tests=False)  # a demo run, minus pytest
    Supervisor(quick, model=demo_model()).run(demo_task(), demo)
    fork_a = ("--at", 3, "--task", T2, "--max-revisions", 0, "--run-dir", a)
    assert cli("fork", demo, *fork_a).returncode == 0
    assert cli("fork", a, "--at", 6, "--run-dir", b).returncode == 0
    done = cli("replay", b)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("replay ok")
    assert workflow_state(EventLog(b).read()).task == T2
