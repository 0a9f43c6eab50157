"""The change of a workspace run as a unified diff that ``git apply`` accepts.

:func:`tree_diff` compares two trees (the recorded base and the result) and returns one
:class:`FileDiff` per changed path, with git's headers (``new file mode``, ``deleted file
mode``, exact renames as ``rename from``/``rename to``). A name git would quote (one
holding a control character, ``"``, ``\\`` or anything outside ASCII) is quoted as git
quotes it (:func:`quote_path`), in the patch and in ``--stat``: a name holding a newline
still makes a patch ``git apply`` takes, and none reaches a terminal raw. Colouring and
escaping file contents for a terminal happen in the CLI.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import msgspec

from store.tree import Tree

__all__ = ["FileDiff", "diff_stat", "quote_path", "render_diff", "tree_diff"]

_NO_NEWLINE = "\\ No newline at end of file\n"
#: git's C-style escapes (quote.c); every other byte below 0x20, 0x7f and every byte of a
#: non-ASCII character is written in octal (``core.quotePath``, on by default).
_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}


def quote_path(name: str) -> str:
    """``name`` as git prints it: unchanged when plain, else C-quoted (``"a\\nb"``)."""
    raw = name.encode("utf-8", "surrogateescape")
    if all(0x20 <= b < 0x7F and b not in (34, 92) for b in raw):
        return name
    out = ['"']
    for b in raw:
        if b in _ESCAPES:
            out.append("\\" + _ESCAPES[b])
        elif b < 0x20 or b >= 0x7F:
            out.append(f"\\{b:03o}")
        else:
            out.append(chr(b))
    out.append('"')
    return "".join(out)


class FileDiff(msgspec.Struct, frozen=True, kw_only=True):
    """One changed path: how (``added``/``deleted``/``modified``/``renamed``) and its patch."""

    path: str
    status: str
    old_path: str | None = None
    added: int = 0
    removed: int = 0
    patch: str = ""


def tree_diff(old: Tree, new: Tree, *, quote: bool = True) -> list[FileDiff]:
    """The per-file differences from ``old`` to ``new``, by path (renames by new path).

    ``quote=False`` writes names into the patches as they are: what the Reviewer's prompt
    has always shown, so the requests of recorded runs (and replay's digests) stay the same.
    """
    q = quote_path if quote else _as_is
    gone = [p for p in old.paths() if p not in new.entries]
    born = [p for p in new.paths() if p not in old.entries]
    renames: dict[str, str] = {}
    by_hash: dict[str, list[str]] = {}
    for path in gone:
        by_hash.setdefault(old.entries[path].hash, []).append(path)
    for path in born:
        sources = by_hash.get(new.entries[path].hash)
        if sources:
            renames[path] = sources.pop(0)
    renamed_from = set(renames.values())
    out: list[FileDiff] = []
    for path in sorted(set(old.entries) | set(new.entries)):
        if path in renamed_from:
            continue
        if path in renames:
            out.append(_renamed(renames[path], path, q))
        elif path not in new.entries:
            out.append(_patch(path, old.read(path), None, old.entries[path].mode, q))
        elif path not in old.entries:
            out.append(_patch(path, None, new.read(path), new.entries[path].mode, q))
        elif old.entries[path].hash != new.entries[path].hash:
            out.append(_patch(path, old.read(path), new.read(path), new.entries[path].mode, q))
    return out


def render_diff(diffs: list[FileDiff]) -> str:
    """The whole diff as text (empty when nothing changed)."""
    return "".join(d.patch for d in diffs)


def diff_stat(diffs: list[FileDiff]) -> str:
    """git's ``--stat``: one line per file and a summary line."""
    if not diffs:
        return "0 files changed\n"
    names = [
        quote_path(d.path)
        if d.old_path is None
        else f"{quote_path(d.old_path)} => {quote_path(d.path)}"
        for d in diffs
    ]
    width = max(len(n) for n in names)
    lines = [
        f" {name.ljust(width)} | {d.added + d.removed:>4} {'+' * min(d.added, 40)}"
        f"{'-' * min(d.removed, 40)}"
        for name, d in zip(names, diffs, strict=True)
    ]
    added = sum(d.added for d in diffs)
    removed = sum(d.removed for d in diffs)
    lines.append(
        f" {_counted(len(diffs), 'file')} changed, {_counted(added, 'insertion')}(+), "
        f"{_counted(removed, 'deletion')}(-)"
    )
    return "\n".join(lines) + "\n"


def _counted(n: int, noun: str) -> str:
    """``1 file``, ``2 files``: git's wording in a stat line."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _as_is(name: str) -> str:
    return name


def _renamed(old_path: str, path: str, q: Callable[[str], str]) -> FileDiff:
    patch = (
        f"diff --git {q('a/' + old_path)} {q('b/' + path)}\n"
        f"similarity index 100%\nrename from {q(old_path)}\nrename to {q(path)}\n"
    )
    return FileDiff(path=path, status="renamed", old_path=old_path, patch=patch)


def _patch(
    path: str, before: bytes | None, after: bytes | None, mode: int, q: Callable[[str], str]
) -> FileDiff:
    a_name, b_name = q("a/" + path), q("b/" + path)
    head = [f"diff --git {a_name} {b_name}\n"]
    if before is None:
        head.append(f"new file mode {_git_mode(mode)}\n")
        status = "added"
    elif after is None:
        head.append(f"deleted file mode {_git_mode(mode)}\n")
        status = "deleted"
    else:
        status = "modified"
    a = _lines(before)
    b = _lines(after)
    body: list[str] = []
    added = removed = 0
    if a or b:
        body.append("--- /dev/null\n" if before is None else f"--- {a_name}\n")
        body.append("+++ /dev/null\n" if after is None else f"+++ {b_name}\n")
        for line in list(difflib.unified_diff(a, b, n=3, lineterm=""))[2:]:
            if line.startswith("@@"):
                body.append(line + "\n")
                continue
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
            body.append(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE)
    return FileDiff(
        path=path, status=status, added=added, removed=removed, patch="".join(head + body)
    )


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    parts = data.decode("utf-8", "replace").split("\n")  # git splits on \n only
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _git_mode(mode: int) -> str:
    return "100755" if mode & 0o111 else "100644"
