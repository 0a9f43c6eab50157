"""The agent loop's tools: their definitions for the model and what each does to a tree.

Every tool works on a :class:`~store.Tree`, the working copy as the log projects it,
never on a live directory. The read-only tools (``read_file``, ``list_files``,
``search``) answer from it; ``edit_file`` and ``delete_file`` say which file changes and
how (the loop records that as the result's edits); ``run_command`` runs a shell command
in a fresh sandbox over a copy of the tree and reads back the files it created, changed
or deleted. Bad use (a missing file, an ambiguous edit, a bad pattern) raises
:class:`ToolError`, which the loop answers as a ``tool_result`` with ``is_error``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from actors.sandbox import run_confined
from actors.sandbox.policy import SandboxUnavailable, resolve
from actors.secrets import redact
from events import SandboxPolicy, ToolName
from store import ChangeRejected, Tree
from store.tree import normal_path

__all__ = [
    "IGNORED_DIRS",
    "Change",
    "CommandRun",
    "ToolError",
    "delete_file",
    "edit_file",
    "list_files",
    "read_file",
    "run_command",
    "search",
    "tool_definitions",
]

#: Directories a command's caches go to; what a command writes there is not recorded.
IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
#: Lines of matches one ``search`` shows.
MAX_MATCHES = 200

#: A change to one file: its path, new bytes (None: deleted) and mode.
Change = tuple[str, bytes | None, int]


class ToolError(Exception):
    """The model used a tool wrongly; the message is what it is told."""


def _string(input: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = input.get(key, None)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ToolError(f"{key!r} must be a string")
    return value


def _schema(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


_STR = {"type": "string"}
_DEFS: dict[ToolName, tuple[str, dict[str, Any]]] = {
    "read_file": (
        "Read a file of the working copy, with line numbers; optionally only lines "
        "start_line..end_line (1-based, inclusive).",
        _schema(["path"], path=_STR, start_line={"type": "integer"}, end_line={"type": "integer"}),
    ),
    "list_files": (
        "List the files of the working copy under a directory (empty: all) or matching a "
        "glob such as 'src/*.py'.",
        _schema([], path=_STR),
    ),
    "search": (
        "Search the working copy's text files for a regular expression (Python syntax); "
        "optionally only under a directory or glob. Answers path:line: text.",
        _schema(["pattern"], pattern=_STR, path=_STR),
    ),
    "edit_file": (
        "Replace the one exact occurrence of old_text in a file with new_text. An empty "
        "old_text on a file that does not exist creates it with new_text.",
        _schema(["path", "old_text", "new_text"], path=_STR, old_text=_STR, new_text=_STR),
    ),
    "delete_file": ("Delete a file of the working copy.", _schema(["path"], path=_STR)),
    "run_command": (
        "Run a shell command (sh -c) in a sandbox over a copy of the working copy: no "
        "network, bounded time. Files it creates, changes or deletes become part of the "
        "working copy (caches such as __pycache__ excepted). Answers the exit code and "
        "output.",
        _schema(["command"], command=_STR),
    ),
    "submit": (
        "End your work: the working copy as it stands is your change. Give a short summary.",
        _schema(["summary"], summary=_STR),
    ),
}


def tool_definitions(
    names: tuple[ToolName, ...], *, submit: dict[str, Any] | None = None
) -> tuple[dict[str, Any], ...]:
    """The Messages API ``tools`` for ``names``, in that order; ``submit`` is the input
    schema of ``submit`` when it takes an artifact (a plan, a review)."""
    out = []
    for name in names:
        description, schema = _DEFS[name]
        if name == "submit" and submit is not None:
            description, schema = "Submit your answer, which ends your work.", submit
        out.append({"name": name, "description": description, "input_schema": schema})
    return tuple(out)


def _path(tree: Tree, raw: str, *, exists: bool = True) -> str:
    try:
        path = normal_path(raw)
    except ChangeRejected as err:
        raise ToolError(str(err)) from None
    if path in tree.blocked:
        raise ToolError(f"{path}: the workspace left this file out ({tree.blocked[path]})")
    if exists and path not in tree:
        raise ToolError(f"{path}: no such file in the working copy")
    return path


def _text(tree: Tree, path: str) -> str:
    data = tree.read(path)
    if b"\0" in data[:8192]:
        raise ToolError(f"{path}: a binary file ({len(data)} bytes)")
    return data.decode("utf-8", "replace")


def read_file(tree: Tree, input: Mapping[str, Any]) -> str:
    """The file's lines, numbered (``start_line``..``end_line`` when given)."""
    path = _path(tree, _string(input, "path"))
    lines = _text(tree, path).splitlines()
    start, end = input.get("start_line") or 1, input.get("end_line") or len(lines)
    if not isinstance(start, int) or not isinstance(end, int) or start < 1 or end < start:
        raise ToolError("start_line and end_line must be whole numbers, 1 <= start <= end")
    shown = lines[start - 1 : end]
    if not shown:
        return f"{path}: {len(lines)} lines; nothing at {start}..{end}"
    return "\n".join(f"{n:>5}\t{line}" for n, line in enumerate(shown, start))


def _under(tree: Tree, where: str) -> list[str]:
    where = where.strip()
    if not where or where in (".", "/"):
        return tree.paths()
    if any(c in where for c in "*?["):
        return [p for p in tree.paths() if fnmatch.fnmatchcase(p, where)]
    prefix = _path(tree, where, exists=False)
    return [p for p in tree.paths() if p == prefix or p.startswith(prefix + "/")]


def list_files(tree: Tree, input: Mapping[str, Any]) -> str:
    """The paths under a directory or matching a glob, one a line."""
    where = _string(input, "path", required=False)
    found = _under(tree, where)
    if not found:
        return f"no files match {where!r}" if where else "the working copy is empty"
    return "\n".join(found)


def search(tree: Tree, input: Mapping[str, Any]) -> str:
    """``path:line: text`` for every line matching the pattern (at most :data:`MAX_MATCHES`)."""
    try:
        pattern = re.compile(_string(input, "pattern"))
    except re.error as err:
        raise ToolError(f"not a regular expression: {err}") from None
    hits: list[str] = []
    total = 0
    for path in _under(tree, _string(input, "path", required=False)):
        data = tree.read(path)
        if b"\0" in data[:8192]:
            continue
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if pattern.search(line):
                total += 1
                if len(hits) < MAX_MATCHES:
                    hits.append(f"{path}:{n}: {line}")
    if not hits:
        return "no matches"
    more = f"\n[{total - len(hits)} more matches left out]" if total > len(hits) else ""
    return "\n".join(hits) + more


def edit_file(tree: Tree, input: Mapping[str, Any]) -> Change:
    """The file's new bytes: ``old_text`` replaced once by ``new_text`` (or a new file)."""
    raw, old, new = (_string(input, k) for k in ("path", "old_text", "new_text"))
    path = _path(tree, raw, exists=False)
    if path not in tree:
        if old:
            raise ToolError(f"{path}: no such file (an empty old_text creates it)")
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in tree:
                raise ToolError(f"{path}: its directory {'/'.join(parts[:i])!r} is a file")
        if any(p.startswith(path + "/") for p in tree.paths()):
            raise ToolError(f"{path}: the path is a directory")
        return path, new.encode("utf-8"), 0o644
    if not old:
        raise ToolError(f"{path}: the file exists; give the exact old_text to replace")
    text = _text(tree, path)
    found = text.count(old)
    if found != 1:
        where = "does not occur" if not found else f"occurs {found} times"
        raise ToolError(f"{path}: old_text {where}; it must match exactly once")
    return path, text.replace(old, new, 1).encode("utf-8"), tree.entries[path].mode


def delete_file(tree: Tree, input: Mapping[str, Any]) -> Change:
    """The deletion of an existing file."""
    return _path(tree, _string(input, "path")), None, 0


class CommandRun(NamedTuple):
    """What a ``run_command`` gave: its output for the model, how it ended, what it changed."""

    output: str
    exit_code: int | None
    timed_out: bool
    changes: tuple[Change, ...]
    started: bool


def run_command(
    tree: Tree,
    command: str,
    *,
    timeout: float,
    policy: SandboxPolicy,
    hidden: tuple[Path, ...] = (),
) -> CommandRun:
    """Run ``sh -c command`` under ``policy`` over a copy of ``tree``; what it changed."""
    try:
        sandbox = resolve(policy)
    except SandboxUnavailable as exc:
        return CommandRun(f"the command was not run: {exc}", None, False, (), False)
    seen: list[tuple[Change, ...]] = []
    with tempfile.TemporaryDirectory(prefix="agentlog-loop-") as scratch:
        root = Path(scratch) / "tree"
        _write_tree(tree, root)
        done = run_confined(
            root,
            ("sh", "-c", command),
            timeout=timeout,
            sandbox=sandbox,
            hidden=hidden,
            after=lambda copy: seen.append(_changes(tree, copy)),
        )
    status = "timed out" if done.timed_out else f"exit code {done.exit_code}"
    output = f"[{status}]\n{redact(done.output)}"
    return CommandRun(output, done.exit_code, done.timed_out, seen[0] if seen else (), done.started)


def _write_tree(tree: Tree, root: Path) -> None:
    root.mkdir()
    for path in tree.paths():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(tree.read(path))
        target.chmod(0o755 if tree.entries[path].mode & 0o111 else 0o644)


def _changes(tree: Tree, root: Path) -> tuple[Change, ...]:
    """The files under ``root`` that differ from ``tree`` (written or gone), by path."""
    after: dict[str, tuple[bytes, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                continue  # a symlink or a special file: not part of a working copy
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            with open(full, "rb") as handle:
                after[rel] = (handle.read(), 0o755 if info.st_mode & 0o111 else 0o644)
    out: list[Change] = []
    for path in tree.paths():
        if path not in after and not any(part in IGNORED_DIRS for part in path.split("/")):
            out.append((path, None, 0))
    for path, (data, mode) in sorted(after.items()):
        if path in tree.blocked:
            continue
        if path in tree:
            old_mode = 0o755 if tree.entries[path].mode & 0o111 else 0o644
            if tree.read(path) == data and old_mode == mode:
                continue
        out.append((path, data, mode))
    return tuple(out)
