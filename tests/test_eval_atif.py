"""``agentlog export --format atif``: each run's trajectory, checked by an ATIF validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.cli import main
from actors.eval.atif import trajectory
from events import ModelCalled, ToolResulted, tokens
from store import EventLog

atif = pytest.importorskip("atif", reason="pip install -e '.[atif]'")


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``agentlog demo --loop`` run: model calls, tool calls and their results."""
    run = tmp_path_factory.mktemp("loop") / "run"
    assert main(["demo", "--loop", "--run-dir", str(run), "--json"]) == 0
    return run


def test_a_workflow_run_is_a_valid_trajectory(shared_demo: tuple[Path, int, str]) -> None:
    run, _, _ = shared_demo
    doc = trajectory(run)
    atif.Trajectory.model_validate(doc)
    calls = [ev for ev in EventLog(run).read() if type(ev) is ModelCalled]
    agent_steps = [s for s in doc["steps"] if s["source"] == "agent"]
    assert doc["steps"][0]["source"] == "user" and len(agent_steps) == len(calls)
    assert [s["extra"]["agentlog_step"] for s in agent_steps] == [c.step for c in calls]


def test_a_tool_loop_run_is_valid_with_each_result_observed_by_its_call(loop_run: Path) -> None:
    doc = trajectory(loop_run)
    atif.Trajectory.model_validate(doc)
    results = [ev for ev in EventLog(loop_run).read() if type(ev) is ToolResulted]
    observed = [
        r["source_call_id"]
        for s in doc["steps"]
        for r in (s.get("observation") or {}).get("results", [])
    ]
    assert results and observed == [r.call_id for r in results]


def test_the_final_metrics_count_every_token(shared_demo: tuple[Path, int, str]) -> None:
    run, _, _ = shared_demo
    calls = [ev for ev in EventLog(run).read() if type(ev) is ModelCalled]
    final = trajectory(run)["final_metrics"]
    assert final["total_prompt_tokens"] + final["total_completion_tokens"] == sum(
        tokens(c.usage) for c in calls
    )
    assert final["total_cached_tokens"] == sum(c.usage.cache_read_input_tokens for c in calls)


def test_the_command_writes_one_trajectory_a_line(
    shared_demo: tuple[Path, int, str], loop_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trajectories.jsonl"
    argv = ["export", "--format", "atif", str(shared_demo[0]), str(loop_run), "--file", str(out)]
    assert main(argv) == 0
    docs = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(docs) == 2
    for doc in docs:
        atif.Trajectory.model_validate(doc)
