"""Replay: re-running the agents on recorded answers gives the same events, or says where not."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _workflow import APPROVE, CHANGES, CODE, FAST, PLAN, answer, error, scripted

from actors import Supervisor, WorkflowConfig, fork, replay
from actors.models import ModelRequest, ModelResponse, ScriptedModel
from events import Event, ModelCalled, UnknownEvent, WorkflowStarted, decode_line, encode_line
from store import EventLog

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
TASK = "add a greeting module"


class CrashOnce(ScriptedModel):
    """Raises a plain exception (an agent crash, not a ModelError) on the first code call."""

    crashed = False

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        if request.step == "code" and not self.crashed:
            self.crashed = True
            raise RuntimeError("agent bug")
        return super().call(request, timeout=timeout)


def _script(**steps: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        "plan": steps.get("plan", [answer(PLAN)]),
        "code": steps.get("code", [answer(CODE)]),
        "review": steps.get("review", [answer(APPROVE)]),
    }


INVALID = {"content": [{"type": "text", "text": "no tool call"}]}
SCENARIOS: dict[str, tuple[Callable[[], ScriptedModel], WorkflowConfig]] = {
    "happy path": (lambda: scripted(), FAST),
    "retries": (
        lambda: scripted(
            plan=[error("rate_limit"), answer(PLAN)], code=[error("overloaded"), answer(CODE)]
        ),
        FAST,
    ),
    "timeouts": (
        lambda: ScriptedModel(_script(plan=[{**answer(PLAN), "delay": 0.5}, answer(PLAN)])),
        msgspec.structs.replace(FAST, step_timeout=0.2),
    ),
    "crashes": (lambda: CrashOnce(_script()), FAST),
    "invalid output": (
        lambda: scripted(plan=[INVALID, answer(PLAN)], code=[answer({"bad": 1}), answer(CODE)]),
        FAST,
    ),
    "continue_on_error": (
        lambda: scripted(code=[error("bad_request")]),
        msgspec.structs.replace(FAST, continue_on_error=True),
    ),
    "revisions": (
        lambda: scripted(
            code=[answer(CODE), answer(CODE)], review=[answer(CHANGES), answer(APPROVE)]
        ),
        msgspec.structs.replace(FAST, max_revisions=1),
    ),
    "failed workflow": (lambda: scripted(plan=[error("auth")]), FAST),
    "retries exhausted": (
        lambda: scripted(review=[error("overloaded")]),
        msgspec.structs.replace(FAST, max_retries=1),
    ),
}


def record(name: str, run_dir: Path) -> Path:
    make_model, config = SCENARIOS[name]
    Supervisor(config, model=make_model()).run(TASK, run_dir)
    return run_dir


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


def rewrite(run_dir: Path, edit: Callable[[Event | UnknownEvent], Event | None]) -> int:
    """Re-seal every line ``edit`` changes (returning the new event); the first changed seq."""
    path = run_dir / "events.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    first = 0
    for i, line in enumerate(lines):
        changed = edit(decode_line(line))
        if changed is not None:
            lines[i] = encode_line(changed)
            first = first or changed.seq
    path.write_bytes(b"".join(lines))
    assert first, "the edit changed nothing"
    return first


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def demo_run(shared_demo: tuple[Path, int, str]) -> Path:
    return shared_demo[0]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_recorded_run_replays_identically(name: str, run_dir: Path) -> None:
    record(name, run_dir)
    report = replay(run_dir)
    assert report.ok, report.verdict
    assert report.replayed == report.recorded == len(list(EventLog(run_dir).read()))


def test_the_demo_run_replays_identically(demo_run: Path) -> None:
    report = replay(demo_run)
    assert report.ok, report.verdict
    assert report.verdict.startswith("replay ok: 21 events identical")


def test_every_example_log_replays_identically(demo_run: Path) -> None:
    logs = [demo_run / "events.jsonl", *sorted(ROOT.glob("examples/**/events.jsonl"))]
    failed = {str(log): replay(log.parent).verdict for log in logs if not replay(log.parent).ok}
    assert failed == {}


def test_replay_reports_its_progress_in_model_calls_served(demo_run: Path) -> None:
    seen: list[tuple[int, int]] = []
    replay(demo_run, progress=lambda done, total: seen.append((done, total)))
    calls = sum(isinstance(ev, ModelCalled) for ev in EventLog(demo_run).read())
    assert seen == [(n, calls) for n in range(1, calls + 1)]


def test_replay_writes_nothing_into_the_original_run(demo_run: Path) -> None:
    before = snapshot(demo_run)
    replay(demo_run)
    assert snapshot(demo_run) == before


def test_a_forked_run_replays_identically(tmp_path: Path) -> None:
    source = record("revisions", tmp_path / "source")
    fork(source, at=7, new_run_dir=tmp_path / "fork", model=scripted())
    report = replay(tmp_path / "fork")
    assert report.ok, report.verdict


@pytest.mark.parametrize("kept", [2, 4, 5, 6, 9])
def test_an_unfinished_run_replays_up_to_where_it_stopped(kept: int, run_dir: Path) -> None:
    # 6 and 9 end on a ModelCalled whose artifact was never written.
    record("happy path", run_dir)
    path = run_dir / "events.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:kept]))
    report = replay(run_dir)
    assert report.ok, report.verdict
    assert not report.finished
    assert "had not finished" in report.verdict


def test_a_changed_request_digest_is_a_nondeterminism_naming_its_seq(run_dir: Path) -> None:
    record("happy path", run_dir)

    def edit(ev: Event | UnknownEvent) -> Event | None:
        if isinstance(ev, ModelCalled) and ev.step == "code":
            return msgspec.structs.replace(ev, request_digest="0" * 64)
        return None

    seq = rewrite(run_dir, edit)
    report = replay(run_dir)
    assert not report.ok
    assert (report.seq, report.step) == (seq, "code")
    assert "request digest differs" in report.detail


def test_a_changed_task_is_a_nondeterminism_at_the_first_model_call(run_dir: Path) -> None:
    record("happy path", run_dir)

    def edit(ev: Event | UnknownEvent) -> Event | None:
        if isinstance(ev, WorkflowStarted):
            return msgspec.structs.replace(ev, task="a different task")
        return None

    rewrite(run_dir, edit)
    first_call = next(ev for ev in EventLog(run_dir).read() if isinstance(ev, ModelCalled))
    report = replay(run_dir)
    assert not report.ok
    assert (report.seq, report.step) == (first_call.seq, "plan")


def test_a_changed_step_order_is_a_nondeterminism_naming_the_first_differing_event(
    run_dir: Path,
) -> None:
    record("revisions", run_dir)
    recorded = list(EventLog(run_dir).read())

    def edit(ev: Event | UnknownEvent) -> Event | None:
        if isinstance(ev, WorkflowStarted):
            return msgspec.structs.replace(
                ev, config=msgspec.structs.replace(ev.config, max_revisions=0)
            )
        return None

    rewrite(run_dir, edit)
    report = replay(run_dir)
    # The first review asked for changes; without revision rounds the run completes there.
    first_review = next(ev.seq for ev in recorded if type(ev).__name__ == "ReviewProduced")
    assert not report.ok
    assert report.seq == first_review + 1
    assert "WorkflowCompleted" in report.detail


def test_replay_cli_exits_0_with_a_one_line_verdict(run_dir: Path) -> None:
    record("retries", run_dir)
    done = cli("replay", run_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replay ok:")
    assert done.stdout.count("\n") == 1


def test_replay_cli_exits_1_naming_seq_and_step_of_a_nondeterminism(run_dir: Path) -> None:
    record("happy path", run_dir)

    def edit(ev: Event | UnknownEvent) -> Event | None:
        if isinstance(ev, ModelCalled) and ev.step == "review":
            return msgspec.structs.replace(ev, request_digest="f" * 64)
        return None

    seq = rewrite(run_dir, edit)
    done = cli("replay", run_dir)
    assert done.returncode == 1
    assert f"NonDeterminism at seq {seq} (step review)" in done.stdout


@pytest.mark.parametrize("kept", [2, 6])
def test_replay_of_an_unfinished_run_gives_one_verdict_and_no_warning(
    kept: int, run_dir: Path
) -> None:
    record("happy path", run_dir)
    path = run_dir / "events.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:kept]))
    done = cli("replay", run_dir)
    assert done.returncode == 0
    assert done.stdout.startswith("replay ok:") and done.stdout.count("\n") == 1
    assert "had not finished" in done.stdout
    assert done.stderr == ""


def test_a_review_call_that_failed_after_its_test_run_replays_identically(
    tmp_path: Path,
) -> None:
    tested = WorkflowConfig(
        backoff_base=0, step_timeout=20, run_tests=True, test_cmd="true", sandbox="none"
    )
    model = scripted(review=[error("rate_limit"), answer(APPROVE)])
    run = tmp_path / "run"
    assert Supervisor(tested, model=model).run("task", run).ok
    kinds = [type(ev).__name__ for ev in EventLog(run).read()]
    at = kinds.index("TestsRan")
    assert kinds[at - 1 : at + 2] == ["StepStarted", "TestsRan", "StepFailed"]
    report = replay(run)
    assert report.ok, report.verdict
