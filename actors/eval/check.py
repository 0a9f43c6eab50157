"""The hidden check of one run: the change applied to a fresh copy, the check run on it.

A task's check runs only after its run ended, on a scratch copy: for a workspace run, a
copy of the workspace with the run's change applied (approved or not: an evaluation
measures every change); for a run without a workspace, the file set ``files/`` shows
(the log's working copy). The command runs under the run's sandbox policy with the runs
directory out of its view, and its outcome is appended to the run's log as a
:class:`~events.CheckRan`, so an evaluation run again finds it and checks nothing twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import msgspec

from actors.eval.tasks import EvalTask
from actors.testrun import run_tests
from events import AgentlogError, CheckRan, SandboxPolicy
from store import EventLog, ObjectStore, workflow_state, working_copy_at

__all__ = ["WorkspaceError", "check_run", "last_check", "prepare_workspace", "record_check"]


class WorkspaceError(AgentlogError):
    """A task's workspace cannot be prepared (no such directory, repository or commit)."""

    exit_code = 2


def prepare_workspace(task: EvalTask, runs_dir: Path) -> str | None:
    """The directory the task's runs work in: its ``workspace``, or, with a ``commit``, a
    checkout of that commit under ``runs_dir/.workspaces/<id>`` (made once, then reused)."""
    if task.workspace is None:
        return None
    source = Path(task.workspace).resolve()
    if not source.is_dir():
        raise WorkspaceError(f"task {task.id!r}: workspace {source} is not a directory")
    if task.commit is None:
        return str(source)
    dest = runs_dir / ".workspaces" / task.id
    if dest.is_dir() and _head(dest) == _resolve_commit(source, task):
        return str(dest.resolve())
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git(None, "clone", "--quiet", "--no-checkout", str(source), str(dest), task=task)
    _git(dest, "-c", "advice.detachedHead=false", "checkout", "--quiet", task.commit, task=task)
    return str(dest.resolve())


def _resolve_commit(repo: Path, task: EvalTask) -> str:
    return _git(repo, "rev-parse", "--verify", f"{task.commit}^{{commit}}", task=task)


def _head(repo: Path) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _git(repo: Path | None, *args: str, task: EvalTask) -> str:
    where = ["-C", str(repo)] if repo is not None else []
    done = subprocess.run(["git", *where, *args], capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise WorkspaceError(f"task {task.id!r}: workspace at commit {task.commit}: {why}")
    return done.stdout.strip()


def last_check(run_dir: Path) -> CheckRan | None:
    """The run's last recorded check, or None when it was never checked."""
    found = None
    for ev in EventLog(run_dir).read():
        if type(ev) is CheckRan:
            found = ev
    return found


def _write_files(run_dir: Path, into: Path) -> None:
    """Write the run's working copy (what ``files/`` shows) into ``into``."""
    tree = working_copy_at(EventLog(run_dir).read(), ObjectStore(run_dir))
    for path in tree.paths():
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(tree.read(path))
        os.chmod(target, tree.entries[path].mode & 0o777 or 0o644)


def check_run(
    task: EvalTask,
    sample: int,
    run_dir: Path,
    workspace: str | None,
    *,
    policy: SandboxPolicy,
    timeout: float,
) -> CheckRan:
    """Run ``task``'s check on sample ``sample``'s change (see the module docstring)."""
    from actors.workspace import apply_run

    with tempfile.TemporaryDirectory(prefix="agentlog-check-") as scratch:
        copy = Path(scratch) / "work"
        try:
            if workspace is not None:
                shutil.copytree(workspace, copy, symlinks=True)
                apply_run(run_dir, copy, force=True)
            else:
                copy.mkdir()
                _write_files(run_dir, copy)
        except (AgentlogError, OSError) as exc:
            return CheckRan(
                task_id=task.id,
                sample=sample,
                command=task.check,
                outcome="error",
                problem=f"the change could not be applied: {exc}",
            )
        ran = run_tests(
            copy,
            ("sh", "-c", task.check),
            timeout=timeout,
            policy=policy,
            hidden=(run_dir.parent.resolve(),),
            in_place=True,  # ``copy`` is this check's own: not copied a second time
        )
    return CheckRan(
        task_id=task.id,
        sample=sample,
        command=task.check,
        passed=ran.exit_code == 0 and not ran.timed_out,
        outcome=ran.outcome,
        exit_code=ran.exit_code,
        output=ran.output,
        truncated=ran.truncated,
        timed_out=ran.timed_out,
        duration_ms=ran.duration_ms,
        problem=ran.problem,
        sandbox=ran.sandbox,
    )


def record_check(run_dir: Path, check: CheckRan) -> CheckRan:
    """Append ``check`` to the run's log (after its end) and return it as logged."""
    log = EventLog(run_dir)
    state = workflow_state(log.read())
    with log.writer() as writer:
        return writer.append(msgspec.structs.replace(check, workflow_id=state.workflow_id))
