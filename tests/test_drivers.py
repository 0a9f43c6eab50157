"""Many workflows, few threads: bounded driver threads and a bound on model calls in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _repo import make_repo, needs_git, workspace_model
from _workflow import FAST, scripted

from actors import Supervisor, replay
from actors.drivers import DriverPool, call_slot, configure_limits, drivers
from actors.models import ModelRequest, ModelResponse, ScriptedModel


@pytest.fixture
def limits() -> Iterator[None]:
    """Leave the process's limits as the other tests expect them (the defaults)."""
    yield
    configure_limits(max_running=128, max_calls=0)


class CountingModel:
    """A scripted model (50 ms a call) that remembers the most calls it had in flight."""

    name = "scripted"

    def __init__(self, inner: ScriptedModel | None = None) -> None:
        self.inner = inner or scripted(delay=0.05)
        self.in_flight = 0
        self.most = 0
        self._gauge = threading.Lock()

    def call(self, request: ModelRequest, *, timeout: float) -> ModelResponse:
        with self._gauge:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            return self.inner.call(request, timeout=timeout)
        finally:
            with self._gauge:
                self.in_flight -= 1


def test_a_pool_never_starts_more_threads_than_its_size() -> None:
    pool = DriverPool(2)
    gate = threading.Event()

    def waiting(n: int) -> Callable[[], int]:
        return lambda: n if gate.wait(10) else -1

    futures = [pool.submit(waiting(n)) for n in range(6)]
    assert pool.threads == 2
    gate.set()
    assert [f.result(timeout=10) for f in futures] == list(range(6))
    assert pool.threads == 2


def test_a_job_submitted_from_a_driver_runs_inline_instead_of_waiting_for_itself() -> None:
    pool = DriverPool(1)
    outer = pool.submit(lambda: pool.submit(lambda: "inner").result(timeout=5))
    assert outer.result(timeout=5) == "inner"


def test_a_job_that_raises_hands_its_exception_to_whoever_waits() -> None:
    def boom() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        DriverPool(1).submit(boom).result(timeout=5)


def test_many_workflows_run_on_no_more_driver_threads_than_the_limit(
    tmp_path: Path, limits: None
) -> None:
    configure_limits(max_running=3)
    sup = Supervisor(FAST, model=scripted())
    handles = [sup.start(f"task {n}", tmp_path / f"r{n}") for n in range(9)]
    assert [h.result(timeout=60).status for h in handles] == ["completed"] * 9
    assert drivers().threads == 3


def test_model_calls_in_flight_never_exceed_the_limit(tmp_path: Path, limits: None) -> None:
    configure_limits(max_running=6, max_calls=2)
    model = CountingModel()
    sup = Supervisor(FAST, model=model)
    handles = [sup.start(f"task {n}", tmp_path / f"r{n}") for n in range(6)]
    assert [h.result(timeout=60).status for h in handles] == ["completed"] * 6
    assert 1 <= model.most <= 2


@needs_git
def test_model_calls_in_flight_never_exceed_the_limit_in_workspace_runs(
    tmp_path: Path, limits: None
) -> None:
    configure_limits(max_running=6, max_calls=2)
    model = CountingModel(workspace_model(delay=0.05))
    repo = make_repo(tmp_path / "repo")
    sup = Supervisor(FAST, model=model)
    handles = [sup.start(f"task {n}", tmp_path / f"r{n}", workspace=repo) for n in range(6)]
    assert [h.result(timeout=60).status for h in handles] == ["completed"] * 6
    assert 1 <= model.most <= 2


def test_a_call_slot_not_freed_in_time_is_refused(limits: None) -> None:
    configure_limits(max_calls=1)
    got: list[bool] = []
    with call_slot(1.0) as held:
        assert held
        waiter = threading.Thread(target=lambda: got.append(_try_slot(0.05)))
        waiter.start()
        waiter.join()
    assert got == [False]
    assert _try_slot(0.05)


def _try_slot(timeout: float) -> bool:
    with call_slot(timeout) as held:
        return held


def test_a_replay_takes_no_model_call_slot(tmp_path: Path, limits: None) -> None:
    Supervisor(FAST, model=scripted()).run("say hello", tmp_path / "run")
    configure_limits(max_calls=1)
    with call_slot(1.0) as held:  # the process's one slot, held by a live call elsewhere
        assert held
        report = replay(tmp_path / "run")
    assert report.ok, report.detail
