"""SIGKILL ``agentlog apply`` at every file-system step: the next command settles it.

One recorded run changes a file, creates one in new directories, deletes one and renames
an executable. A child ``agentlog apply`` is killed (real SIGKILL, see ``_killer.py``) at
every step of the transaction: just before the first call, in the middle of every write,
and just after every call. After each kill the next ``agentlog verify`` (on half of the
points) or ``agentlog apply`` (on the others) must leave the target exactly as it was or
fully applied, with no ``.agentlog-`` file and no journal left, and say what it did; the
apply after it must leave the target fully applied. The kills run once in a module
fixture (forked from one process, so the whole plan takes seconds); each test checks one
property of every outcome. The copies live on a tmpfs when there is one (``_scratch``).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _repo import APP, TEST, commit_all, make_repo, needs_git, workspace_model
from _scratch import scratch_dir
from _workflow import FAST

from actors import Supervisor
from actors.cli import main
from actors.workspace.transaction import JOURNAL

pytestmark = needs_git

KILLER = [sys.executable, str(Path(__file__).with_name("_killer.py"))]
CHANGE = {
    "changes": [
        {
            "op": "edit",
            "path": "src/app.py",
            "search": 'return "hello " + name',
            "replace": 'return "hi " + name',
        },
        {"op": "create", "path": "src/new/deep/extra.py", "content": "X = 1\n"},
        {"op": "delete", "path": "README.md"},
        {"op": "rename", "path": "run.sh", "to": "bin/run.sh"},
    ],
    "notes": "hi, a new module, no README, the script moved",
}

#: path -> (kind, permission bits, bytes) for every entry under a directory, hidden ones
#: and ``.git`` included.
Listing = dict[str, tuple[str, int, bytes | None]]


def listing(root: Path) -> Listing:
    out: Listing = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            out[str(path.relative_to(root))] = ("link", 0, str(path.readlink()).encode())
        elif path.is_dir():
            out[str(path.relative_to(root))] = ("dir", 0, None)
        else:
            out[str(path.relative_to(root))] = ("file", st.st_mode & 0o777, path.read_bytes())
    return out


def debris(repo: Path, run: Path) -> list[str]:
    """Files an apply leaves only while it runs: staged files, backups, the journal."""
    found = [str(p) for p in repo.rglob("*") if ".agentlog-" in p.name]
    return found + [str(p) for p in run.iterdir() if p.name.startswith(JOURNAL)]


def cli(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@dataclass(frozen=True)
class Recorded:
    repo: Path  # pristine: as the run recorded it
    run: Path
    before: Listing
    after: Listing  # the target once applied without interruption
    steps: list[str]  # the transaction's file-system calls, in order


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with scratch_dir(tmp_path_factory.mktemp("crash")) as where:
        yield where


@pytest.fixture(scope="module")
def recorded(scratch: Path) -> Recorded:
    tmp = scratch / "recorded"
    repo = make_repo(
        tmp / "repo",
        {"src/app.py": APP, "tests/test_app.py": TEST, "conftest.py": "", "run.sh": "echo\n"},
    )
    (repo / "run.sh").chmod(0o755)
    commit_all(repo, "executable")
    run = tmp / "run"
    model = workspace_model(code=[{"tool_input": CHANGE}])
    assert Supervisor(FAST, model=model).run("greet with hi", run, workspace=repo).ok
    applied = tmp / "applied"
    shutil.copytree(repo, applied, symlinks=True)
    probe = shutil.copytree(run, tmp / "probe-run", symlinks=True)
    done = subprocess.run(
        [*KILLER, "apply:0", "apply", str(probe), "--to", str(applied)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("apply-steps: "))
    return Recorded(repo, run, listing(repo), listing(applied), line.split()[1:])


def points_of(steps: list[str]) -> list[str]:
    """Before the first call, mid-way through every write, just after every call."""
    torn = [f"apply:{n}" for n, name in enumerate(steps, 1) if name == "write"]
    return ["apply:1", *torn, *[f"apply:{n}+" for n in range(1, len(steps) + 1)]]


def apply_args(repo: Path, run: Path) -> list[str]:
    return ["apply", str(run), "--to", str(repo)]


def kill_all(jobs: list[tuple[str, list[str]]], where: Path) -> list[int]:
    """Run each (point, agentlog args) in a child killed at that point; their exit codes."""
    where.mkdir(parents=True, exist_ok=True)
    plan = where / "jobs.json"
    plan.write_text(json.dumps(jobs))
    done = subprocess.run(
        [*KILLER, "--fork", str(plan)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    codes: list[int] = json.loads(done.stdout.splitlines()[-1])
    return codes


@dataclass
class Outcome:
    point: str
    how: str  # "verify" or "apply": the command run first after the kill
    code: int  # the killed child's exit code
    journal: bool  # a journal was left by the kill
    first_rc: int
    first_err: str
    settled: Listing  # the target after that first command, for "verify"
    settled_debris: list[str]
    final_rc: int
    final: Listing  # the target after the apply that follows
    final_debris: list[str]


def copy_case(recorded: Recorded, where: Path) -> tuple[Path, Path]:
    repo = shutil.copytree(recorded.repo, where / "repo", symlinks=True)
    run = shutil.copytree(recorded.run, where / "run", symlinks=True)
    return repo, run


def settle(point: str, how: str, code: int, repo: Path, run: Path) -> Outcome:
    journal = (run / JOURNAL).exists()
    if how == "verify":
        first_rc, _, first_err = cli("verify", run)
    else:
        first_rc, _, first_err = cli("apply", run, "--to", repo)
    settled, settled_debris = listing(repo), debris(repo, run)
    final_rc, _, _ = cli("apply", run, "--to", repo)
    return Outcome(
        point,
        how,
        code,
        journal,
        first_rc,
        first_err,
        settled,
        settled_debris,
        final_rc,
        listing(repo),
        debris(repo, run),
    )


@pytest.fixture(scope="module")
def outcomes(recorded: Recorded, scratch: Path) -> list[Outcome]:
    root = scratch / "kills"
    points = points_of(recorded.steps)
    cases = [copy_case(recorded, root / f"{i:03d}") for i in range(len(points))]
    jobs = [
        (p, ["apply", str(run), "--to", str(repo)])
        for p, (repo, run) in zip(points, cases, strict=True)
    ]
    codes = kill_all(jobs, root)
    hows = ["verify" if i % 2 else "apply" for i in range(len(points))]
    return [
        settle(p, how, code, repo, run)
        for p, how, code, (repo, run) in zip(points, hows, codes, cases, strict=True)
    ]


def test_the_plan_kills_at_every_kind_of_step(recorded: Recorded) -> None:
    assert recorded.before != recorded.after
    kinds = set(recorded.steps)
    assert {"open", "write", "fchmod", "fsync", "mkdir", "link", "replace", "unlink"} <= kinds


def test_every_child_died_by_sigkill_at_its_point(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        assert o.code == -signal.SIGKILL, o.point


def test_the_next_command_leaves_the_target_as_before_or_fully_applied(
    outcomes: list[Outcome], recorded: Recorded
) -> None:
    seen = set()
    for o in outcomes:
        if o.how == "verify":
            assert o.first_rc == 0, (o.point, o.first_err)
            assert o.settled in (recorded.before, recorded.after), o.point
            seen.add("before" if o.settled == recorded.before else "after")
    assert seen == {"before", "after"}  # kills land on both sides of the commit point


def test_the_next_command_leaves_no_debris(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        assert o.settled_debris == [], o.point
        assert o.final_debris == [], o.point


def test_the_next_command_says_what_it_did_with_the_interrupted_apply(
    outcomes: list[Outcome], recorded: Recorded
) -> None:
    for o in outcomes:
        said = "a previous apply to" in o.first_err and "was interrupted" in o.first_err
        assert said == o.journal, (o.point, o.first_err)
        if o.journal and o.how == "verify":
            expected = "rolled back" if o.settled == recorded.before else "finished"
            assert expected in o.first_err, (o.point, o.first_err)


def test_apply_after_a_kill_leaves_the_target_fully_applied(
    outcomes: list[Outcome], recorded: Recorded
) -> None:
    for o in outcomes:
        if o.how == "apply":
            assert o.first_rc == 0, (o.point, o.first_err)
            assert o.settled == recorded.after, o.point
        assert o.final_rc == 0, o.point
        assert o.final == recorded.after, o.point


def test_a_kill_while_settling_a_killed_apply_is_settled_by_the_next_command(
    recorded: Recorded, scratch: Path
) -> None:
    """Killed once with every file swapped in but not committed, then killed again at
    every step of the roll-back the next apply does before applying again."""
    tmp_path = scratch / "twice"
    replaces = [n for n, name in enumerate(recorded.steps, 1) if name == "replace"]
    first = f"apply:{replaces[-2]}+"  # the last file swapped in; the journal says not done

    probe_repo, probe_run = copy_case(recorded, tmp_path / "probe")
    assert kill_all([(first, apply_args(probe_repo, probe_run))], tmp_path / "probe") == [-9]
    assert (probe_run / JOURNAL).exists()
    done = subprocess.run(
        [*KILLER, "apply:0", *apply_args(probe_repo, probe_run)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert listing(probe_repo) == recorded.after
    steps = next(x for x in done.stderr.splitlines() if x.startswith("apply-steps: "))
    settling = steps.split()[1:]
    settling = settling[: settling.index("open")]  # the new journal: the apply proper
    assert {"replace", "unlink", "rmdir"} <= set(settling)
    points = points_of(settling)
    cases = [copy_case(recorded, tmp_path / f"{i:03d}") for i in range(len(points))]
    once = kill_all([(first, apply_args(*case)) for case in cases], tmp_path / "once")
    assert set(once) == {-signal.SIGKILL}
    twice = kill_all([(p, apply_args(*c)) for p, c in zip(points, cases, strict=True)], tmp_path)
    assert set(twice) == {-signal.SIGKILL}
    for point, (target, run) in zip(points, cases, strict=True):
        rc, _, err = cli(*apply_args(target, run))
        assert rc == 0, (point, err)
        assert listing(target) == recorded.after, point
        assert debris(target, run) == [], point


def test_ctrl_c_before_the_commit_point_puts_everything_back_at_once(
    recorded: Recorded, scratch: Path
) -> None:
    """SIGINT at every step: exit 130, nothing left behind, and the target as it was
    before the journal is marked committed, fully applied after."""
    tmp_path = scratch / "sigint"
    commit = max(n for n, name in enumerate(recorded.steps, 1) if name == "replace")
    points = [f"sigint:{n}" for n in range(1, len(recorded.steps) + 1)]
    cases = [copy_case(recorded, tmp_path / f"{i:03d}") for i in range(len(points))]
    codes = kill_all([(p, apply_args(*c)) for p, c in zip(points, cases, strict=True)], tmp_path)
    for n, (code, (repo, run)) in enumerate(zip(codes, cases, strict=True), 1):
        assert code == 130, n
        assert debris(repo, run) == [], n
        now = listing(repo)
        if n != commit:  # at the commit's own rename, Ctrl-C may land before or after it
            assert now == (recorded.before if n < commit else recorded.after), n
        assert now in (recorded.before, recorded.after), n


@pytest.mark.parametrize("command", ["log", "show", "diff", "stats", "resume"])
def test_any_command_on_the_run_settles_a_killed_apply(
    command: str, recorded: Recorded, scratch: Path
) -> None:
    """Not only apply and verify: the next agentlog command on the run, whichever it is."""
    where = scratch / f"any-{command}"
    replaces = [n for n, name in enumerate(recorded.steps, 1) if name == "replace"]
    repo, run = copy_case(recorded, where)
    point = f"apply:{replaces[-2]}+"  # files swapped in, the journal not committed
    assert kill_all([(point, apply_args(repo, run))], where) == [-signal.SIGKILL]
    assert (run / JOURNAL).exists() and listing(repo) != recorded.before
    args = {"show": ["show", run, "1"]}.get(command, [command, run])
    _, _, err = cli(*args)
    assert "a previous apply to" in err and "rolled back" in err, err
    assert listing(repo) == recorded.before
    assert debris(repo, run) == []


def test_the_cli_knows_the_journals_name() -> None:
    from actors.cli.opening import APPLY_JOURNAL

    assert APPLY_JOURNAL == JOURNAL
