"""``agentlog log`` filters: --step and --type narrow the timeline; a bad type is input error."""

from __future__ import annotations

from pathlib import Path

import pytest
from _workflow import FAST, error, scripted

from actors import Supervisor
from actors.cli import main
from store import EventLog


@pytest.fixture
def run_with_a_retry(run_dir: Path) -> Path:
    Supervisor(FAST, model=scripted(code=[error("overloaded"), {"tool_input": _code()}])).run(
        "task", run_dir
    )
    return run_dir


def _code() -> dict[str, object]:
    from _workflow import CODE

    return dict(CODE)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_type_filter_shows_only_that_type(
    run_with_a_retry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["log", str(run_with_a_retry), "--type", "StepFailed"]) == 0
    lines = _lines(capsys)
    assert len(lines) == 1 and "StepFailed" in lines[0] and "code#1" in lines[0]


def test_step_filter_keeps_every_event_of_the_step(
    run_with_a_retry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["log", str(run_with_a_retry), "--step", "code"]) == 0
    kinds = [line.split()[4] for line in _lines(capsys)]  # seq, date, time, actor, type
    assert kinds == ["StepStarted", "StepFailed", "StepStarted", "ModelCalled", "CodeProduced"]


def test_type_filters_combine_with_json_output(
    run_with_a_retry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "log",
        str(run_with_a_retry),
        "--json",
        "--type",
        "PlanProduced",
        "--type",
        "WorkflowCompleted",
    ]
    assert main(args) == 0
    lines = _lines(capsys)
    assert [line.split('"type":"')[1].split('"')[0] for line in lines] == [
        "PlanProduced",
        "WorkflowCompleted",
    ]


def test_an_unknown_type_is_a_usage_error_naming_it(
    run_with_a_retry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["log", str(run_with_a_retry), "--type", "StepFaild"]) == 2
    assert "'StepFaild' is no event type" in capsys.readouterr().err


def test_torn_bytes_counts_only_the_unfinished_last_line(run_with_a_retry: Path) -> None:
    log = EventLog(run_with_a_retry)
    assert log.torn_bytes() == 0
    with log.path.open("ab") as f:
        f.write(b'{"type":"StepSta')
    assert log.torn_bytes() == len(b'{"type":"StepSta')
