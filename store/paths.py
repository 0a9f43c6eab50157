"""Confine paths from the log (the Coder's file names) to a root directory.

A path in a ``CodeProduced`` event comes from a model, so it is untrusted input: before
anything is written, :func:`safe_path` proves it names a place inside ``files/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from events import AgentlogError

__all__ = ["MAX_NAME_BYTES", "UnsafePath", "normalize_rel", "safe_path"]

#: The longest file name (one path component, in bytes) common filesystems accept.
MAX_NAME_BYTES = 255

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(AgentlogError):
    """A path would leave the directory it must stay in, or cannot name a file at all."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe path {path!r}: {reason}")


def normalize_rel(rel: str) -> tuple[str, ...]:
    """Split a relative POSIX path into its components, rejecting every escaping form.

    ``.`` and empty components (``a//b``, ``./a``, ``a/``) are dropped; absolute paths,
    drive letters, backslashes (Windows separators and UNC forms), ``..``, NUL and
    over-long names raise :class:`UnsafePath`. Purely lexical: the filesystem is not read.
    """
    if not rel:
        raise UnsafePath(rel, "the path is empty")
    if "\x00" in rel:
        raise UnsafePath(rel, "the path contains a NUL character")
    if rel.startswith("/"):
        raise UnsafePath(rel, "absolute paths are not allowed")
    if "\\" in rel:
        raise UnsafePath(rel, "backslashes (Windows separators, UNC paths) are not allowed")
    if _DRIVE.match(rel):
        raise UnsafePath(rel, "drive-letter paths are not allowed")
    parts = tuple(p for p in rel.split("/") if p not in ("", "."))
    if not parts:
        raise UnsafePath(rel, "the path names no file")
    if ".." in parts:
        raise UnsafePath(rel, "'..' components are not allowed")
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise UnsafePath(rel, f"a component is longer than {MAX_NAME_BYTES} bytes")
    return parts


def safe_path(root: Path, rel: str) -> Path:
    """Return ``root / rel`` after proving it stays strictly inside ``root``.

    Besides the lexical checks of :func:`normalize_rel`, the path is resolved following the
    symlinks that already exist under ``root``; if that lands outside ``root`` (or on
    ``root`` itself) it raises :class:`UnsafePath`. The returned path is the lexical one,
    not the resolved one, so callers can refuse to follow links when they write.
    """
    parts = normalize_rel(rel)
    candidate = root.joinpath(*parts)
    try:
        real_root = root.resolve()
        real = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on Python 3.11
        raise UnsafePath(rel, f"it cannot be resolved ({exc})") from None
    if real == real_root:
        raise UnsafePath(rel, f"it resolves to {root} itself")
    if real_root not in real.parents:
        raise UnsafePath(rel, f"it resolves to {real}, outside {root}")
    return candidate
