"""``agentlog stats``: attempts, failures by kind, time, latency, tokens and cost per step."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _workflow import APPROVE, CODE, FAST, PLAN

from actors import Supervisor
from actors.models import ScriptedModel
from actors.pricing import price_for
from events import ModelCalled
from store import EventLog

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
TASK = "add a greeting module"
SONNET = "claude-sonnet-4-5"
USAGE = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_creation_input_tokens": 300,
    "cache_read_input_tokens": 4000,
}
SCRIPT: dict[str, list[dict[str, Any]]] = {
    "plan": [
        {"error": {"kind": "overloaded"}},
        {"error": {"kind": "rate_limit"}},
        {"tool_input": PLAN, "usage": USAGE, "delay": 0.01},
    ],
    "code": [
        {"content": [{"type": "text", "text": "no tool call"}], "usage": USAGE},
        {"tool_input": CODE, "usage": USAGE},
    ],
    "review": [{"tool_input": APPROVE, "usage": USAGE}],
}


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def price(calls: int) -> float:
    p = price_for(SONNET)
    assert p is not None
    per_call = (
        USAGE["input_tokens"] * p[0]
        + USAGE["output_tokens"] * p[1]
        + USAGE["cache_creation_input_tokens"] * p[2]
        + USAGE["cache_read_input_tokens"] * p[3]
    ) / 1_000_000
    return calls * per_call


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("stats") / "run"
    Supervisor(FAST, model=ScriptedModel(SCRIPT, name=SONNET)).run(TASK, run_dir)
    return run_dir


@pytest.fixture(scope="module")
def rows(run: Path) -> dict[str, dict[str, Any]]:
    done = cli("stats", run, "--json")
    assert done.returncode == 0, done.stderr
    return {row["step"]: row for row in json.loads(done.stdout)}


def test_stats_has_a_row_per_step_and_a_total(rows: dict[str, dict[str, Any]]) -> None:
    assert list(rows) == ["plan", "code", "review", "total"]


def test_stats_counts_attempts_and_failures_by_kind(rows: dict[str, dict[str, Any]]) -> None:
    assert [(rows[s]["attempts"], rows[s]["failures"]) for s in rows] == [
        (3, 2),
        (2, 1),
        (1, 0),
        (6, 3),
    ]
    assert rows["plan"]["failures_by_kind"] == {"overloaded": 1, "rate_limit": 1}
    assert rows["code"]["failures_by_kind"] == {"invalid_output": 1}
    assert rows["total"]["failures_by_kind"] == {
        "overloaded": 1,
        "rate_limit": 1,
        "invalid_output": 1,
    }


def test_stats_sums_the_tokens_of_every_model_call(rows: dict[str, dict[str, Any]]) -> None:
    calls = {"plan": 1, "code": 2, "review": 1, "total": 4}
    for step, n in calls.items():
        got = {k: rows[step][k] for k in USAGE}
        assert got == {k: v * n for k, v in USAGE.items()}, step


def test_stats_prices_each_step_from_the_price_table(rows: dict[str, dict[str, Any]]) -> None:
    calls = {"plan": 1, "code": 2, "review": 1, "total": 4}
    for step, n in calls.items():
        assert rows[step]["cost_usd"] == pytest.approx(price(n)), step


def test_stats_reports_the_recorded_model_latency(
    run: Path, rows: dict[str, dict[str, Any]]
) -> None:
    recorded = sum(ev.latency_ms for ev in EventLog(run).read() if isinstance(ev, ModelCalled))
    assert rows["total"]["latency_ms"] == pytest.approx(recorded)
    assert rows["total"]["model_calls"] == 4


def test_stats_reports_wall_time_for_every_finished_step(rows: dict[str, dict[str, Any]]) -> None:
    for step in ("plan", "code", "review", "total"):
        assert rows[step]["wall_ms"] is not None and rows[step]["wall_ms"] >= 0, step


def test_stats_has_no_cost_for_a_model_without_a_price(run_dir: Path) -> None:
    Supervisor(FAST, model=ScriptedModel(SCRIPT, name="scripted")).run(TASK, run_dir)
    rows = json.loads(cli("stats", run_dir, "--json").stdout)
    assert {row["cost_usd"] for row in rows} == {None}


def test_stats_table_shows_each_step_and_the_total(run: Path) -> None:
    done = cli("stats", run)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["step", "attempts", "failures"]
    steps = [line.split()[0] for line in lines if line[:7].strip() in {"plan", "code", "review"}]
    assert steps == ["plan", "code", "review"]
    total = next(line for line in lines if line.startswith("total"))
    assert f"{price(4):.4f}" in total
    assert "plan overloaded x1, rate_limit x1" in done.stdout


def test_stats_table_counts_cache_writes_and_reads_in_its_cache_and_tokens_columns(
    run: Path,
) -> None:
    done = cli("stats", run)
    head = done.stdout.splitlines()[0]
    total = next(line for line in done.stdout.splitlines() if line.startswith("total"))
    cells = {}
    for title in ("in", "out", "cache", "tokens"):  # right-aligned: a cell ends at its title
        end = head.index(f" {title}") + 1 + len(title)
        cells[title] = total[:end].split()[-1]
    per_call = USAGE["cache_creation_input_tokens"] + USAGE["cache_read_input_tokens"]
    assert cells == {
        "in": f"{4 * USAGE['input_tokens']:,}",
        "out": f"{4 * USAGE['output_tokens']:,}",
        "cache": f"{4 * per_call:,}",
        "tokens": f"{4 * sum(USAGE.values()):,}",
    }


def test_stats_of_a_missing_run_exits_2(tmp_path: Path) -> None:
    assert cli("stats", tmp_path / "nothing").returncode == 2


def test_log_follow_shows_every_event_while_another_process_runs(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    slow = {step: [{**SCRIPT[step][-1], "delay": 0.15}] for step in SCRIPT}
    script.write_text(json.dumps(slow))
    run_dir = tmp_path / "run"
    runner = subprocess.Popen(
        [*CLI, "run", TASK, "--script", str(script), "--run-dir", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (run_dir / "events.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    follower = subprocess.Popen(
        [*CLI, "log", str(run_dir), "--follow", "--json"], stdout=subprocess.PIPE, text=True
    )
    seen: list[dict[str, Any]] = []
    try:
        assert follower.stdout is not None
        for line in follower.stdout:
            seen.append(json.loads(line))
            if seen[-1]["type"] == "WorkflowCompleted":
                break
    finally:
        follower.kill()
        follower.wait(timeout=10)
        runner.wait(timeout=60)
    assert runner.returncode == 0
    logged = [(ev.seq, type(ev).__name__) for ev in EventLog(run_dir).read()]
    assert [(ev["seq"], ev["type"]) for ev in seen] == logged


LOOP_USAGE = {
    "input_tokens": 100,
    "output_tokens": 50,
    "cache_creation_input_tokens": 400,
    "cache_creation_1h_input_tokens": 300,
    "cache_read_input_tokens": 500,
}
LOOP_SCRIPT: dict[str, list[dict[str, Any]]] = {
    "plan": [{"tool_input": PLAN, "usage": LOOP_USAGE}],
    "code": [
        {
            "tool_calls": [
                {"name": "list_files", "input": {}},
                {"name": "read_file", "input": {"path": "a.py"}},
            ],
            "usage": LOOP_USAGE,
        },
        {
            "tool_calls": [{"name": "submit", "input": {"summary": "nothing to change"}}],
            "usage": LOOP_USAGE,
        },
    ],
    "review": [{"tool_input": APPROVE, "usage": LOOP_USAGE}],
}


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loop-stats")
    (root / "ws").mkdir()
    (root / "ws" / "a.py").write_text("x = 1\n")
    config = msgspec.structs.replace(FAST, agent_loop=True)
    model = ScriptedModel(LOOP_SCRIPT, name=SONNET)
    Supervisor(config, model=model).run(TASK, root / "run", workspace=root / "ws")
    return root / "run"


@pytest.fixture(scope="module")
def loop_rows(loop_run: Path) -> dict[str, dict[str, Any]]:
    done = cli("stats", loop_run, "--json")
    assert done.returncode == 0, done.stderr
    return {row["step"]: row for row in json.loads(done.stdout)}


def test_stats_counts_the_tool_calls_of_each_step(loop_rows: dict[str, dict[str, Any]]) -> None:
    calls = {step: row["tool_calls"] for step, row in loop_rows.items()}
    # the Planner and the Reviewer are read-only loops too: their one call submits
    assert calls == {"plan": 1, "code": 3, "review": 1, "total": 5}


def test_stats_counts_the_four_input_token_classes_apart(
    loop_rows: dict[str, dict[str, Any]],
) -> None:
    total = loop_rows["total"]
    assert total["model_calls"] == 4
    assert total["input_tokens"] == 4 * 100
    assert total["cache_read_input_tokens"] == 4 * 500
    assert total["cache_creation_5m_input_tokens"] == 4 * 100
    assert total["cache_creation_1h_input_tokens"] == 4 * 300


def test_stats_prices_one_hour_cache_writes_at_their_own_rate(
    loop_rows: dict[str, dict[str, Any]],
) -> None:
    p = price_for(SONNET)
    assert p is not None
    per_call = (100 * p.input + 50 * p.output + 100 * p.cache_write + 300 * p.cache_write_1h
                + 500 * p.cache_read) / 1_000_000  # fmt: skip
    assert loop_rows["total"]["cost_usd"] == pytest.approx(4 * per_call)


def test_stats_gives_the_share_of_input_read_from_the_cache(
    rows: dict[str, dict[str, Any]],
) -> None:
    read, every = 4000, 1000 + 300 + 4000
    assert rows["total"]["cache_share"] == pytest.approx(read / every, abs=1e-4)


def test_stats_table_shows_the_input_classes_and_the_cache_share(run: Path) -> None:
    done = cli("stats", run)
    assert "input: 4,000 plain, 16,000 cache read (cache share 75%)" in done.stdout
    assert "cache writes: 1,200 for 5 min, 0 for 1 h" in done.stdout
    assert "tool calls:" not in done.stdout  # no loop, no tool calls


def test_stats_table_shows_the_tool_calls_of_each_step(loop_run: Path) -> None:
    assert "tool calls: plan 1, code 3, review 1\n" in cli("stats", loop_run).stdout
