"""The changes of two runs side by side: a diff of diffs, one entry per file.

Part of ``agentlog diff RUN_A RUN_B`` (:mod:`actors.views.compare`). Each run's change is
what its log's one fold holds: for a workspace run, the recorded base with every change
set applied (``store.trees_of`` over the fold's ``workspace`` and ``changes``, the tree
``agentlog diff RUN`` shows), each changed path with its status (``added``,
``modified``, ``deleted``, ``renamed``; a renamed file's old path is ``deleted``); for a
run without a workspace, the files of its last code artifact (status ``written``).

For every path either run changed, the entry says how each changed it (None: it did
not) and compares the two *resulting* files: ``same`` when they hold the same bytes,
else ``diff`` is a unified diff from A's resulting file to B's (``/dev/null`` where a
run has no such file; a path either run left unchanged is compared with the base's
content). Names in the diff's headers are quoted as git quotes them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import msgspec

from store import ObjectStore, WorkflowState, quote_path, tree_diff
from store.tree import trees_of

__all__ = ["FileComparison", "RunFiles", "compare_files", "run_files"]

_NO_NEWLINE = "\\ No newline at end of file\n"
Reader = Callable[[str], bytes | None]


class RunFiles(NamedTuple):
    """One run's change: ``workspace`` or ``files`` (a code artifact), each changed
    path's status, and a reader of the resulting content (None: no such file)."""

    kind: str
    changed: dict[str, str]
    read: Reader


class FileComparison(msgspec.Struct, frozen=True, kw_only=True):
    """One path either run changed: how each changed it, and A's result against B's."""

    path: str
    a: str | None
    b: str | None
    same: bool
    diff: str = ""


def run_files(run_dir: Path, state: WorkflowState) -> RunFiles:
    """The change a run made, from its fold."""
    if state.workspace is not None:
        start, result = trees_of(state.workspace, state.changes, ObjectStore(run_dir))
        changed: dict[str, str] = {}
        for d in tree_diff(start, result, quote=False):
            changed[d.path] = d.status
            if d.old_path is not None:
                changed[d.old_path] = "deleted"

        def read_tree(path: str) -> bytes | None:
            return result.read(path) if path in result else None

        return RunFiles(kind="workspace", changed=changed, read=read_tree)
    code = state.artifacts.code
    written = {f.path: f.content.encode() for f in code.files} if code is not None else {}
    return RunFiles(kind="files", changed=dict.fromkeys(written, "written"), read=written.get)


def compare_files(a: RunFiles, b: RunFiles) -> list[FileComparison]:
    """Every path either run changed, by path."""
    out: list[FileComparison] = []
    for path in sorted(set(a.changed) | set(b.changed)):
        before, after = a.read(path), b.read(path)
        same = before == after
        out.append(
            FileComparison(
                path=path,
                a=a.changed.get(path),
                b=b.changed.get(path),
                same=same,
                diff="" if same else _diff(path, before, after),
            )
        )
    return out


def _diff(path: str, before: bytes | None, after: bytes | None) -> str:
    """A unified diff from A's file to B's; one line for files that are not text."""
    a_name = "/dev/null" if before is None else quote_path(f"A/{path}")
    b_name = "/dev/null" if after is None else quote_path(f"B/{path}")
    if _binary(before) or _binary(after):
        return f"Binary files {a_name} and {b_name} differ\n"
    lines = difflib.unified_diff(_lines(before), _lines(after), a_name, b_name, n=3)
    return "".join(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE for line in lines)


def _binary(data: bytes | None) -> bool:
    if data is None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\0" in data


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    parts = data.decode("utf-8").split("\n")  # as git and ``agentlog diff``: on \n only
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines
