"""Hostile tests written by a (scripted) model try every escape; the sandbox closes each.

One run's Coder writes a test file per escape: read the secrets, write outside scratch,
forge the log through ``/proc/*/fd``, connect to the host's loopback, exhaust processes,
memory and file size, leave a daemon holding the output pipe. Each hostile test reports
what it got as one ``NAME:...`` line (``pytest.fail``); the assertions read those lines
and check the host side (files, the log, a listener, the process table).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from _sandbox import daemon_source, needs_bwrap, processes_with
from _workflow import FAST, KEY, PLAN, answer, of_type, scripted

from actors import Supervisor
from events import Event, StepStarted, TestsRan
from store import EventLog

pytestmark = needs_bwrap

WITH_TESTS = msgspec.structs.replace(FAST, run_tests=True, test_timeout=60, step_timeout=90)
DEPLOY_KEY = "prod:" + "convexdeploykey0123456789"  # fake; split so it reads as no real key
SSH_SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- fake-ssh-secret-4242"
APPROVE = {"verdict": "approve", "summary": "ok", "comments": []}


def report(output: str, name: str) -> str:
    """The text a hostile test reported as ``NAME:...`` (it must have run)."""
    found = re.search(rf"\b{name}:(.*)$", output, re.MULTILINE)
    assert found is not None, f"the hostile test {name} did not report:\n{output}"
    return found.group(1).strip()


def hostile_files(run_dir: Path, host_tmp: Path, port: int, marker: str) -> list[dict[str, str]]:
    files = {
        "daemon_helper.py": daemon_source(marker),
        "test_writes.py": (
            "import json, pytest\n\n"
            "def test_write_everywhere():\n"
            f"    targets = [{str(host_tmp)!r}, {str(run_dir / 'files' / 'planted.py')!r},\n"
            f"               {str(run_dir / 'planted')!r}, {str(run_dir / 'plan.json')!r},\n"
            "               'scratch.txt', '/tmp/scratch.txt']\n"
            "    done = {}\n"
            "    for target in targets:\n"
            "        try:\n"
            "            with open(target, 'a') as f:\n"
            "                f.write('planted')\n"
            "            done[target] = 'written'\n"
            "        except OSError as exc:\n"
            "            done[target] = exc.strerror\n"
            "    pytest.fail('WRITES:' + json.dumps(done), pytrace=False)\n"
        ),
        "test_forge.py": (
            "import glob, json, os, pytest\n\n"
            "def test_forge_the_log():\n"
            "    seen = []\n"
            "    for fd in glob.glob('/proc/*/fd/*'):\n"
            "        try:\n"
            "            target = os.readlink(fd)\n"
            "        except OSError:\n"
            "            continue\n"
            "        if target.endswith('events.jsonl'):\n"
            "            try:\n"
            "                with open(fd, 'r+b') as f:\n"
            "                    f.write(b'FOR' + b'GED')\n"
            "                seen.append('rewrote ' + target)\n"
            "            except OSError as exc:\n"
            "                seen.append(exc.strerror)\n"
            f"    path = {str(run_dir / 'events.jsonl')!r}\n"
            "    try:\n"
            "        with open(path, 'ab') as f:\n"
            "            f.write(b'FOR' + b'GED\\n')\n"
            "        seen.append('appended')\n"
            "    except OSError as exc:\n"
            "        seen.append(exc.strerror)\n"
            "    pytest.fail('FORGE:' + json.dumps(seen), pytrace=False)\n"
        ),
        "test_network.py": (
            "import socket, pytest\n\n"
            "def test_connect_home():\n"
            "    try:\n"
            f"        socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
            "        got = 'connected'\n"
            "    except OSError as exc:\n"
            "        got = exc.strerror or type(exc).__name__\n"
            "    pytest.fail('NETWORK:' + got, pytrace=False)\n"
        ),
        "test_limits.py": (
            "import os, time, pytest\n\n"
            "def test_fork_bomb():\n"
            "    pids, err = [], 'none'\n"
            "    for _ in range(300):\n"
            "        try:\n"
            "            pid = os.fork()\n"
            "        except OSError as exc:\n"
            "            err = exc.strerror\n"
            "            break\n"
            "        if pid == 0:\n"
            "            time.sleep(30)\n"
            "            os._exit(0)\n"
            "        pids.append(pid)\n"
            "    for pid in pids:\n"
            "        os.kill(pid, 9)\n"
            "        os.waitpid(pid, 0)\n"
            "    pytest.fail(f'FORKS:{len(pids)}:{err}', pytrace=False)\n\n"
            "def test_allocate():\n"
            "    try:\n"
            "        block = bytearray(1536 * 2**20)\n"
            "        got = f'allocated {len(block)}'\n"
            "    except MemoryError:\n"
            "        got = 'MemoryError'\n"
            "    pytest.fail('MEMORY:' + got, pytrace=False)\n\n"
            "def test_big_file():\n"
            "    written, got = 0, 'ok'\n"
            "    try:\n"
            "        with open('big.bin', 'wb', buffering=0) as f:\n"
            "            for _ in range(100):\n"
            "                f.write(b'x' * 2**20)\n"
            "                written += 1\n"
            "    except OSError as exc:\n"
            "        got = exc.strerror\n"
            "    pytest.fail(f'FILESIZE:{written}:{got}', pytrace=False)\n"
        ),
        "test_daemon.py": (
            "import pytest\n"
            "from daemon_helper import leave_a_daemon\n\n"
            "def test_leave_a_daemon():\n"
            "    leave_a_daemon()\n"
            "    pytest.fail('DAEMON:started', pytrace=False)\n"
        ),
    }
    return [{"path": path, "content": content} for path, content in files.items()]


class Hostile(msgspec.Struct):
    run_dir: Path
    ran: TestsRan
    host_tmp: Path
    marker: str
    log_before_tests: bytes
    connections: int


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """One run whose Coder wrote every hostile test; what they did, seen from the host."""
    run_dir = tmp_path_factory.mktemp("hostile") / "run"
    host_tmp = Path(tempfile.gettempdir()) / f"agentlog-planted-{uuid.uuid4().hex}"
    marker = f"agentlog-daemon-{uuid.uuid4().hex}"
    snapshot: list[bytes] = []

    def snapshot_at_review(event: Event) -> None:
        if isinstance(event, StepStarted) and event.step == "review" and not snapshot:
            snapshot.append((run_dir / "events.jsonl").read_bytes())

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        files = hostile_files(run_dir, host_tmp, port, marker)
        model = scripted(code=[answer({"files": files})])
        Supervisor(WITH_TESTS, model=model, listeners=[snapshot_at_review]).run("task", run_dir)
        listener.setblocking(False)
        connections = 0
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break
            connections += 1
    yield Hostile(
        run_dir=run_dir,
        ran=of_type(run_dir, TestsRan)[0],
        host_tmp=host_tmp,
        marker=marker,
        log_before_tests=snapshot[0],
        connections=connections,
    )
    host_tmp.unlink(missing_ok=True)


def test_hostile_tests_ran_in_bwrap(hostile: Hostile) -> None:
    assert (hostile.ran.sandbox, hostile.ran.outcome) == ("bwrap", "failed")


def test_no_file_is_written_outside_scratch(hostile: Hostile) -> None:
    writes = json.loads(report(hostile.ran.output, "WRITES"))
    assert writes["scratch.txt"] == writes["/tmp/scratch.txt"] == "written"  # scratch works
    assert not hostile.host_tmp.exists()
    assert sorted(p.name for p in (hostile.run_dir / "files").iterdir()) == sorted(
        f["path"] for f in hostile_files(hostile.run_dir, hostile.host_tmp, 0, hostile.marker)
    )
    assert not (hostile.run_dir / "planted").exists()
    assert "planted" not in (hostile.run_dir / "plan.json").read_text()


def test_the_log_is_beyond_reach(hostile: Hostile) -> None:
    seen = json.loads(report(hostile.ran.output, "FORGE"))
    assert not [s for s in seen if s.startswith(("rewrote", "appended"))]
    log = (hostile.run_dir / "events.jsonl").read_bytes()
    assert log.startswith(hostile.log_before_tests)  # byte for byte
    assert b"FORGED" not in log
    assert EventLog(hostile.run_dir).verify().ok


def test_no_connection_reaches_a_host_listener(hostile: Hostile) -> None:
    assert report(hostile.ran.output, "NETWORK") != "connected"
    assert hostile.connections == 0


def test_a_fork_bomb_is_bounded(hostile: Hostile) -> None:
    forks, err = report(hostile.ran.output, "FORKS").split(":", 1)
    assert int(forks) < 64
    assert err == "Resource temporarily unavailable"
    assert "processes" in hostile.ran.limits_hit


def test_memory_is_bounded(hostile: Hostile) -> None:
    assert report(hostile.ran.output, "MEMORY") == "MemoryError"
    assert "memory" in hostile.ran.limits_hit


def test_file_size_is_bounded(hostile: Hostile) -> None:
    written, err = report(hostile.ran.output, "FILESIZE").split(":", 1)
    assert (int(written), err) == (64, "File too large")
    assert "file_size" in hostile.ran.limits_hit


def test_a_daemon_holding_the_pipe_neither_survives_nor_stalls_the_step(hostile: Hostile) -> None:
    assert report(hostile.ran.output, "DAEMON") == "started"
    assert "DAEMON-ALIVE" in hostile.ran.output  # it ran, holding the output pipe
    assert processes_with(hostile.marker) == []
    assert not hostile.ran.timed_out  # the pipe was released when the namespace died


def hanging_files(marker: str) -> list[dict[str, str]]:
    test = (
        "import time\n"
        "from daemon_helper import leave_a_daemon\n\n"
        "def test_hang():\n"
        "    leave_a_daemon()\n"
        "    time.sleep(300)\n"
    )
    return [
        {"path": "daemon_helper.py", "content": daemon_source(marker)},
        {"path": "test_hang.py", "content": test},
    ]


@pytest.fixture(scope="module")
def hanging(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run whose test leaves a daemon holding the pipe and then hangs."""
    run_dir = tmp_path_factory.mktemp("hanging") / "run"
    marker = f"agentlog-daemon-{uuid.uuid4().hex}"
    config = msgspec.structs.replace(WITH_TESTS, test_timeout=5)
    model = scripted(code=[answer({"files": hanging_files(marker)})])
    Supervisor(config, model=model).run("task", run_dir)
    return run_dir, marker


def test_hanging_tests_time_out_and_the_step_goes_on(hanging: tuple[Path, str]) -> None:
    run_dir, _ = hanging
    ran = of_type(run_dir, TestsRan)[0]
    assert (ran.outcome, ran.timed_out, ran.exit_code) == ("timeout", True, None)
    assert (run_dir / "review.json").exists()  # the Reviewer still answered


def test_the_timeout_kills_everything_the_tests_started(hanging: tuple[Path, str]) -> None:
    run_dir, marker = hanging
    assert "DAEMON-ALIVE" in of_type(run_dir, TestsRan)[0].output  # there was one to kill
    assert processes_with(marker) == []


def steal_source(fake_home: Path) -> str:
    """A test that gathers the parent's environment, every readable environ, ``~/.ssh``."""
    return (
        "import glob, json, os, pytest\n\n"
        "def test_steal():\n"
        f"    sources = ['/proc/%d/environ' % os.getppid(), *glob.glob('/proc/*/environ'),\n"
        f"               os.path.expanduser('~/.ssh/id_ed25519'),\n"
        f"               {str(fake_home / '.ssh' / 'id_ed25519')!r}]\n"
        "    loot, readable = [], 0\n"
        "    for path in sources:\n"
        "        try:\n"
        "            data = open(path, 'rb').read()\n"
        "        except OSError:\n"
        "            continue\n"
        "        readable += 1\n"
        "        loot += [x for x in data.split(b'\\0') if b'KEY=' in x or b'PRIVATE' in x]\n"
        "    loot += [f'{k}={v}'.encode() for k, v in os.environ.items() if 'KEY' in k]\n"
        "    print('PLAIN:' + b' '.join(loot).decode(errors='replace'))\n"
        "    pytest.fail(f'LOOT:{readable}:' + b' '.join(loot)[::-1].hex(), pytrace=False)\n"
    )


def cli_run(tmp: Path, policy: str) -> TestsRan:
    """``agentlog run --run-tests`` in a child whose environment holds the secrets."""
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_SECRET)
    files = [{"path": "test_steal.py", "content": steal_source(home)}]
    script: dict[str, Any] = {
        "plan": [answer(PLAN)],
        "code": [answer({"files": files})],
        "review": [answer(APPROVE)],
    }
    (tmp / "script.json").write_bytes(msgspec.json.encode(script))
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "CONVEX_DEPLOY_KEY": DEPLOY_KEY}
    env["HOME"] = str(home)
    cli = [sys.executable, "-c", "import sys; from actors.cli import main; sys.exit(main())"]
    args = ["run", "task", "--script", str(tmp / "script.json"), "--run-tests"]
    args += ["--sandbox", policy, "--run-dir", str(tmp / "run")]
    done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ran: TestsRan = of_type(tmp / "run", TestsRan)[0]
    return ran


def hex_of(secret: str) -> str:
    """The loot's encoding: reversed, then hex, a form the scrubber does not mask (it
    masks hex), so the report shows what the test could read."""
    return secret.encode()[::-1].hex()


def test_no_secret_reaches_a_sandboxed_test(tmp_path: Path) -> None:
    ran = cli_run(tmp_path, "auto")
    readable, loot = report(ran.output, "LOOT").split(":", 1)
    assert int(readable) > 0  # it did read environ files: its own namespace's
    for secret in (KEY, DEPLOY_KEY, SSH_SECRET):
        assert hex_of(secret) not in loot
        assert secret not in ran.output


def test_unconfined_tests_can_read_the_key_but_its_output_is_masked(tmp_path: Path) -> None:
    ran = cli_run(tmp_path, "none")
    assert ran.sandbox == "none"
    assert hex_of(KEY) in report(ran.output, "LOOT")  # the risk --sandbox none accepts
    assert KEY not in ran.output  # yet the plain key is masked before the log and the model
    assert "ANTHROPIC_API_KEY=[redacted]" in report(ran.output, "PLAIN")
