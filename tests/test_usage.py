"""Tokens and cost have one definition: ``Usage`` adds every field, ``tokens`` counts them,
and ``stats``, ``ls``, ``batch`` and OTel all price and count a run the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from _events import completed_run, stamp, started
from _runs import write_run
from hypothesis import given
from hypothesis import strategies as st

from actors.batch.runner import outcome_of
from actors.viewer import list_runs
from events import ModelCalled, StepStarted, Usage, WorkflowCompleted, tokens

CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
SONNET = "claude-sonnet-4-5"  # $3.75 per million 5-minute cache writes, $6.00 for 1-hour ones
counts = st.integers(min_value=0, max_value=10**12)
usages = st.builds(Usage, **{field: counts for field in Usage.__struct_fields__})


@given(usages, usages)
def test_adding_usages_adds_every_field(a: Usage, b: Usage) -> None:
    total = a + b
    for field in Usage.__struct_fields__:
        assert getattr(total, field) == getattr(a, field) + getattr(b, field), field
    assert total - b == a


@given(st.lists(usages, max_size=5))
def test_a_sum_of_usages_loses_no_field(items: list[Usage]) -> None:
    total = msgspec.structs.asdict(Usage.sum(items))
    assert total == {f: sum(getattr(u, f) for u in items) for f in Usage.__struct_fields__}


def test_tokens_count_input_cache_writes_cache_reads_and_output_once() -> None:
    usage = Usage(
        input_tokens=1,
        output_tokens=10,
        cache_creation_input_tokens=100,
        cache_read_input_tokens=1000,
        cache_creation_1h_input_tokens=60,  # a part of the 100 cache writes
    )
    assert tokens(usage) == usage.total == 1111


def one_hour_cache_run(run_dir: Path) -> Path:
    """A run whose one model call wrote a million tokens to the 1-hour cache."""
    usage = Usage(cache_creation_input_tokens=1_000_000, cache_creation_1h_input_tokens=1_000_000)
    call = ModelCalled(
        step="plan",
        attempt=1,
        request_digest="d",
        model=SONNET,
        content=({"type": "text", "text": "ok"},),
        stop_reason="tool_use",
        usage=usage,
    )
    events = [started(), StepStarted(step="plan", attempt=1), call, WorkflowCompleted()]
    return write_run(run_dir, stamp(events))


def test_stats_prices_one_hour_cache_writes_at_their_rate(tmp_path: Path) -> None:
    run = one_hour_cache_run(tmp_path / "run")
    done = subprocess.run(
        [*CLI, "stats", str(run), "--json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    total = {row["step"]: row for row in json.loads(done.stdout)}["total"]
    assert total["cost_usd"] == pytest.approx(6.00)


def test_ls_prices_one_hour_cache_writes_at_their_rate(tmp_path: Path) -> None:
    one_hour_cache_run(tmp_path / "runs" / "run")
    (summary,) = list_runs(tmp_path / "runs")
    assert summary.cost_usd == pytest.approx(6.00)


def test_batch_and_ls_count_the_same_tokens_for_a_run(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "done", completed_run())
    (summary,) = list_runs(tmp_path / "runs")
    outcome = outcome_of("done", run, "skipped", 0.0)
    assert outcome.tokens == summary.tokens == 980
