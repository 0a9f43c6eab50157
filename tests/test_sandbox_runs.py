"""What a test run reports: its outcome (``no_tests`` apart), limits hit, masked output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import msgspec
import pytest
from _sandbox import daemon_source, needs_bwrap, processes_with
from _workflow import FAST, KEY, answer, scripted

from actors import Supervisor
from actors.models.prompts import render_tests
from actors.sandbox import Limits, Sandbox, run_confined
from actors.testrun import run_tests, stop_running_tests
from events import SandboxPolicy, TestsRan

UNITTEST = (sys.executable, "-m", "unittest", "discover", "-q")


def tree(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name, content in files.items():
        (root / name).write_text(content)
    return root


@needs_bwrap
def test_pytest_finding_no_tests_is_no_tests(tmp_path: Path) -> None:
    ran = run_tests(tree(tmp_path, **{"mod.py": "X = 1\n"}), timeout=30)
    assert (ran.outcome, ran.exit_code) == ("no_tests", 5)


@needs_bwrap
def test_unittest_running_zero_tests_is_no_tests_not_a_pass(tmp_path: Path) -> None:
    ran = run_tests(tree(tmp_path, **{"mod.py": "X = 1\n"}), UNITTEST, timeout=30)
    assert ran.outcome == "no_tests"


@needs_bwrap
def test_a_tree_closed_to_others_still_runs(tmp_path: Path) -> None:
    root = tree(tmp_path, **{"test_x.py": "def test_x():\n    pass\n"})
    root.chmod(0o700)
    assert run_tests(root, timeout=30).outcome == "passed"


@needs_bwrap
def test_unittest_running_tests_passes(tmp_path: Path) -> None:
    source = "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        pass\n"
    ran = run_tests(tree(tmp_path, **{"test_x.py": source}), UNITTEST, timeout=30)
    assert (ran.outcome, ran.exit_code) == ("passed", 0)


@needs_bwrap
def test_the_reviewer_is_told_no_tests_ran(run_dir: Path) -> None:
    config = msgspec.structs.replace(FAST, run_tests=True, test_timeout=30)
    files = [{"path": "mod.py", "content": "X = 1\n"}]
    model = scripted(code=[answer({"files": files})])
    Supervisor(config, model=model).run("task", run_dir)
    review = next(r for r in model.calls if r.step == "review")
    assert "Outcome: no tests ran (exit code 5)" in msgspec.json.encode(review.messages).decode()


@needs_bwrap
def test_a_cpu_limit_stops_a_busy_test_and_is_reported(tmp_path: Path) -> None:
    busy = "def test_spin():\n    while True:\n        pass\n"
    ran = run_tests(
        tree(tmp_path, **{"test_spin.py": busy}), timeout=30, limits=Limits(cpu_seconds=1)
    )
    assert ran.limits_hit == ("cpu",)
    assert (ran.outcome, ran.timed_out) == ("failed", False)


def test_endless_output_is_stopped_and_capped(tmp_path: Path) -> None:
    loud = "def test_loud():\n    while True:\n        print('x' * 1000)\n"
    limits = Limits(output_bytes=2 << 20)
    ran = run_tests(
        tree(tmp_path, **{"test_loud.py": loud}), timeout=60, policy="none", limits=limits
    )
    assert "output" in ran.limits_hit
    assert ran.truncated and len(ran.output) < 20_000


def test_the_output_is_masked_before_the_reviewer_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    half = len(KEY) // 2
    leak = f"def test_leak():\n    print({KEY[:half]!r} + {KEY[half:]!r})\n    assert False\n"
    ran = run_tests(tree(tmp_path, **{"test_leak.py": leak}), timeout=30, policy="none")
    assert "[redacted]" in ran.output
    assert KEY not in ran.output and KEY not in render_tests(ran)


def test_the_tree_is_left_as_it_was(tmp_path: Path) -> None:
    writer = (
        "import os\n\n"
        "def test_w():\n"
        "    open('new.txt', 'w').write('x')\n"
        "    os.remove('test_w.py')\n"
    )
    root = tree(tmp_path, **{"test_w.py": writer})
    ran = run_tests(root, timeout=30, policy="none")
    assert ran.outcome == "passed"
    assert sorted(p.name for p in root.iterdir()) == ["test_w.py"]


def test_a_run_recorded_before_outcomes_renders_as_it_did() -> None:
    old = TestsRan(command=("python", "-m", "pytest"), exit_code=0, output="1 passed")
    assert render_tests(old) == "Command: python -m pytest\nOutcome: exit code 0\nOutput:\n1 passed"


@pytest.mark.parametrize("policy", [pytest.param("bwrap", marks=needs_bwrap), "none"])
def test_stop_all_kills_running_tests_and_removes_their_scratch(
    tmp_path: Path, policy: SandboxPolicy
) -> None:
    marker = f"agentlog-hang-{uuid.uuid4().hex}"
    hang = (
        "import subprocess, sys\n\ndef test_hang():\n"
        f"    subprocess.run([sys.executable, '-c', 'import time; time.sleep(300)', {marker!r}])\n"
    )
    name = f"test_hang_{marker[-12:]}.py"  # its own name: other pytest processes may run
    root = tree(tmp_path, **{name: hang})
    result: list[TestsRan] = []
    worker = threading.Thread(
        target=lambda: result.append(run_tests(root, timeout=120, policy=policy))
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker)
    assert stop_running_tests() == 1
    worker.join(timeout=10)
    assert result and result[0].exit_code is not None  # ended, not by the timeout
    assert processes_with(marker) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"agentlog-tests-*/workspace/{name}"))


def test_stopping_every_run_leaves_each_runs_output_pipe_to_its_own_thread() -> None:
    """``stop_all`` runs on another thread than the runs it kills: closing a run's pipe
    there would fail the read its thread is in (EBADF, seen in CI), or read another file
    once the descriptor's number is reused. It kills; the run's thread closes."""
    from actors.sandbox.runner import _registry

    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    _registry.add(proc)
    try:
        assert stop_running_tests() >= 1
        assert proc.returncode is not None  # killed (and reaped)
        assert proc.stdout is not None and not proc.stdout.closed
        assert proc.stdout.read() == b""  # the pipe ends: what its thread reads next
    finally:
        _registry.drop(proc)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_an_unconfined_daemon_holding_the_pipe_does_not_stall_the_run(tmp_path: Path) -> None:
    marker = f"agentlog-daemon-{uuid.uuid4().hex}"
    test = "from daemon_helper import leave_a_daemon\n\ndef test_d():\n    leave_a_daemon()\n"
    files = {"daemon_helper.py": daemon_source(marker), "test_d.py": test}
    try:
        ran = run_tests(tree(tmp_path, **files), timeout=120, policy="none")
        assert processes_with(marker)  # it is still there, holding the output pipe
        assert "DAEMON-ALIVE" in ran.output
        assert (ran.outcome, ran.timed_out) == ("passed", False)  # yet the run ended
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)


def test_a_command_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    root = tree(tmp_path, **{"x.py": ""})
    ran = run_tests(root, ("no-such-test-runner",), timeout=30, policy="none")
    assert (ran.outcome, ran.exit_code) == ("error", 127)


def test_a_test_that_closes_its_output_and_hangs_still_times_out(tmp_path: Path) -> None:
    quiet = (
        "import os, time\n\n"
        "def test_q():\n"
        "    for fd in os.listdir('/proc/self/fd'):\n"
        "        try:\n"
        "            if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):\n"
        "                os.close(int(fd))\n"
        "        except OSError:\n"
        "            pass\n"
        "    time.sleep(300)\n"
    )
    ran = run_tests(tree(tmp_path, **{"test_q.py": quiet}), timeout=3, policy="none")
    assert (ran.outcome, ran.timed_out) == ("timeout", True)


def test_a_sandbox_that_cannot_be_spawned_reports_it(tmp_path: Path) -> None:
    gone = Sandbox(kind="bwrap", version="0", binary=str(tmp_path / "no-bwrap"))
    done = run_confined(tree(tmp_path, **{"x.py": ""}), ("true",), timeout=10, sandbox=gone)
    assert (done.started, done.exit_code) == (False, None)
    assert "cannot start the tests" in done.output


@needs_bwrap
def test_a_hidden_path_inside_the_interpreter_is_empty_in_the_sandbox(tmp_path: Path) -> None:
    hidden = Path(msgspec.__file__).parent  # as a run directory inside a venv would be
    probe = f"import os\n\ndef test_p():\n    assert os.listdir({str(hidden)!r}) == []\n"
    ran = run_tests(tree(tmp_path, **{"test_p.py": probe}), timeout=30, hidden=(hidden,))
    assert ran.outcome == "passed", ran.output
