"""A workspace's tree as a projection: the recorded base plus the Coder's change sets.

:func:`tree_at` folds a run's events into the tree after its latest (or a given round's)
change: the base's files come from ``objects/`` by hash, changed files carry their new
bytes. :meth:`Tree.apply` applies one :class:`~events.ChangeSet` and refuses, naming the
path (and the search text), an operation that does not fit the tree exactly. Pure: the
live workspace is never read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from events import (
    AgentlogError,
    ChangeSet,
    CodeProduced,
    CreateFile,
    DeleteFile,
    EditFile,
    Event,
    FileOp,
    RenameFile,
    ReplaceFile,
    UnknownEvent,
    WorkflowStarted,
    WorkspaceBase,
)
from store.objects import ObjectStore, object_hash
from store.paths import UnsafePath, normalize_rel

__all__ = [
    "ChangeRejected",
    "Entry",
    "Tree",
    "WorkspaceResult",
    "base_tree",
    "change_sets",
    "normal_path",
    "set_modes",
    "tree_at",
    "trees_of",
    "workspace_base",
    "workspace_result",
]

_SHOWN = 200  # characters of a search text quoted in an error
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ChangeRejected(AgentlogError):
    """An operation of a change set does not fit the tree; names the path and the search."""

    def __init__(self, path: str, reason: str, *, search: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.search = search
        quoted = ""
        if search is not None:
            clipped = search if len(search) <= _SHOWN else search[:_SHOWN] + "…"
            quoted = f" (search {clipped!r})"
        super().__init__(f"{path}: {reason}{quoted}")


class Entry(NamedTuple):
    """One file of a tree: mode, size, content hash, and new bytes (None: in the store)."""

    mode: int
    hash: str
    data: bytes | None = None
    size: int = 0


class Tree:
    """Files by normalized path; ``blocked`` are paths the base left out (with why)."""

    def __init__(
        self, entries: dict[str, Entry], blocked: dict[str, str], objects: ObjectStore
    ) -> None:
        self.entries = entries
        self.blocked = blocked
        self.objects = objects

    def __contains__(self, path: str) -> bool:
        return path in self.entries

    def paths(self) -> list[str]:
        """Every file's path, sorted."""
        return sorted(self.entries)

    def read(self, path: str) -> bytes:
        """The bytes of ``path`` (from the object store for an unchanged base file)."""
        entry = self.entries[path]
        return entry.data if entry.data is not None else self.objects.get(entry.hash)

    def size(self, path: str) -> int:
        """The size of ``path`` in bytes (without reading it)."""
        entry = self.entries[path]
        return len(entry.data) if entry.data is not None else entry.size

    def text(self, path: str) -> str:
        """The text of ``path`` (every file taken in is UTF-8)."""
        return self.read(path).decode("utf-8", "replace")

    def apply(self, change: ChangeSet) -> Tree:
        """A new tree with ``change``'s operations applied in order; this one is unchanged."""
        out = Tree(dict(self.entries), self.blocked, self.objects)
        for op in change.changes:
            out._apply_one(op)
        return out

    def _apply_one(self, op: FileOp) -> None:
        path = normal_path(op.path)
        if isinstance(op, CreateFile):
            self._check_new(path)
            self._put(path, op.content.encode("utf-8"), 0o644)
        elif isinstance(op, RenameFile):
            self._check_existing(path)
            to = normal_path(op.to)
            self._check_new(to)
            self.entries[to] = self.entries.pop(path)
        else:
            self._check_existing(path)
            if isinstance(op, DeleteFile):
                del self.entries[path]
            elif isinstance(op, ReplaceFile):
                self._put(path, op.content.encode("utf-8"), self.entries[path].mode)
            elif isinstance(op, EditFile):
                text = self.text(path)
                found = text.count(op.search)
                if found != 1:
                    where = "does not occur" if not found else f"occurs {found} times"
                    raise ChangeRejected(
                        path,
                        f"the search text {where}; it must match exactly once",
                        search=op.search,
                    )
                new = text.replace(op.search, op.replace, 1)
                self._put(path, new.encode("utf-8"), self.entries[path].mode)

    def _put(self, path: str, data: bytes, mode: int) -> None:
        self.entries[path] = Entry(mode=mode, hash=object_hash(data), data=data)

    def _check_existing(self, path: str) -> None:
        if path in self.entries:
            return
        if path in self.blocked:
            raise ChangeRejected(path, f"the workspace left this file out ({self.blocked[path]})")
        raise ChangeRejected(path, "no such file in the workspace")

    def _check_new(self, path: str) -> None:
        if path in self.entries:
            raise ChangeRejected(path, "the file already exists (use replace or edit)")
        if path in self.blocked:
            raise ChangeRejected(
                path, f"the path exists in the workspace, left out ({self.blocked[path]})"
            )
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in self.entries or parent in self.blocked:
                raise ChangeRejected(path, f"its directory {parent!r} is a file")
        prefix = path + "/"
        if any(p.startswith(prefix) for p in self.entries):
            raise ChangeRejected(path, "the path is a directory")


def normal_path(path: str) -> str:
    """``path`` as a tree key (``a/b``), or :class:`ChangeRejected` for an unsafe one.

    Besides what :func:`~store.paths.normalize_rel` refuses, nothing may name a ``.git``
    component: applying the change must never write into a repository's metadata.
    """
    try:
        parts = normalize_rel(path)
    except UnsafePath as exc:
        raise ChangeRejected(path, exc.reason) from None
    if any(part.casefold() == ".git" for part in parts):
        raise ChangeRejected(path, "paths inside .git are not allowed")
    return "/".join(parts)


def workspace_base(events: Iterable[Event | UnknownEvent]) -> WorkspaceBase | None:
    """The recorded base of a run (None: the run has no workspace)."""
    for ev in events:
        if type(ev) is WorkflowStarted:
            return ev.workspace
    return None


def base_tree(base: WorkspaceBase, objects: ObjectStore) -> Tree:
    """The tree of the recorded base."""
    entries = {f.path: Entry(mode=f.mode, hash=f.hash, size=f.size) for f in base.files}
    blocked = {lo.path: lo.reason for lo in base.left_out}
    return Tree(entries, blocked, objects)


def change_sets(events: Iterable[Event | UnknownEvent]) -> list[tuple[int, ChangeSet]]:
    """Every change set of the log, with the round it was made in, in log order."""
    return [
        (ev.round, ev.change) for ev in events if type(ev) is CodeProduced and ev.change is not None
    ]


def tree_at(
    events: Iterable[Event | UnknownEvent], objects: ObjectStore, *, round: int | None = None
) -> tuple[Tree, Tree] | None:
    """(base tree, tree after the changes through ``round`` (default: all)), or None
    when the run has no workspace."""
    base: WorkspaceBase | None = None
    started = False
    changes: list[tuple[int, ChangeSet]] = []
    for ev in events:  # one streamed pass: only the base and the change sets are kept
        if type(ev) is WorkflowStarted and not started:
            base, started = ev.workspace, True
        elif type(ev) is CodeProduced and ev.change is not None:
            changes.append((ev.round, ev.change))
    if base is None:
        return None
    return trees_of(base, changes, objects, round=round)


def trees_of(
    base: WorkspaceBase,
    changes: Iterable[tuple[int, ChangeSet]],
    objects: ObjectStore,
    *,
    round: int | None = None,
) -> tuple[Tree, Tree]:
    """(base tree, tree after ``changes`` through ``round``): what :func:`tree_at`
    computes, from the fold's ``workspace`` and ``changes``."""
    start = base_tree(base, objects)
    tree = start
    for made_in, change in changes:
        if round is not None and made_in > round:
            break
        tree = tree.apply(change)
    return start, tree


class WorkspaceResult(NamedTuple):
    """What a workspace run projects: ``files/`` (the whole result tree, read file by
    file as it is written, and the modes that are not 0644) and ``code.json`` (the latest
    change set, None before the Coder made one)."""

    files: Tree
    change: ChangeSet | None
    modes: dict[str, int]


def set_modes(root_fd: int, modes: dict[str, int]) -> None:
    """Give each file below ``root_fd`` its mode, never following a symlink."""
    for path, mode in modes.items():
        parts = path.split("/")
        dir_fd = root_fd
        opened: list[int] = []
        try:
            for part in parts[:-1]:
                dir_fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
                opened.append(dir_fd)
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        finally:
            for fd in opened:
                os.close(fd)


def workspace_result(
    run_dir: str | Path, events: Iterable[Event | UnknownEvent]
) -> WorkspaceResult | None:
    """The projection of a workspace run (None: the run has no workspace)."""
    events = list(events)
    trees = tree_at(events, ObjectStore(run_dir))
    if trees is None:
        return None
    _, tree = trees
    sets = change_sets(events)
    modes = {p: e.mode for p, e in tree.entries.items() if e.mode != 0o644}
    return WorkspaceResult(
        files=tree,
        change=sets[-1][1] if sets else None,
        modes=modes,
    )
