"""The bubblewrap command line of a test run: what the tests can see and where they write.

The tests see a read-only system (``/usr`` and its merged-usr links, an allow-list of
``/etc``), the interpreter with its standard library and site-packages (the workspace's
dependencies), a fresh ``/proc`` of their own PID namespace and a minimal ``/dev``. The
scratch copy of the tree (``/workspace``) and the scratch ``/tmp`` are the only writable
places. Nothing else of the host exists inside: no ``$HOME``, no run directory, no
parent's ``/proc``, no network but a loopback of their own.
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from actors.sandbox.policy import namespace_args

__all__ = ["TMP", "WORKSPACE", "bwrap_args", "interpreter_paths"]

#: Where the tests find the tree and their temporary directory inside the sandbox.
WORKSPACE = "/workspace"
TMP = "/tmp"

_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC = (
    "alternatives",
    "ca-certificates",
    "group",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "locale.alias",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "passwd",
    "pki",
    "protocols",
    "services",
    "ssl",
    "timezone",
)


@functools.cache
def interpreter_paths() -> tuple[str, ...]:
    """The directories the interpreter needs: its prefixes, stdlib and site-packages.

    Not the directories ``.pth`` files name outside them (editable installs: a user's
    checkout, ``.env`` and all): :mod:`actors.sandbox.editable` shows those.
    """
    found: list[str] = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    found += [p for p in sysconfig.get_paths().values()]
    found += site.getsitepackages()
    user_site = site.getusersitepackages()
    if site.ENABLE_USER_SITE and user_site in sys.path:  # ``pip install --user`` deps
        found.append(user_site)
    return tuple(_outermost(p for p in found if os.path.isdir(p)))


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _outermost(paths: Iterable[str]) -> list[str]:
    """Distinct real paths with none inside another (binding the outer one covers both)."""
    real = sorted({os.path.realpath(p) for p in paths})
    kept: list[str] = []
    for p in real:
        if not any(_within(p, k) for k in kept):
            kept.append(p)
    return [k for k in kept if k != "/"]


def _system_args(etc: Mapping[str, Path]) -> list[str]:
    args: list[str] = []
    for name in _SYSTEM:
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    # bwrap would make /etc 0700, closed to the unprivileged user a root-started run drops to.
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in _ETC:
        args += ["--ro-bind-try", str(etc.get(name, f"/etc/{name}")), f"/etc/{name}"]
    return args


def bwrap_args(
    binary: str,
    *,
    workspace: Path,
    tmp: Path,
    hidden: Sequence[Path] = (),
    status_fd: int,
    etc: Mapping[str, Path] | None = None,
    editable: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """bwrap's argv up to ``--`` for a run in ``workspace`` with ``tmp`` as its ``/tmp``.

    ``hidden`` are host paths that must not be visible even when an interpreter directory
    contains them (the run directory): each gets an empty read-only directory over it.
    ``etc`` replaces allowed ``/etc`` files by name (the run's own ``passwd``, ``group``);
    ``editable`` are ``(copy, host path)`` binds of editable installs' importable files.
    """
    root = os.geteuid() == 0
    args = [binary, *namespace_args()]
    if root:
        # Root keeps no capability but the two that drop to the run's user before the exec.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += _system_args(etc or {})
    args += ["--bind", str(workspace), WORKSPACE, "--bind", str(tmp), TMP]
    made: set[str] = set()
    binds = [*((path, path) for path in interpreter_paths()), *editable]
    # Outer before inner: an editable dependency's copy may hold the venv's mount point.
    for source, path in sorted(binds, key=lambda bind: len(Path(bind[1]).parts)):
        if any(_within(path, top) for top in ("/usr", "/proc", "/dev")):
            continue
        # bwrap would make the missing parents 0700, closed to an unprivileged user.
        for parent in reversed(Path(path).parents[:-1]):
            name = str(parent)
            # Under the scratch /tmp too (a venv in /tmp/x/.venv): only /tmp itself is bound.
            if name not in made and name != TMP and not _within(name, "/usr"):
                made.add(name)
                args += ["--perms", "0755", "--dir", name]
        args += ["--ro-bind", source, path]
    for hide in hidden:
        real = os.path.realpath(hide)
        if any(_within(real, p) for p in interpreter_paths()):
            args += ["--tmpfs", real, "--remount-ro", real]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        WORKSPACE,
        "--hostname",
        "sandbox",
        "--json-status-fd",
        str(status_fd),
    ]
    return args
