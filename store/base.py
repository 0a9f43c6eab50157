"""Record a workspace as a run finds it: which files, their bytes in ``objects/``, git state.

:func:`record_base` is read-only on the workspace. Files taken in are those git tracks
(outside git: the tree minus ``.gitignore`` patterns); binaries, symlinks, files over the
size limit, anything that is not a regular file and names that are not UTF-8 (recorded
with each such byte as ``\\xNN``) are left out, each with its reason. So are credential
files (``.env``, private keys, cloud and registry credentials, known by name) and files in
which a secret is found (a known token format or an environment secret in any of its
encodings, :mod:`store.credentials`), unless the person allowed that path (``agentlog run
--allow-credential-file PATH``), which the base records.
The bytes of every file taken in are stored (and synced) before the caller writes the
event that names them. The test command is detected from the same files.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterable
from pathlib import Path

from events import EXIT_USAGE, AgentlogError, BaseFile, LeftOut, TestSource, WorkspaceBase
from store.credentials import credential_file, environment_secrets, secret_in_file
from store.objects import ObjectStore
from store.paths import path_problem

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DETECTED_COMMANDS",
    "PYTEST_COMMAND",
    "UNITTEST_COMMAND",
    "WorkspaceError",
    "detect_tests",
    "record_base",
]

#: Files larger than this are left out of the base (and of the model's view).
DEFAULT_MAX_FILE_BYTES = 1_000_000
_BINARY_PEEK = 8000
#: The test commands :func:`detect_tests` can record (``python`` is the running interpreter).
PYTEST_COMMAND = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
UNITTEST_COMMAND = ("python", "-m", "unittest", "discover", "-q")
#: In a src layout the detected command runs with the project's ``src/`` importable.
_SRC_PATH = ("env", "PYTHONPATH=.:src")
#: Every command agentlog detects itself (never a log's own choice of what to run).
DETECTED_COMMANDS = (
    PYTEST_COMMAND,
    UNITTEST_COMMAND,
    (*_SRC_PATH, *PYTEST_COMMAND),
    (*_SRC_PATH, *UNITTEST_COMMAND),
)
_PYTEST_MARKERS = {
    "pyproject.toml": b"[tool.pytest",
    "setup.cfg": b"[tool:pytest]",
    "tox.ini": b"[pytest]",
}
#: Files whose test recipes hint at the runner (pytest, else unittest) when no test
#: configuration names one: tox and nox sessions, Makefile targets, dev dependencies.
_HINTS = ("tox.ini", "noxfile.py", "Makefile", "makefile", "GNUmakefile", "pyproject.toml")
#: Where a project's pytest settings may add to ``sys.path`` itself (``pythonpath``).
_PYTEST_CONFIGS = ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini")


class WorkspaceError(AgentlogError):
    """The workspace cannot be recorded (missing, not a directory, unreadable)."""

    exit_code = EXIT_USAGE


def record_base(
    workspace: str | Path,
    run_dir: str | Path,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    test_cmd: str = "",
    allow_credentials: Iterable[str] = (),
) -> WorkspaceBase:
    """Take in ``workspace``: store its files' bytes in ``run_dir/objects`` (synced) and
    return the record to put in ``WorkflowStarted``.

    ``allow_credentials`` are workspace-relative paths a person chose to take in although
    they are credential files or hold a secret; each must be a file the base would
    otherwise consider (a :class:`WorkspaceError` names one that is not).
    """
    root = Path(workspace)
    if not root.is_dir():
        raise WorkspaceError(f"{root}: the workspace is not a directory")
    root = root.resolve()
    with _Git(root) as git:  # rev-parse, ls-files and status at once, run while we go on
        return _record(root, git, run_dir, max_file_bytes, test_cmd, allow_credentials)


def _record(
    root: Path,
    git: _Git,
    run_dir: str | Path,
    max_file_bytes: int,
    test_cmd: str,
    allow_credentials: Iterable[str],
) -> WorkspaceBase:
    secrets = environment_secrets()
    secret_in_file("", b"", secrets)  # the scanners compiled while git lists the files
    status = git.status()
    candidates = git.files() if status is not None else _walk_unignored(root)
    allowed = _allowed(allow_credentials, candidates, root)
    files: list[BaseFile] = []
    left_out: list[LeftOut] = []
    contents: dict[str, bytes] = {}  # what test detection reads (see _for_detection)
    prefix = f"{root}{os.sep}"  # a string per file: a Path per file costs more than a read
    with ObjectStore(run_dir).writer() as objects:  # streamed: one file in memory at a time
        for rel in candidates:
            reason = _name_problem(rel, allowed)
            if reason is not None:
                left_out.append(LeftOut(path=_shown(rel), reason=reason))
                continue
            reason, mode, data = _take(root, prefix + rel, max_file_bytes)
            if reason is None and data is not None and rel not in allowed:
                found = secret_in_file(rel, data, secrets)
                reason = None if found is None else f"holds a secret ({found})"
            if reason is not None:
                left_out.append(LeftOut(path=rel, reason=reason))
                continue
            assert data is not None
            digest, _ = objects.add(data)
            files.append(BaseFile(path=rel, size=len(data), mode=mode, hash=digest))
            kept = _for_detection(rel, data)
            if kept is not None:
                contents[rel] = kept
    command, source = _test_command(test_cmd, contents, [f.path for f in files])
    commit, dirty = status.result() if status is not None else (None, False)
    return WorkspaceBase(
        root=str(root),
        commit=commit,
        dirty=dirty,
        files=tuple(files),
        left_out=tuple(left_out),
        max_file_bytes=max_file_bytes,
        test_command=command,
        test_source=source,
        credentials_allowed=tuple(sorted(allowed)),
    )


def _name_problem(rel: str, allowed: set[str]) -> str | None:
    """Why ``rel`` is left out by its name alone, or None."""
    if _not_utf8(rel) is not None:  # no event can carry the name: recorded as shown
        return "file name is not UTF-8"
    problem = path_problem(rel)  # files/ and apply must be able to write it back
    if problem is not None:
        return f"a path agentlog cannot write: {problem}"
    kind = None if rel in allowed else credential_file(rel)
    return None if kind is None else f"a credential file ({kind})"


def _shown(rel: str) -> str:
    """``rel`` as the record shows it (a name that is not UTF-8 with ``\\xNN`` bytes)."""
    shown = _not_utf8(rel)
    return rel if shown is None else shown


def _for_detection(rel: str, data: bytes) -> bytes | None:
    """What :func:`detect_tests` needs of a file: a top-level file whole; of a nested
    test file only whether it imports pytest (a marker, so the base is not held in
    memory); nothing of any other file."""
    if "/" not in rel:
        return data
    if not _is_test_file(rel):
        return None
    return b"import pytest" if b"import pytest" in data or b"from pytest" in data else b""


def _not_utf8(rel: str) -> str | None:
    """None for a name that is UTF-8 text; else the name for the record, each byte that
    is not UTF-8 shown as ``\\xNN`` (names are read with ``surrogateescape``)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raw = rel.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")
    return None


def _allowed(paths: Iterable[str], candidates: list[str], root: Path) -> set[str]:
    """The allowed credential paths, normalised to ``/``-separated relative form."""
    known = set(candidates)
    out = set()
    for given in paths:
        rel = given.replace(os.sep, "/").removeprefix("./")
        if rel not in known:
            raise WorkspaceError(
                f"{given}: not a file of the workspace {root} (name a credential file "
                "relative to the workspace; in git, a tracked one)"
            )
        out.add(rel)
    return out


def detect_tests(
    contents: dict[str, bytes], paths: Iterable[str] = ()
) -> tuple[tuple[str, ...], TestSource]:
    """The test command a workspace's files call for: pytest, else unittest, else none.

    ``contents`` maps paths to bytes (top-level files and Python test files are enough);
    ``paths`` lists every file of the tree (for the layout). pytest when a config names
    it (``pytest.ini``, ``conftest.py``, a ``[tool.pytest…]`` section), a test file
    imports it or a recipe mentions it (``tox.ini``, ``noxfile.py``, a ``Makefile``,
    ``pyproject.toml``: pytest also runs unittest tests); unittest when there are
    ``test*.py`` files or a recipe runs it. pytest reads the project's own settings
    (``[tool.pytest.ini_options]`` and the like) itself. In a src layout
    (``src/PKG/__init__.py``) the command runs with ``PYTHONPATH=.:src``, unless the
    project's pytest settings set ``pythonpath``.
    """
    names = {path.rsplit("/", 1)[-1] for path in contents}
    runner = _runner(contents, names)
    if runner is None:
        return (), "none"
    command = PYTEST_COMMAND if runner == "pytest" else UNITTEST_COMMAND
    if _src_layout([*paths, *contents]) and not (
        runner == "pytest"
        and any(b"pythonpath" in contents.get(name, b"") for name in _PYTEST_CONFIGS)
    ):
        command = (*_SRC_PATH, *command)
    return command, runner


def _runner(contents: dict[str, bytes], names: set[str]) -> TestSource | None:
    uses_pytest = bool({"pytest.ini", "conftest.py"} & names) or any(
        marker in contents.get(name, b"") for name, marker in _PYTEST_MARKERS.items()
    )
    if not uses_pytest:
        uses_pytest = any(
            _is_test_file(path) and (b"import pytest" in data or b"from pytest" in data)
            for path, data in contents.items()
        )
    hints = [contents.get(name, b"") for name in _HINTS]
    if uses_pytest or any(b"pytest" in hint for hint in hints):  # pytest runs unittest too
        return "pytest"
    if any(_is_test_file(name) for name in names) or any(b"unittest" in h for h in hints):
        return "unittest"
    return None


def _src_layout(paths: Iterable[str]) -> bool:
    """True when the importable packages live under ``src/`` (``src/PKG/__init__.py``)."""
    for path in paths:
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "src" and parts[2] == "__init__.py":
            return True
    return False


def _is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test") or name.endswith("_test.py"))


def _test_command(
    test_cmd: str, contents: dict[str, bytes], paths: Iterable[str] = ()
) -> tuple[tuple[str, ...], TestSource]:
    if test_cmd.strip():
        return ("sh", "-c", test_cmd), "config"
    return detect_tests(contents, paths)


class _Git:
    """What git says of a workspace: whether it is a work tree, its HEAD, its tracked files
    and whether they differ from HEAD. The three commands start at once and run while the
    caller goes on (each read when needed)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.head: subprocess.Popen[bytes] | None = None
        self.listed: subprocess.Popen[bytes] | None = None
        self.changes: subprocess.Popen[bytes] | None = None
        try:
            self.head = self._start("rev-parse", "--is-inside-work-tree", "--verify", "-q", "HEAD")
            self.listed = self._start("ls-files", "-z", "--cached", "--", ".")
            self.changes = self._start("status", "--porcelain", "--untracked-files=no", "--", ".")
        except FileNotFoundError:
            self._close()  # no git on this machine: the tree is treated as plain files

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["git", "-C", str(self.root), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def __enter__(self) -> _Git:
        return self

    def __exit__(self, *_: object) -> None:
        self._close()

    def _close(self) -> None:
        """Wait for every command still running (its output not needed)."""
        for proc in (self.head, self.listed, self.changes):
            if proc is not None and proc.returncode is None:
                proc.communicate()
        self.head = self.listed = self.changes = None

    def status(self) -> _Status | None:
        """The git state of the workspace, or None when it is not in a git work tree."""
        if self.head is None:
            return None
        out, _ = self.head.communicate()
        lines = out.decode().split()
        if not lines or lines[0] != "true":
            self._close()
            return None
        commit = lines[1] if len(lines) > 1 and self.head.returncode == 0 else None
        assert self.changes is not None
        return _Status(self.root, commit, self.changes)

    def files(self) -> list[str]:
        """The tracked files, sorted (names read with ``surrogateescape``)."""
        assert self.listed is not None
        out, err = self.listed.communicate()
        if self.listed.returncode != 0:
            raise WorkspaceError(f"{self.root}: git ls-files failed: {err.decode().strip()}")
        return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


class _Status:
    """``git status`` of a work tree, started at once and read when needed."""

    def __init__(self, root: Path, commit: str | None, proc: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.commit = commit
        self.proc = proc

    def result(self) -> tuple[str | None, bool]:
        """(HEAD commit or None, whether tracked files differ from it)."""
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            raise WorkspaceError(f"{self.root}: git status failed: {err.decode().strip()}")
        return self.commit, bool(out.strip())


def _walk_unignored(root: Path) -> list[str]:
    """Every file under ``root`` not matched by a ``.gitignore`` (nested ones included)."""
    import pathspec

    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        return any(
            spec.match_file(probe[len(base) + 1 :] if base else probe)
            for base, spec in specs
            if not base or probe.startswith(base + "/")
        )

    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        if ".gitignore" in filenames:
            try:
                lines = (Path(dirpath) / ".gitignore").read_text("utf-8", "replace").splitlines()
            except OSError:
                lines = []
            specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))
        joined = [f"{rel_dir}/{d}" if rel_dir else d for d in dirnames]
        kept = zip(dirnames, joined, strict=True)
        dirnames[:] = sorted(d for d, rel in kept if d != ".git" and not ignored(rel, True))
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not ignored(rel, False):
                out.append(rel)
    return sorted(out)


def _take(root: Path, name: str, limit: int) -> tuple[str | None, int, bytes | None]:
    """(reason it is left out or None, mode, bytes) for the candidate file ``name`` (the
    workspace's path and the relative one joined)."""
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        return "deleted in the working tree", 0, None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})", 0, None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = Path(name).resolve()
        except (OSError, RuntimeError):
            return "a symlink that cannot be resolved", 0, None
        if root != target and root not in target.parents:
            return "a symlink leaving the workspace", 0, None
        return "a symlink (links are not taken in)", 0, None
    if stat.S_ISDIR(st.st_mode):
        return "a directory (a git submodule?)", 0, None
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file", 0, None
    if st.st_size > limit:
        return f"larger than {limit} bytes ({st.st_size})", 0, None
    try:
        data = _read(name, st.st_size)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})", 0, None
    if b"\0" in data[:_BINARY_PEEK]:
        return "binary", 0, None
    if not data.isascii():  # ASCII is UTF-8 (and checked many times faster)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "binary (not UTF-8 text)", 0, None
    mode = 0o755 if st.st_mode & stat.S_IXUSR else 0o644
    return None, mode, data


def _read(path: str, size: int) -> bytes:
    """The file's bytes: its ``size`` (as stat saw it) in one read, then whatever follows."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        chunks = [os.read(fd, size + 1)]  # no 1 MiB buffer made and shrunk per file
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
