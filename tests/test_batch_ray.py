"""``agentlog batch --engine ray`` on a two-worker Ray cluster started on 127.0.0.1.

The cluster runs the real SDK against the fake Messages API in this process. A worker
node killed mid-batch must cost no run and redo no step: Ray retries the task, and the
retry resumes the run from its log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Every Ray process on 127.0.0.1 (Ray otherwise binds the machine's outward address).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray", reason="Ray tests need the ray extra: pip install -e '.[ray]'")

from _batch import HAPPY_BY_TOOL, api_env, plans_per_run, write_tasks  # noqa: E402
from fake_anthropic import FakeAnthropic  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from actors.batch import Batch  # noqa: E402
from events import STEPS, ModelCalled  # noqa: E402
from store import EventLog, LogLocked  # noqa: E402


@pytest.fixture(scope="module")
def api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


#: A killed node is declared dead after ~2 s of refused health checks instead of Ray's
#: ~15 s default; a live but busy node still has 4 checks of 2 s each to answer.
FAST_NODE_DEATH = {
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 2000,
    "health_check_failure_threshold": 4,
}


@pytest.fixture(scope="module")
def cluster(api: FakeAnthropic) -> Iterator[Cluster]:
    """Two one-CPU nodes (the head and a worker), all on this machine."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in api_env(api).items():
            env.setenv(name, value)  # the nodes' environment, inherited by their workers
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 1,
                "include_dashboard": False,
                "_system_config": FAST_NODE_DEATH,
            },
        )
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False)
        try:
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()


def _hold_writer(log: str, release: str) -> int:
    """On one node: take a log's single-writer lock and keep it until ``release`` exists."""
    writer = EventLog(log).writer()
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        writer.close()
    return os.getpid()


def _try_writer(log: str) -> str:
    """On another node: try to take the same lock; say what happened."""
    try:
        EventLog(log).writer().close()
    except LogLocked as exc:
        return f"locked by {exc.pid}"
    return "acquired"


def test_the_single_writer_lock_holds_across_nodes(cluster: Cluster, tmp_path: Path) -> None:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU")]
    assert len(nodes) >= 2
    on = [NodeAffinitySchedulingStrategy(node, soft=False) for node in nodes[:2]]
    log, release = str(tmp_path / "run"), tmp_path / "release"
    holder = ray.remote(num_cpus=1, scheduling_strategy=on[0])(_hold_writer).remote(
        log, str(release)
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "run" / "events.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    other = ray.remote(num_cpus=1, scheduling_strategy=on[1])(_try_writer)
    assert ray.get(other.remote(log)).startswith("locked by ")
    release.touch()
    pid = ray.get(holder)
    assert ray.get(other.remote(log)) == "acquired"
    assert pid > 0


def model_calls(runs: Path) -> int:
    return sum(isinstance(ev, ModelCalled) for run in runs.iterdir() for ev in EventLog(run).read())


def test_a_batch_on_the_cluster_completes_every_run(
    cluster: Cluster, api: FakeAnthropic, tmp_path: Path
) -> None:
    api.answer_by_tool(HAPPY_BY_TOOL)
    tasks = write_tasks(tmp_path / "tasks.jsonl", 4)
    outcomes = Batch(tasks, tmp_path / "runs", engine="ray").run()
    assert {(o.status, o.verdict, o.action) for o in outcomes} == {
        ("completed", "approve", "started")
    }
    assert plans_per_run(tmp_path / "runs") == {f"t{n:02d}": 1 for n in range(4)}


def test_rerunning_a_finished_batch_on_the_cluster_is_a_no_op(
    cluster: Cluster, api: FakeAnthropic, tmp_path: Path
) -> None:
    api.answer_by_tool(HAPPY_BY_TOOL)
    tasks = write_tasks(tmp_path / "tasks.jsonl", 2)
    Batch(tasks, tmp_path / "runs", engine="ray").run()
    calls = len(api.requests)
    again = Batch(tasks, tmp_path / "runs", engine="ray").run()
    assert {o.action for o in again} == {"skipped"}
    assert len(api.requests) == calls


def test_a_worker_node_killed_mid_batch_loses_no_run_and_redoes_no_step(
    cluster: Cluster, api: FakeAnthropic, tmp_path: Path
) -> None:
    doomed = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    api.answer_by_tool(HAPPY_BY_TOOL, delay=0.3)
    runs = tmp_path / "runs"
    tasks = write_tasks(tmp_path / "tasks.jsonl", 6)
    before = len(api.requests)
    killed = threading.Event()

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while len(list(runs.glob("*/events.jsonl"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)  # every node mid-way through a run
        cluster.remove_node(doomed, allow_graceful=False)
        killed.set()

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    outcomes = Batch(tasks, runs, engine="ray", concurrency=3).run()
    killer.join()
    assert killed.is_set()
    assert {o.status for o in outcomes} == {"completed"}
    assert "resumed" in {o.action for o in outcomes}  # Ray's retry continued from the log
    assert plans_per_run(runs) == {f"t{n:02d}": 1 for n in range(6)}
    recorded = model_calls(runs)
    assert recorded == 6 * 3  # each step answered once, as recorded in the logs
    assert len(api.requests) - before <= recorded + 1  # at most the call the node died in


_AGENTLOG = (sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())")


def _batch_cli(*args: str | Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_AGENTLOG, "batch", *map(str, args), "--engine", "ray"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_a_bad_tasks_line_stops_a_ray_batch_before_it_reaches_the_cluster(
    cluster: Cluster, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "task": "t", "config": {"max_retries": "many"}}\n')
    proc = _batch_cli(tasks, "--runs-dir", tmp_path / "runs", "--ray-address", cluster.address)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.startswith(f"agentlog: {tasks}:1: config: ")
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_stops_a_ray_batch_resumably_and_a_rerun_completes_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps({step: [{"tool_input": HAPPY_BY_TOOL[f"submit_{step}"]}] for step in STEPS})
    )
    tasks, runs = write_tasks(tmp_path / "tasks.jsonl", 4), tmp_path / "runs"
    args = (tasks, "--runs-dir", runs, "--ray-address", cluster.address, "--script", script)
    proc = _batch_cli(*args, AGENTLOG_SCRIPT_DELAY="5")  # longer than the test waits
    deadline = time.monotonic() + 60
    while not any(runs.glob("*/events.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to continue" in err
    again = _batch_cli(*args, "--json")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert out.startswith("["), f"stdout: {out!r}\nstderr: {err}"
    assert {r["status"] for r in json.loads(out)} == {"completed"}
    assert plans_per_run(runs) == {f"t{n:02d}": 1 for n in range(4)}


def test_the_ray_engine_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    shadow = tmp_path / "no-ray"
    (shadow / "ray").mkdir(parents=True)
    (shadow / "ray" / "__init__.py").write_text("raise ImportError('no ray here')\n")
    tasks = write_tasks(tmp_path / "tasks.jsonl", 1)
    proc = _batch_cli(
        tasks, "--runs-dir", tmp_path / "runs", PYTHONPATH=str(shadow), AGENTLOG_SCRIPT="x"
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip() == "agentlog: the Ray engine needs Ray: pip install 'agentlog[ray]'"
