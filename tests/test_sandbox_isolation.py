"""One test run against the host and against other runs: its processes count against its
own limit only, and it sees of an editable install only the code the tests can import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import msgspec
import pytest
from _sandbox import needs_bwrap

from actors.sandbox import Completed, Limits, resolve, run_confined

pytestmark = needs_bwrap

FEW = Limits(processes=16)
ROOT = Path(__file__).resolve().parents[1]


def a_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir(parents=True)
    (root / "mod.py").write_text("X = 1\n")
    return root


def holder_source(name: str) -> str:
    """Forks until the process limit says no, holds every child, reports how many it
    holds, then names itself ``name`` (its ``comm``, visible in the host's ``/proc``)."""
    return (
        "import os, signal\n"
        "held = 0\n"
        "while True:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except BlockingIOError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        signal.pause()\n"
        "    held += 1\n"
        "print('HELD', held, flush=True)\n"
        f"open('/proc/self/comm', 'w').write({name!r})\n"
        "signal.pause()\n"
    )


def named(name: str) -> list[int]:
    """Host pids of the processes whose ``comm`` is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_one_runs_processes_do_not_count_against_anothers_limit(tmp_path: Path) -> None:
    sandbox = resolve("bwrap")
    name = "hold" + uuid.uuid4().hex[:11]  # a comm has at most 15 characters
    holding: list[Completed] = []
    holder = threading.Thread(
        target=lambda: holding.append(
            run_confined(
                a_tree(tmp_path / "a"),
                (sys.executable, "-c", holder_source(name)),
                timeout=120,
                sandbox=sandbox,
                limits=FEW,
            )
        )
    )
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while not named(name) and holder.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert named(name), holding  # the first run is at its limit, holding every process
        forker = (
            "import os\n"
            "pids = []\n"
            "for _ in range(8):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        os._exit(0)\n"
            "    pids.append(pid)\n"
            "for pid in pids:\n"
            "    os.waitpid(pid, 0)\n"
            "print('FORKED', len(pids))\n"
        )
        other = run_confined(
            a_tree(tmp_path / "b"),
            (sys.executable, "-c", forker),
            timeout=60,
            sandbox=sandbox,
            limits=FEW,
        )
    finally:
        for pid in named(name):
            os.kill(pid, signal.SIGKILL)
        holder.join(timeout=30)
    assert (other.exit_code, other.output.strip()) == (0, "FORKED 8")
    assert holding[0].output.split() == ["HELD", str(FEW.processes - 1)]


@pytest.mark.skipif(os.geteuid() != 0, reason="a run started by root drops to a user of its own")
def test_a_root_started_runs_user_is_named_sandbox_with_home_in_tmp(tmp_path: Path) -> None:
    who = "import json, os, pwd\nu = pwd.getpwuid(os.getuid())\nprint(json.dumps(u[:6]))\n"
    done = run_confined(
        a_tree(tmp_path), (sys.executable, "-c", who), timeout=60, sandbox=resolve("bwrap")
    )
    assert done.exit_code == 0, done.output
    name, _, uid, gid, _, home = json.loads(done.output)
    assert (name, home) == ("sandbox", "/tmp")
    assert uid == gid != 65534  # not nobody, whom every root-started run would share


SECRET = "AGENTLOG_TEST_SECRET=" + "hunter2-untracked"  # split: no real secret reads like this

#: Runs inside the sandbox: imports each editable project, tries to read each file
#: (given by absolute path), prints what it got as JSON.
PROBE = """\
import json, sys
got = {}
for name in ("dep", "lib", "proj"):
    try:
        got[name] = __import__(name).WHERE
    except ImportError as exc:
        got[name] = "ImportError: " + str(exc)
for path in sys.argv[1:]:
    try:
        got[path] = open(path).read()
    except OSError as exc:
        got[path] = exc.strerror
print(json.dumps(got))
"""

#: Runs with the throwaway venv's interpreter: ``DRIVER POLICY TREE PROBE PATHS...``
#: runs PROBE on TREE under POLICY.
DRIVER = """\
import json, sys
from pathlib import Path
from actors.sandbox import resolve, run_confined
done = run_confined(
    Path(sys.argv[2]), [sys.executable, "-c", sys.argv[3], *sys.argv[4:]],
    timeout=60, sandbox=resolve(sys.argv[1]),
)
print(done.output)
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class Editables(msgspec.Struct):
    got: dict[str, str]
    unconfined: dict[str, str]
    secrets: list[str]
    others: list[str]
    own_on_host: str


@pytest.fixture(scope="module")
def editables(tmp_path_factory: pytest.TempPathFactory) -> Editables:
    """A venv with three editable installs, each a checkout holding a ``.env``: ``dep``
    (a ``.pth`` naming its checkout, as uv, hatch, pdm and poetry write), ``lib`` (a
    setuptools finder), and ``proj`` (``src/`` layout), the workspace's own project. A
    run with the venv's interpreter (sandboxed, and unconfined) imports each and reads
    every file."""
    template = pytest.importorskip("setuptools.command.editable_wheel")._finder_template
    top = tmp_path_factory.mktemp("editables")
    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_dir = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    home = top / "home"
    secrets = [
        write(home / "dep" / ".env", SECRET),
        write(home / "dep" / "dep" / ".env", SECRET),
        write(home / "lib" / ".env", SECRET),
        write(home / "lib" / "lib" / ".env", SECRET),
        write(home / "proj" / ".env", SECRET),
    ]
    others = [
        write(home / "dep" / "notes.txt", "untracked notes"),
        write(home / "dep" / "dep" / "data.json", "{}"),
        write(home / "dep" / "scripts" / "deploy.sh", "echo deploy"),
    ]
    write(home / "dep" / "dep" / "__init__.py", "WHERE = 'dep'\n")
    write(home / "lib" / "lib" / "__init__.py", "WHERE = 'lib'\n")
    own_on_host = write(home / "proj" / "src" / "proj" / "__init__.py", "WHERE = 'host'\n")
    write(site_dir / "_dep.pth", f"{home / 'dep'}\n")
    write(site_dir / "_proj.pth", f"{home / 'proj' / 'src'}\n")
    finder = "__editable___lib_0_1_finder"
    write(site_dir / f"{finder}.py", template(finder, {"lib": str(home / "lib" / "lib")}, {}))
    write(site_dir / "__editable__.lib-0.1.pth", f"import {finder}; {finder}.install()\n")
    tree = top / "tree"
    write(tree / "src" / "proj" / "__init__.py", "WHERE = 'workspace'\n")
    write(tree / "tests" / "test_proj.py", "import proj\n")
    deps = os.path.dirname(os.path.dirname(msgspec.__file__))
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join([str(ROOT), deps])}
    paths = [str(p) for p in (*secrets, *others, own_on_host)]
    got: dict[str, dict[str, str]] = {}
    for policy in ("bwrap", "none"):
        done = subprocess.run(
            [python, "-c", DRIVER, policy, str(tree), PROBE, *paths],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        got[policy] = json.loads(done.stdout.strip().splitlines()[-1])
    return Editables(
        got=got["bwrap"],
        unconfined=got["none"],
        secrets=[str(p) for p in secrets],
        others=[str(p) for p in others],
        own_on_host=str(own_on_host),
    )


def test_no_file_of_an_editable_checkout_but_its_code_is_readable(editables: Editables) -> None:
    assert SECRET not in json.dumps(editables.got)
    for path in [*editables.secrets, *editables.others]:
        assert editables.got[path] == "No such file or directory", path


def test_editable_dependencies_are_still_importable(editables: Editables) -> None:
    assert (editables.got["dep"], editables.got["lib"]) == ("dep", "lib")


def test_the_workspaces_own_editable_project_is_imported_from_the_scratch_copy(
    editables: Editables,
) -> None:
    assert editables.got["proj"] == "workspace"
    assert editables.got[editables.own_on_host] == "No such file or directory"


def test_unconfined_tests_also_import_the_workspaces_own_project_from_the_scratch_copy(
    editables: Editables,
) -> None:
    assert editables.unconfined["proj"] == "workspace"
