"""Hand a workspace run's change back: apply it to a directory, or commit it on a branch.

:func:`apply_run` writes the change into a directory (by default the recorded workspace)
only after checking that every file it touches still matches the recorded base; with
``three_way`` a file that moved on is merged (``git merge-file``) and refused only on a
conflict. The writes are one journaled transaction (:mod:`actors.workspace.transaction`):
any failure puts everything back, and an apply cut short (kill, power cut) is rolled back
or finished by the next agentlog command given the run, so no tree is ever
left half-applied; nothing is written inside ``.git`` or through a symbolic link.
:func:`commit_run` commits the change on a new git branch at the base commit with git's
plumbing, never touching the working tree or ``HEAD``.

Both hand back only what was approved (:func:`approval_problem`): a run that waits at a
gate, that a person rejected, that failed or has not finished, or whose last review did
not approve the change is refused (:class:`NotApproved`) unless the caller forces it.
"""

from __future__ import annotations

import difflib
import os
import re
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
    WorkflowState,
    object_hash,
    quote_path,
    safe_path,
    tree_at,
    tree_diff,
    workflow_state,
    workspace_base,
)

__all__ = [
    "ApplyRefused",
    "ApplyReport",
    "BadTarget",
    "NoWorkspace",
    "NotApproved",
    "apply_run",
    "approval_problem",
    "commit_message",
    "commit_run",
    "run_change",
]


_MISSING = "missing in the target"


class NoWorkspace(AgentlogError):
    """The run did not start from a workspace, so it has no change to hand back."""

    exit_code = EXIT_USAGE


class ApplyRefused(AgentlogError):
    """The target does not match the recorded base (or a merge conflicts): nothing written."""

    def __init__(self, target: Path, problems: list[tuple[str, str]], hint: str) -> None:
        self.target = target
        self.problems = problems
        listed = "; ".join(f"{quote_path(path)}: {why}" for path, why in problems)
        super().__init__(f"{target}: not applied, nothing written: {listed}{hint}")


class NotApproved(AgentlogError):
    """The run's change was not approved (see :func:`approval_problem`): nothing written."""

    exit_code = EXIT_USAGE

    def __init__(self, run: Path, why: str) -> None:
        self.why = why
        super().__init__(f"{run}: not applied, nothing written: {why}")


class BadTarget(AgentlogError):
    """What the change should go into cannot take it: no such directory, not a git
    repository, not the run's repository, or a branch name that is not a plain branch."""

    exit_code = EXIT_USAGE


class ApplyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an apply did: files written, deleted and merged, or the branch it made."""

    target: str
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()
    branch: str | None = None
    commit: str | None = None
    not_approved: str | None = None  # why, when the caller forced an unapproved change


def run_change(run_dir: str | Path, round: int | None = None) -> tuple[Tree, Tree, list[FileDiff]]:
    """(base tree, result tree, per-file diff) of a run, after ``round`` (default: last)."""
    run = EventLog(run_dir).path.parent
    trees = tree_at(EventLog(run).read(), ObjectStore(run), round=round)
    if trees is None:
        raise NoWorkspace(f"{run}: the run has no workspace (start one with --workspace DIR)")
    start, result = trees
    return start, result, tree_diff(start, result)


def approval_problem(state: WorkflowState, round: int | None = None) -> str | None:
    """Why the run's change (as of ``round``, default the last) was not approved; None
    when it was.

    Approved means: the run completed with every step done, no gate waits or was
    rejected, and the last review's verdict is ``approve``. An earlier round than the
    last was sent back for changes, so it is not approved either.
    """
    for gate in state.gates.values():
        if gate.decision == "rejected":
            why = f": {gate.comment}" if gate.comment else ""
            return f"the {gate.step} was rejected by {gate.by}{why}"
    waiting = state.waiting_at
    if waiting is not None:
        return f"the run waits at its {waiting.step} gate for a person's decision"
    if state.status == "failed":
        error = state.last_error
        return f"the run failed ({error.kind}: {error.message})" if error else "the run failed"
    if state.status != "completed":
        return f"the run has not finished (it is {state.status}; `agentlog resume` it)"
    if state.failed_steps:
        return f"the {' and '.join(state.failed_steps)} step failed"
    if round is not None and round < state.round:
        return f"revision round {round} was sent back for changes (the last is {state.round})"
    if state.verdict is None:
        return "the change was never reviewed"
    if state.verdict != "approve":
        return f"the review's verdict is {state.verdict}, not approve"
    return None


def _approved(run: Path, state: WorkflowState, round: int | None, force: bool) -> str | None:
    """None when approved; why not when ``force``; else :class:`NotApproved`."""
    why = approval_problem(state, round)
    if why is not None and not force:
        raise NotApproved(run, why)
    return why


def _default_target(run_dir: str | Path) -> Path:
    base = workspace_base(EventLog(run_dir).read())
    assert base is not None
    return Path(base.root)


def _existing_directory(root: Path) -> None:
    """Refuse a target that is gone or is not a directory, naming it."""
    if not os.path.lexists(root):
        raise BadTarget(f"{root}: the target directory does not exist")
    if not root.is_dir():
        raise BadTarget(f"{root}: the target is not a directory")


def apply_run(
    run_dir: str | Path,
    target: str | Path | None = None,
    *,
    three_way: bool = False,
    round: int | None = None,
    force: bool = False,
) -> ApplyReport:
    """Apply the run's change to ``target`` (default: the recorded workspace) atomically.

    Refused (:class:`NotApproved`) when the change was not approved, unless ``force``.
    """
    recover(EventLog(run_dir).path.parent)  # an apply cut short earlier is settled first
    start, result, diffs = run_change(run_dir, round)
    run = EventLog(run_dir).path.parent
    unapproved = _approved(run, workflow_state(EventLog(run).read()), round, force)
    root = Path(target) if target is not None else _default_target(run_dir)
    _existing_directory(root)
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
                    problems.append((diff.path, f"the three-way merge conflicts {conflict}"))
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
        not_approved=unapproved,
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


def _merge(current: Path, base: bytes, ours: bytes) -> tuple[bytes, str]:
    """Three-way merge of the target's ``current`` file with the change (base -> ours):
    the merged bytes, and where it conflicts ("" when it does not)."""
    now = current.read_bytes()
    with tempfile.TemporaryDirectory(prefix="agentlog-merge-") as tmp:
        files = []
        for name, data in (("current", now), ("base", base), ("ours", ours)):
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
    if done.returncode == 0:
        return done.stdout, ""
    return done.stdout, _where_conflicts(now, base, ours) or f"({done.returncode} hunks)"


def _split(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _where_conflicts(current: bytes, base: bytes, ours: bytes) -> str:
    """The hunks where the change and the target both changed the base: the change's
    lines (numbered as in the base) and the target's lines they collide with."""
    old = _split(base)
    mine = difflib.SequenceMatcher(None, old, _split(ours), autojunk=False).get_opcodes()
    theirs = difflib.SequenceMatcher(None, old, _split(current), autojunk=False).get_opcodes()
    found: list[str] = []
    for tag, i1, i2, _, _ in mine:
        if tag == "equal":
            continue
        hit = [(t1, t2) for t, k1, k2, t1, t2 in theirs if t != "equal" and i1 <= k2 and k1 <= i2]
        if hit:
            there = _lines_named(min(t1 for t1, _ in hit), max(t2 for _, t2 in hit))
            found.append(f"at {_lines_named(i1, i2)} (the target's {there})")
    return ", ".join(found)


def _lines_named(start: int, end: int) -> str:
    """Lines ``start:end`` (0-based, end exclusive) as a person counts them."""
    if end <= start:
        return f"the gap after line {start}"
    if end - start == 1:
        return f"line {start + 1}"
    return f"lines {start + 1}-{end}"


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
    force: bool = False,
) -> ApplyReport:
    """Commit the change on a new branch ``branch`` at the base commit, with a message
    written from the run (:func:`commit_message`); the working tree, the index and
    ``HEAD`` are left alone. Refused like :func:`apply_run` when not approved."""
    _, result, diffs = run_change(run_dir, round)
    log = EventLog(run_dir)
    state = workflow_state(log.read())
    unapproved = _approved(log.path.parent, state, round, force)
    base = workspace_base(log.read())
    assert base is not None
    repo = Path(target) if target is not None else Path(base.root)
    if base.commit is None:
        raise BadTarget(
            f"{repo}: the run's base is no git commit (the workspace was not a git repository "
            "when the run started); apply it without --branch"
        )
    why = _branch_problem(branch)
    if why is not None:
        raise BadTarget(f"--branch {quote_path(branch)}: not a plain branch name ({why})")
    _existing_directory(repo)
    inside = _try_git(repo, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise BadTarget(f"{repo}: not a git repository (--branch commits into one)")
    if _try_git(repo, "cat-file", "-e", f"{base.commit}^{{commit}}").returncode != 0:
        raise BadTarget(
            f"{repo}: does not hold the run's base commit {base.commit[:12]} "
            "(--branch commits on top of it in the repository the run started from)"
        )
    if _try_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode == 0:
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
    message = commit_message(state, round)
    commit = _git(
        repo,
        "commit-tree",
        tree,
        "-p",
        base.commit,
        "-F",
        "-",
        env=_identity(repo),
        data=message.encode("utf-8"),
    )
    _git(repo, "update-ref", f"refs/heads/{branch}", commit, "")
    return ApplyReport(target=str(repo), branch=branch, commit=commit, not_approved=unapproved)


def _try_git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """A git query whose failure is an answer, not an error."""
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise AgentlogError("--branch needs git on the PATH") from None


#: Names git resolves to something other than a branch: HEAD, FETCH_HEAD, ORIG_HEAD ...
_SPECIAL_REF = re.compile(r"[A-Z_]*HEAD")


def _branch_problem(name: str) -> str | None:
    """Why ``name`` is not a plain branch name (one that can only mean refs/heads/<name>)."""
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with '-'"
    if name == "@" or _SPECIAL_REF.fullmatch(name):
        return f"{name} is git's name for another ref, not a branch"
    if name.startswith("refs/"):
        return "give the name without refs/heads/"
    if "@{" in name:
        return "'@{' is git's syntax for reflog and upstream references"
    try:
        checked = subprocess.run(
            ["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True, check=False
        )
    except FileNotFoundError:
        raise AgentlogError("--branch needs git on the PATH") from None
    if checked.returncode != 0:
        return "git does not accept it as a branch name"
    return None


#: Control and bidirectional characters: never into a commit message a terminal shows.
_UNPRINTABLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_SUBJECT_WIDTH = 72
_BODY_CHARS = 4000


def _subject(text: str) -> str:
    """The first non-blank line of ``text``, whitespace collapsed, at most 72 characters."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(_UNPRINTABLE.sub(" ", line).split())
    if len(line) <= _SUBJECT_WIDTH:
        return line
    cut = line[: _SUBJECT_WIDTH - 3].rsplit(" ", 1)[0] or line[: _SUBJECT_WIDTH - 3]
    return cut.rstrip() + "..."


def _paragraph(text: str) -> str:
    clean = _UNPRINTABLE.sub("\ufffd", text.replace("\r\n", "\n")).strip()
    if len(clean) > _BODY_CHARS:
        clean = clean[:_BODY_CHARS].rstrip() + "\n[...]"
    return clean


def commit_message(state: WorkflowState, round: int | None = None) -> str:
    """The message of the commit ``--branch`` makes, written from the run.

    Subject: the plan's summary (else the task's first line), at most 72 characters.
    Body: the task, the Coder's notes and the review's verdict and summary. Trailers:
    ``Agentlog-Run`` (the workflow id), ``Agentlog-Model`` and ``Agentlog-Round`` (when
    a round other than the last was asked for).
    """
    artifacts = state.artifacts
    plan = artifacts.plan.summary if artifacts.plan is not None else ""
    subject = _subject(plan) or _subject(state.task) or f"agentlog run {state.workflow_id}"
    body = [f"Task:\n{_paragraph(state.task)}"] if state.task.strip() else []
    if artifacts.code is not None and artifacts.code.notes.strip():
        body.append(f"Notes from the Coder:\n{_paragraph(artifacts.code.notes)}")
    if artifacts.review is not None:
        review = artifacts.review
        body.append(f"Review ({review.verdict}):\n{_paragraph(review.summary)}")
    trailers = [f"Agentlog-Run: {_subject(state.workflow_id)}"]
    if state.config.model:
        trailers.append(f"Agentlog-Model: {_subject(state.config.model)}")
    if round is not None and round != state.round:
        trailers.append(f"Agentlog-Round: {round}")
    return "\n\n".join([subject, *body, "\n".join(trailers)]) + "\n"


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
