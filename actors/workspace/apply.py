"""Hand a workspace run's change back: apply it to a directory, or commit it on a branch.

:func:`apply_run` writes the change into a directory (by default the recorded workspace)
only after checking that every file it touches still matches the recorded base; with
``three_way`` a file that moved on is merged (``git merge-file``) and refused only on a
conflict. The writes are one journaled transaction (:mod:`actors.workspace.transaction`):
any failure puts everything back, and an apply cut short (kill, power cut) is rolled back
or finished by the next ``agentlog apply`` or ``verify`` on the run, so no tree is ever
left half-applied; nothing is written inside ``.git`` or through a symbolic link.
:func:`commit_run` commits the change on a new git branch at the base commit with git's
plumbing, never touching the working tree or ``HEAD``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from pathlib import Path

import msgspec

from actors.workspace.transaction import Write as _Write
from actors.workspace.transaction import confine, recover, transact
from events import EXIT_USAGE, AgentlogError
from store import (
    EventLog,
    FileDiff,
    ObjectStore,
    Tree,
    UnsafePath,
    object_hash,
    safe_path,
    tree_at,
    tree_diff,
    workflow_state,
    workspace_base,
)

__all__ = ["ApplyRefused", "ApplyReport", "NoWorkspace", "apply_run", "commit_run", "run_change"]


_MISSING = "missing in the target"


class NoWorkspace(AgentlogError):
    """The run did not start from a workspace, so it has no change to hand back."""

    exit_code = EXIT_USAGE


class ApplyRefused(AgentlogError):
    """The target does not match the recorded base (or a merge conflicts): nothing written."""

    def __init__(self, target: Path, problems: list[tuple[str, str]], hint: str) -> None:
        self.target = target
        self.problems = problems
        listed = "; ".join(f"{path}: {why}" for path, why in problems)
        super().__init__(f"{target}: not applied, nothing written: {listed}{hint}")


class ApplyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an apply did: files written, deleted and merged, or the branch it made."""

    target: str
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()
    branch: str | None = None
    commit: str | None = None


def run_change(run_dir: str | Path, round: int | None = None) -> tuple[Tree, Tree, list[FileDiff]]:
    """(base tree, result tree, per-file diff) of a run, after ``round`` (default: last)."""
    run = EventLog(run_dir).path.parent
    trees = tree_at(EventLog(run).read(), ObjectStore(run), round=round)
    if trees is None:
        raise NoWorkspace(f"{run}: the run has no workspace (start one with --workspace DIR)")
    start, result = trees
    return start, result, tree_diff(start, result)


def _default_target(run_dir: str | Path) -> Path:
    base = workspace_base(EventLog(run_dir).read())
    assert base is not None
    return Path(base.root)


def apply_run(
    run_dir: str | Path,
    target: str | Path | None = None,
    *,
    three_way: bool = False,
    round: int | None = None,
) -> ApplyReport:
    """Apply the run's change to ``target`` (default: the recorded workspace) atomically."""
    recover(EventLog(run_dir).path.parent)  # an apply cut short earlier is settled first
    start, result, diffs = run_change(run_dir, round)
    root = Path(target) if target is not None else _default_target(run_dir)
    if not root.is_dir():
        raise ApplyRefused(root, [(".", "not a directory")], "")
    writes: list[_Write] = []
    deletes: list[str] = []
    merged: list[str] = []
    problems: list[tuple[str, str]] = []
    for diff in diffs:
        if diff.status in ("deleted", "renamed"):
            gone = diff.old_path or diff.path
            why = _differs(root, gone, start.entries[gone].hash)
            if why == _MISSING:
                pass  # already gone: nothing to delete
            elif why is not None:
                problems.append((gone, why))
            else:
                deletes.append(gone)
        if diff.status in ("added", "renamed"):
            why = _occupied(root, diff.path, result.read(diff.path))
            if why is not None:
                problems.append((diff.path, why))
            elif not _holds_bytes(root, diff.path, result.read(diff.path)):
                writes.append(
                    _Write(diff.path, result.read(diff.path), result.entries[diff.path].mode)
                )
        if diff.status == "modified":
            why = _differs(root, diff.path, start.entries[diff.path].hash)
            new = result.read(diff.path)
            if why is not None and _holds_bytes(root, diff.path, new):
                continue  # already the result (applied before): nothing to write
            if why is not None and three_way and why.startswith("changed"):
                data, conflict = _merge(root / diff.path, start.read(diff.path), new)
                if conflict:
                    problems.append((diff.path, "the three-way merge conflicts"))
                else:
                    writes.append(_Write(diff.path, data, result.entries[diff.path].mode))
                    merged.append(diff.path)
            elif why is not None:
                problems.append((diff.path, why))
            else:
                writes.append(_Write(diff.path, new, result.entries[diff.path].mode))
    if problems:
        hint = "" if three_way else " (--3way merges files that moved on)"
        raise ApplyRefused(root, problems, hint)
    transact(EventLog(run_dir).path.parent, root, writes, deletes)
    return ApplyReport(
        target=str(root),
        written=tuple(w.path for w in writes),
        deleted=tuple(deletes),
        merged=tuple(merged),
    )


def _confined(root: Path, rel: str) -> Path:
    try:
        confine(root, rel)
        return safe_path(root, rel)
    except UnsafePath as exc:
        raise ApplyRefused(root, [(rel, exc.reason)], "") from None


def _differs(root: Path, rel: str, digest: str) -> str | None:
    """Why ``rel`` in ``root`` is not the base's file ``digest`` (None: it is)."""
    path = _confined(root, rel)
    try:
        st = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return _MISSING
    if not stat.S_ISREG(st.st_mode):
        return "no longer a regular file"
    if object_hash(path.read_bytes()) != digest:
        return "changed since the run's base"
    return None


def _occupied(root: Path, rel: str, data: bytes) -> str | None:
    """Why the new file ``rel`` cannot be created (None: free, or already these bytes)."""
    path = _confined(root, rel)
    for parent in path.relative_to(root).parents:
        where = root / parent
        if parent != Path(".") and os.path.lexists(where) and not where.is_dir():
            return f"its directory {parent} is not a directory in the target"
    if not os.path.lexists(path):
        return None
    if _holds_bytes(root, rel, data):
        return None
    return "already exists in the target"


def _holds_bytes(root: Path, rel: str, data: bytes) -> bool:
    path = root / rel
    try:
        return stat.S_ISREG(path.lstat().st_mode) and path.read_bytes() == data
    except OSError:
        return False


def _merge(current: Path, base: bytes, ours: bytes) -> tuple[bytes, bool]:
    """Three-way merge of the target's ``current`` file with the change (base -> ours)."""
    with tempfile.TemporaryDirectory(prefix="agentlog-merge-") as tmp:
        files = []
        for name, data in (("current", current.read_bytes()), ("base", base), ("ours", ours)):
            p = Path(tmp) / name
            p.write_bytes(data)
            files.append(str(p))
        try:
            done = subprocess.run(
                ["git", "merge-file", "-p", *files], capture_output=True, check=False
            )
        except FileNotFoundError:
            raise AgentlogError("--3way needs git on the PATH") from None
    if done.returncode < 0 or done.returncode > 127:
        raise AgentlogError(f"git merge-file failed: {done.stderr.decode().strip()}")
    return done.stdout, done.returncode != 0


def _git(repo: Path, *args: str, env: dict[str, str] | None = None, data: bytes = b"") -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise AgentlogError(f"git {args[0]} failed: {done.stderr.decode().strip()}")
    return done.stdout.decode().strip()


def commit_run(
    run_dir: str | Path,
    branch: str,
    target: str | Path | None = None,
    *,
    round: int | None = None,
) -> ApplyReport:
    """Commit the change on a new branch ``branch`` at the base commit, with the task as
    the message; the working tree, the index and ``HEAD`` are left alone."""
    _, result, diffs = run_change(run_dir, round)
    log = EventLog(run_dir)
    base = workspace_base(log.read())
    assert base is not None
    repo = Path(target) if target is not None else Path(base.root)
    if base.commit is None:
        raise ApplyRefused(repo, [(".", "the run's base is not a git commit")], "")
    if not branch or branch.startswith("-"):
        raise ApplyRefused(repo, [(branch, "not a branch name")], "")
    ok = subprocess.run(
        ["git", "-C", str(repo), "check-ref-format", "--branch", branch], capture_output=True
    )
    if ok.returncode != 0:
        raise ApplyRefused(repo, [(branch, "not a valid branch name")], "")
    exists = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
        capture_output=True,
    )
    if exists.returncode == 0:
        raise ApplyRefused(repo, [(branch, "the branch already exists")], "")
    prefix = _git(repo, "rev-parse", "--show-prefix")
    with tempfile.TemporaryDirectory(prefix="agentlog-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(repo, "read-tree", base.commit, env=env)
        for diff in diffs:
            if diff.status in ("deleted", "renamed"):
                gone = prefix + (diff.old_path or diff.path)
                _git(repo, "update-index", "--force-remove", "--", gone, env=env)
            if diff.status != "deleted":
                blob = _git(repo, "hash-object", "-w", "--stdin", data=result.read(diff.path))
                mode = "100755" if result.entries[diff.path].mode & 0o111 else "100644"
                info = f"{mode},{blob},{prefix + diff.path}"
                _git(repo, "update-index", "--add", "--cacheinfo", info, env=env)
        tree = _git(repo, "write-tree", env=env)
    task = workflow_state(log.read()).task
    commit = _git(
        repo,
        "commit-tree",
        tree,
        "-p",
        base.commit,
        "-F",
        "-",
        env=_identity(repo),
        data=task.encode("utf-8"),
    )
    _git(repo, "update-ref", f"refs/heads/{branch}", commit, "")
    return ApplyReport(target=str(repo), branch=branch, commit=commit)


def _identity(repo: Path) -> dict[str, str]:
    """The user's git identity, or agentlog's when the repository has none configured."""
    have = subprocess.run(
        ["git", "-C", str(repo), "var", "GIT_COMMITTER_IDENT"], capture_output=True
    )
    if have.returncode == 0:
        return {}
    return {
        "GIT_AUTHOR_NAME": "agentlog",
        "GIT_AUTHOR_EMAIL": "agentlog@localhost",
        "GIT_COMMITTER_NAME": "agentlog",
        "GIT_COMMITTER_EMAIL": "agentlog@localhost",
    }
