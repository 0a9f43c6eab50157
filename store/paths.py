"""The one path validator: which file names from a model can be written under ``files/``.

A path in a ``CodeProduced`` event comes from a model, so it is untrusted input. The same
rules decide twice: when the Coder's answer is validated (a bad path is a retryable
invalid answer) and when the files are written (a log from elsewhere is not trusted
either), so an answer that passes validation can always be materialized.

- :func:`path_problem` / :func:`normalize_rel`: one path, lexically: relative POSIX, no
  ``..``, NUL, backslash, drive letter or lone surrogate; each name at most
  :data:`MAX_NAME_BYTES`, at most :data:`MAX_COMPONENTS` names and
  :data:`MAX_PATH_BYTES` bytes in all.
- :func:`change_set_problem`: a whole file set: no path twice, and no path that is a file
  and also another file's directory (``a`` and ``a/b.py``).
- :func:`safe_path` / :class:`PathGuard`: against the filesystem: following the symlinks
  that already exist, the path stays strictly inside the root.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

from events import AgentlogError

__all__ = [
    "MAX_COMPONENTS",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "PathGuard",
    "UnsafePath",
    "change_set_problem",
    "normalize_rel",
    "path_problem",
    "safe_path",
]

#: The longest file name (one path component, in bytes) common filesystems accept.
MAX_NAME_BYTES = 255
#: The most names one path may have: deep enough for any project, shallow enough that
#: walking it never nears a recursion or ``PATH_MAX`` limit.
MAX_COMPONENTS = 64
#: The longest relative path in bytes (UTF-8), leaving room below Linux's 4,096-byte
#: ``PATH_MAX`` for the run directory in front of it.
MAX_PATH_BYTES = 1024

#: The letters a drive-letter path (``C:``) starts with.
_LETTERS = frozenset(string.ascii_letters)
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnsafePath(AgentlogError):
    """A path would leave the directory it must stay in, or cannot name a file at all."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe path {_shown(path)}: {reason}")


def _shown(path: str) -> str:
    """``repr`` of a path that may hold a lone surrogate, safe to print anywhere."""
    return repr(path.encode("utf-8", "backslashreplace").decode("utf-8"))


def _split(rel: str) -> tuple[tuple[str, ...], str | None]:
    """(components, None) or ((), why the path cannot name a file).

    An ASCII path (the usual one) can hold no surrogate and its names' sizes in bytes
    are their lengths, so neither is searched for nor encoded.
    """
    if not rel:
        return (), "the path is empty"
    if "\x00" in rel:
        return (), "the path contains a NUL character"
    ascii = rel.isascii()
    if not ascii and _SURROGATE.search(rel):
        return (), "the path contains a lone surrogate (not valid Unicode text)"
    if rel[0] == "/":
        return (), "absolute paths are not allowed"
    if "\\" in rel:
        return (), "backslashes (Windows separators, UNC paths) are not allowed"
    if rel[1:2] == ":" and rel[0] in _LETTERS:
        return (), "drive-letter paths are not allowed"
    names = rel.split("/")
    if "" in names or "." in names:
        names = [p for p in names if p not in ("", ".")]
    parts = tuple(names)
    if not parts:
        return (), "the path names no file"
    if ".." in parts:
        return (), "'..' components are not allowed"
    if len(parts) > MAX_COMPONENTS:
        return (), f"it has {len(parts)} components, more than {MAX_COMPONENTS}"
    sizes = [*map(len, parts)] if ascii else [len(p.encode("utf-8")) for p in parts]
    if max(sizes) > MAX_NAME_BYTES:
        return (), f"a component is longer than {MAX_NAME_BYTES} bytes"
    if sum(sizes) + len(sizes) - 1 > MAX_PATH_BYTES:
        return (), f"it is longer than {MAX_PATH_BYTES} bytes"
    return parts, None


def path_problem(rel: str) -> str | None:
    """Why ``rel`` cannot name a file inside the workspace, or None if it can."""
    return _split(rel)[1]


def normalize_rel(rel: str) -> tuple[str, ...]:
    """Split a relative POSIX path into its components, rejecting every unsafe form.

    ``.`` and empty components (``a//b``, ``./a``, ``a/``) are dropped; everything
    :func:`path_problem` names raises :class:`UnsafePath`. Purely lexical.
    """
    parts, problem = _split(rel)
    if problem is not None:
        raise UnsafePath(rel, problem)
    return parts


def change_set_problem(
    paths: Sequence[str], *, repeats: bool = False
) -> tuple[int, UnsafePath] | None:
    """The first path of a file set that cannot be written with the others, and why.

    Each path must pass :func:`normalize_rel`; two paths may not name the same file
    (unless ``repeats``: a log may hold a set where the later entry wins), and no path
    may be both a file and the directory of another (``a`` and ``a/b.py``).
    """
    key = tuple(paths)
    if key in _CLEAN_SETS:  # found writable together before (so with repeats as well)
        return None
    seen: dict[tuple[str, ...], int] = {}
    for index, rel in enumerate(paths):
        try:
            parts = normalize_rel(rel)
        except UnsafePath as exc:
            return index, exc
        if parts in seen and not repeats:
            return index, UnsafePath(
                rel, f"the file appears twice (also as {_shown(paths[seen[parts]])})"
            )
        seen.setdefault(parts, index)
    dirs = {parts[:i]: seen[parts] for parts in seen for i in range(1, len(parts))}
    for parts, index in seen.items():
        if parts in dirs:
            file, nested = paths[index], paths[dirs[parts]]
            reason = (
                f"{_shown(file)} is a file and also the directory of another file "
                f"({_shown(nested)})"
            )
            later = max(index, dirs[parts])
            return later, UnsafePath(paths[later], reason)
    if not repeats:
        if len(_CLEAN_SETS) >= _CLEAN_MAX:
            _CLEAN_SETS.clear()
        _CLEAN_SETS[key] = None
    return None


#: File sets :func:`change_set_problem` found writable together (without ``repeats``),
#: for the same set checked again (the model's answer, then the guard of its write; a
#: replay's every round): the verdict is a function of the strings alone (lexical).
#: Bounded: emptied when full.
_CLEAN_SETS: dict[tuple[str, ...], None] = {}
_CLEAN_MAX = 256


class PathGuard:
    """:func:`safe_path` for many paths under one root, resolving the root only once.

    The root's real path is taken when the guard is made; make one per write of a file
    set (the filesystem may change between sets). A root that does not exist yet (a
    replay's scratch run never writes ``files/``) holds no symlink, so every path the
    lexical rules let through stays inside it, and nothing is resolved:
    :meth:`check_all` then builds no path at all (the root may be given as text).
    """

    def __init__(self, root: Path | str) -> None:
        self._given = root
        try:
            os.lstat(root)
        except FileNotFoundError:  # a missing component: no loop, nothing to follow
            self._absent = True
            return
        except OSError:
            pass  # resolving meets it again and says why
        self._absent = False
        try:
            self._real_root = self.root.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on Python 3.11
            raise UnsafePath(str(root), f"it cannot be resolved ({exc})") from None

    @property
    def absent(self) -> bool:
        """Whether the root did not exist when the guard was made (lexical rules decide)."""
        return self._absent

    @cached_property
    def root(self) -> Path:
        """The root, as a path."""
        given = self._given
        return given if isinstance(given, Path) else Path(given)

    def check(self, rel: str, parts: tuple[str, ...] | None = None) -> Path:
        """``root / rel`` after proving it resolves strictly inside the root."""
        if parts is None:
            parts = normalize_rel(rel)
        candidate = self.root.joinpath(*parts)
        if self._absent:  # parts is never empty: the path is strictly inside the root
            return candidate
        try:
            real = candidate.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on Python 3.11
            raise UnsafePath(rel, f"it cannot be resolved ({exc})") from None
        if real == self._real_root:
            raise UnsafePath(rel, f"it resolves to {self.root} itself")
        if self._real_root not in real.parents:
            raise UnsafePath(rel, f"it resolves to {real}, outside {self.root}")
        return candidate

    def check_all(self, paths: Iterable[str]) -> None:
        """:meth:`check` every path of a set (the first unsafe one raises
        :class:`UnsafePath`); under a root that does not exist, the lexical rules decide
        and no path is built (a set :func:`change_set_problem` passed is not split again)."""
        if self._absent:
            given = tuple(paths)
            if given not in _CLEAN_SETS:
                for rel in given:
                    normalize_rel(rel)
            return
        for rel in paths:
            self.check(rel, normalize_rel(rel))


def safe_path(root: Path, rel: str) -> Path:
    """Return ``root / rel`` after proving it stays strictly inside ``root``.

    Besides the lexical checks of :func:`normalize_rel`, the path is resolved following the
    symlinks that already exist under ``root``; if that lands outside ``root`` (or on
    ``root`` itself) it raises :class:`UnsafePath`. The returned path is the lexical one,
    not the resolved one, so callers can refuse to follow links when they write.
    """
    parts = normalize_rel(rel)
    return PathGuard(root).check(rel, parts)
