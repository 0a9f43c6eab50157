"""What a test run sees of the editable installs in the interpreter's environment.

An editable install (uv, hatch, pdm, poetry, ``pip install -e``) leaves a ``.pth`` file in
site-packages that names a checkout outside it: a directory to put on ``sys.path`` or, for
setuptools, a finder module whose ``MAPPING`` names the checkout's package directories.
Binding such a directory would show the tests the whole checkout: its ``.env``, its
``.git``, whatever the user never handed over. So a checkout is never bound:

- when the workspace holds one of the checkout's packages (at the same place relative to
  some ending of the checkout's path, such as ``src/``), the checkout is the workspace's
  own project: none of it is shown, and the scratch copy's directory goes on
  ``PYTHONPATH`` instead, so the tests import the code under test;
- otherwise (an editable dependency) the tests see a copy of its importable files only:
  Python sources, stubs, extension modules and ``py.typed`` of its packages and top-level
  modules, made in the run's scratch directory (hard links where it can) and bound
  read-only where the checkout is. Nothing else of it exists inside: no data files, no
  dot-files, nothing under a symbolic link.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import os
import shutil
import site
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec

__all__ = ["EditableView", "Project", "editable_projects", "editable_view"]

_SUFFIXES = tuple(
    {*importlib.machinery.SOURCE_SUFFIXES, *importlib.machinery.EXTENSION_SUFFIXES, ".pyi"}
)
#: Module names that say nothing about which project a directory is.
_COMMON = frozenset({"conftest", "setup", "noxfile", "fabfile", "tasks", "manage", "test"})


class Project(msgspec.Struct, frozen=True):
    """One editable install: the host paths its importable names live at.

    ``roots`` are ``sys.path`` directories (a ``.pth`` line) whose importable entries are
    found when a run starts; ``entries`` are ``(name, path)`` pairs a finder maps.
    """

    roots: tuple[str, ...] = ()
    entries: tuple[tuple[str, str], ...] = ()


class EditableView(msgspec.Struct, frozen=True):
    """What a run gets: ``(source, target)`` read-only binds, and extra ``PYTHONPATH``."""

    binds: tuple[tuple[str, str], ...] = ()
    paths: tuple[str, ...] = ()


def _site_dirs() -> list[str]:
    sites = site.getsitepackages()
    user_site = site.getusersitepackages()
    if site.ENABLE_USER_SITE and user_site in sys.path:
        sites.append(user_site)
    return sites


@functools.cache
def editable_projects(covered: tuple[str, ...]) -> tuple[Project, ...]:
    """The editable installs of this interpreter whose code lies outside ``covered`` (the
    interpreter's directories, bound whole anyway), from its site directories."""
    found: list[Project] = []
    for directory in _site_dirs():
        site_dir = Path(directory)
        try:
            names = sorted(os.listdir(site_dir))
        except OSError:
            continue
        for name in names:
            if name.endswith(".pth"):
                roots = [p for p in _pth_dirs(site_dir / name) if not _inside(p, covered)]
                if roots:
                    found.append(Project(roots=tuple(roots)))
            elif name.startswith("__editable__") and name.endswith("_finder.py"):
                entries = [
                    e for e in _finder_entries(site_dir / name) if not _inside(e[1], covered)
                ]
                if entries:
                    found.append(Project(entries=tuple(entries)))
    return tuple(found)


def editable_view(
    projects: Sequence[Project],
    workspace: Path,
    copies: Path,
    *,
    inside: str,
    hidden: Sequence[Path] = (),
    keep: Sequence[str] = (),
    confined: bool = True,
) -> EditableView:
    """The binds and paths of one run whose scratch tree is ``workspace`` (``inside`` in
    the sandbox); copies of dependencies' importable files are made under ``copies``
    (only when ``confined``: unconfined tests see the host as it is). A copy bound over
    a directory holding one of ``keep`` (the interpreter's, bound after it) gets an empty
    directory there for it to be bound on."""
    binds: list[tuple[str, str]] = []
    paths: list[str] = []
    skip = {os.path.realpath(h) for h in hidden}
    for project in projects:
        tops = {root: _importable(root) for root in project.roots}
        entries = list(project.entries)
        for root, names in tops.items():
            entries += [(name, os.path.join(root, name)) for name in names]
        own = _own_places(entries, workspace)
        if own is not None:
            paths += [f"{inside}/{rel}" for rel in own if rel]
            continue
        if not confined:
            continue
        targets = [*tops, *(path for _, path in project.entries)]
        for target in _outermost(targets):
            source = copies / target.lstrip("/")
            if _copy_importable(Path(target), source, tops.get(target), skip):
                binds.append((str(source), target))
                for path in keep:
                    if _inside(path, [target]) and path != target:
                        _make_dirs(source / os.path.relpath(path, target), source)
    return EditableView(binds=tuple(binds), paths=tuple(dict.fromkeys(paths)))


def _outermost(paths: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not _inside(path, kept):
            kept.append(path)
    return kept


def _inside(path: str, tops: Iterable[str]) -> bool:
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in tops)


def _pth_dirs(pth: Path) -> list[str]:
    """The existing directories a ``.pth`` file's path lines add (not its ``import`` lines)."""
    try:
        lines = pth.read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
    dirs = []
    for line in lines:
        line = line.rstrip()
        if line and not line.startswith(("#", "import ", "import\t")):
            path = os.path.realpath(pth.parent / line)
            if os.path.isdir(path):
                dirs.append(path)
    return dirs


def _finder_entries(finder: Path) -> list[tuple[str, str]]:
    """``(name, path)`` of a setuptools editable finder's ``MAPPING`` and ``NAMESPACES``,
    read as literals (the module is never run here)."""
    try:
        tree = ast.parse(finder.read_text("utf-8", "replace"))
    except (OSError, SyntaxError, ValueError):
        return []
    entries: list[tuple[str, str]] = []
    for node in tree.body:
        target: ast.expr
        value_node: ast.expr | None
        if isinstance(node, ast.AnnAssign):
            target, value_node = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value_node = node.targets[0], node.value
        else:
            continue
        if not isinstance(target, ast.Name) or target.id not in ("MAPPING", "NAMESPACES"):
            continue
        try:
            value = ast.literal_eval(value_node) if value_node is not None else None
        except ValueError:
            continue
        if not isinstance(value, dict):
            continue
        for name, where in value.items():
            for path in where if isinstance(where, list) else [where]:
                if isinstance(name, str) and isinstance(path, str) and os.path.isabs(path):
                    entries.append((name.rpartition(".")[2], os.path.realpath(path)))
    return entries


def _is_module(name: str) -> bool:
    return not name.startswith(".") and (name == "py.typed" or name.endswith(_SUFFIXES))


def _importable(root: str) -> list[str]:
    """The top-level names in a ``sys.path`` directory the tests could import: modules,
    and directories named like packages that hold a module or a package."""
    names = []
    try:
        children = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    for child in children:
        if child.is_symlink() or child.name.startswith("."):
            continue
        module = child.is_file() and child.name.endswith(_SUFFIXES)
        if module or (child.is_dir() and child.name.isidentifier() and _holds_code(child.path)):
            names.append(child.name)
    return names


def _holds_code(directory: str) -> bool:
    try:
        with os.scandir(directory) as children:
            for child in children:
                if child.is_symlink() or child.name.startswith("."):
                    continue
                if child.is_file() and child.name.endswith(_SUFFIXES):
                    return True
                if child.is_dir() and os.path.isfile(os.path.join(child.path, "__init__.py")):
                    return True
    except OSError:
        return False
    return False


def _identifying(entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The entries that say which project this is: its packages, else its modules less
    the names every project has (``conftest``, ``setup``)."""
    packages = [(n, p) for n, p in entries if os.path.isfile(os.path.join(p, "__init__.py"))]
    if packages:
        return packages
    modules = [(n, p) for n, p in entries if os.path.isfile(p)]
    return [(n, p) for n, p in modules if n.partition(".")[0] not in _COMMON]


def _own_places(entries: Sequence[tuple[str, str]], workspace: Path) -> list[str] | None:
    """Where in the workspace its own copy of this project's code is (relative places, ``""``
    for the top), or None when the workspace holds none of it."""
    places: list[str] = []
    for _, path in _identifying(entries):
        parts = Path(path).parent.parts[1:]
        for start in range(len(parts) + 1):
            rel = "/".join(parts[start:])
            if (workspace / rel / Path(path).name).exists():
                places.append(rel)
                break
    return places or None


def _copy_importable(source: Path, copy: Path, names: list[str] | None, skip: set[str]) -> bool:
    """Copy ``source``'s importable files to ``copy`` (only ``names`` at its top when
    given); True when anything was copied."""
    if os.path.realpath(source) in skip or source.is_symlink():
        return False
    if source.is_file():
        if not _is_module(source.name):
            return False
        _make_dirs(copy.parent, copy.parent)
        return _link_or_copy(source, copy)
    copied = False
    for entry in _walk(source, names, skip) if source.is_dir() else []:
        target = copy / entry.relative_to(source)
        _make_dirs(target.parent, copy)
        copied = _link_or_copy(entry, target) or copied
    return copied


def _walk(top: Path, names: list[str] | None, skip: set[str]) -> list[Path]:
    """The importable files under ``top``: modules in directories named like packages, no
    symbolic links, no dot-names, no ``__pycache__``, nothing under a hidden path."""
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(top):
        at_top = dirpath == str(top)
        dirnames[:] = [
            d
            for d in dirnames
            if d.isidentifier()
            and d != "__pycache__"
            and (not at_top or names is None or d in names)
            and not os.path.islink(os.path.join(dirpath, d))
            and os.path.realpath(os.path.join(dirpath, d)) not in skip
        ]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if (at_top and names is not None and name not in names) or not _is_module(name):
                continue
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    files.append(Path(path))
            except OSError:  # gone since it was listed
                continue
    return files


def _make_dirs(path: Path, top: Path) -> None:
    """``path`` and its missing parents, those from ``top`` down open to every user (the
    user a root-started run drops to must read them, whatever the umask)."""
    if path.is_dir():
        return
    _make_dirs(path.parent, top)
    path.mkdir()
    if path == top or top in path.parents:
        path.chmod(0o755)


def _link_or_copy(source: Path, copy: Path) -> bool:
    """A hard link to ``source`` (or a copy of it) at ``copy``, never following a symbolic
    link that replaced it meanwhile; False when it cannot be read (it stays out)."""
    try:
        os.link(source, copy, follow_symlinks=False)
    except OSError:
        try:
            shutil.copy2(source, copy, follow_symlinks=False)
        except OSError:
            return False
    return True
