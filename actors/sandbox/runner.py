"""Run a command on a scratch copy of a tree, confined, bounded and killable as a whole.

:func:`run_confined` copies the tree into a scratch directory (the only place the command
may write), starts the command under the resolved :class:`Sandbox` with the resource
limits applied, reads its output against a deadline (an orphan holding the pipe cannot
stall the caller: at the deadline the run is killed and the pipe abandoned, never waited
on), and removes the scratch directory. :func:`stop_all` kills every run in progress and
removes its scratch directory, for a signal handler.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from actors import cleanup
from actors.sandbox.bwrap import TMP, WORKSPACE, bwrap_args, interpreter_paths
from actors.sandbox.editable import EditableView, editable_projects, editable_view
from actors.sandbox.limits import DEFAULT_LIMITS, Limits
from actors.sandbox.policy import Sandbox
from actors.sandbox.uids import Lease, NoFreeUid, lease

__all__ = ["KEPT_OUTPUT", "Completed", "run_confined", "stop_all"]

#: Bytes of output kept (head and tail) of what a run printed.
KEPT_OUTPUT = 16_384
#: How long output is still read after the command ended (an orphan may hold the pipe).
_DRAIN = 0.5
_KEEP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


class Completed(msgspec.Struct, frozen=True, kw_only=True):
    """How a confined run ended. ``exit_code`` is None when it was killed or never started."""

    started: bool
    exit_code: int | None
    output: str
    truncated: bool
    timed_out: bool
    output_exceeded: bool
    duration_s: float


class _Capped:
    """The head and tail of a stream, ``limit`` bytes in all, and its total length."""

    def __init__(self, limit: int) -> None:
        self.half = limit // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> tuple[str, bool]:
        tail = bytes(self.tail[-self.half :]) if self.half else b""
        cut = self.total - len(self.head) - len(tail)
        if cut <= 0:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", "replace"), False
        data = bytes(self.head) + f"\n… [{cut} bytes cut] …\n".encode() + tail
        return data.decode("utf-8", "replace"), True


class _Registry:
    """The runs in progress, so a signal handler can kill them and remove their scratch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._scratch: set[str] = set()

    def add_scratch(self, path: str) -> None:
        with self._lock:
            self._scratch.add(path)

    def drop_scratch(self, path: str) -> None:
        with self._lock:
            self._scratch.discard(path)

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs[proc.pid] = proc

    def drop(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def stop_all(self) -> int:
        with self._lock:
            procs, scratch = list(self._procs.values()), list(self._scratch)
        for proc in procs:  # their output pipes are their runs' own to close
            _kill_group(proc)
        for path in scratch:
            _remove(Path(path))
        return len(procs)


_registry = _Registry()
cleanup.on_stop(lambda: _registry.stop_all())  # an interrupted CLI stops the runs too


def stop_all() -> int:
    """Kill every test run in progress (whole namespaces / process groups) and remove
    their scratch directories; returns how many runs were killed. Safe from any thread."""
    return _registry.stop_all()


def run_confined(
    tree: Path,
    command: Sequence[str],
    *,
    timeout: float,
    sandbox: Sandbox,
    limits: Limits = DEFAULT_LIMITS,
    hidden: Sequence[Path] = (),
    after: Callable[[Path], None] | None = None,
    in_place: bool = False,
) -> Completed:
    """Run ``command`` in a scratch copy of ``tree`` under ``sandbox``; the copy is removed
    afterwards, so ``tree`` stays exactly as it was whatever the command does.

    ``in_place``: ``tree`` is already a scratch copy its caller made for this command and
    removes; the command runs in it as it is (a large tree is not copied a second time).

    ``hidden`` are host paths (the run directory) that must stay out of the sandbox's view.
    ``after`` is called with the scratch copy once every process of the command is dead,
    before the copy is removed (an agent loop reads back what the command changed).
    """
    scratch = Path(tempfile.mkdtemp(prefix="agentlog-tests-"))
    _registry.add_scratch(str(scratch))
    user: Lease | None = None
    try:
        workspace, tmp = (tree if in_place else scratch / "workspace"), scratch / "tmp"
        if not in_place:
            shutil.copytree(tree, workspace, symlinks=True)
        # bwrap enters the working directory before the tests drop to their user: it must
        # not be closed to others whatever mode the tree's top directory had.
        workspace.chmod(0o755)
        tmp.mkdir()
        etc: dict[str, Path] = {}
        if sandbox.kind == "bwrap" and os.geteuid() == 0:
            try:
                user = lease()
            except (NoFreeUid, OSError) as exc:
                return _not_started(f"cannot start the tests: no user to run them as: {exc}")
            etc = _identity(scratch, user.uid)
            for place in (workspace, tmp):
                _give_to(place, user.uid)
        confined = sandbox.kind == "bwrap"
        view = editable_view(
            editable_projects(interpreter_paths()),
            workspace,
            scratch / "imports",
            inside=WORKSPACE if confined else str(workspace),
            hidden=hidden,
            keep=interpreter_paths(),
            confined=confined,
        )
        drop_to = None if user is None else user.uid
        done = _run(
            workspace, tmp, list(command), timeout, sandbox, limits, hidden, drop_to, etc, view
        )
        if cleanup.stopping():  # killed by an interrupt: its result would be false, and the
            threading.Event().wait()  # process is exiting (this daemon thread ends with it)
        if after is not None:
            after(workspace)
        return done
    finally:
        _remove(scratch)
        _registry.drop_scratch(str(scratch))
        if user is not None:  # every process of the run is dead: the id is free again
            user.release()


def _not_started(why: str) -> Completed:
    return Completed(
        started=False,
        exit_code=None,
        output=why,
        truncated=False,
        timed_out=False,
        output_exceeded=False,
        duration_s=0.0,
    )


def _run(
    workspace: Path,
    tmp: Path,
    command: list[str],
    timeout: float,
    sandbox: Sandbox,
    limits: Limits,
    hidden: Sequence[Path],
    drop_to: int | None,
    etc: dict[str, Path],
    view: EditableView,
) -> Completed:
    confined = sandbox.kind == "bwrap"
    # Without a user namespace of its own, a process limit counts every process of the
    # user (or none, for root): only a sandbox makes it meaningful.
    inner = limits.wrapper(sys.executable, timeout, processes=confined, drop_to=drop_to)
    read_status, write_status = os.pipe()
    try:
        if confined:
            cwd, home = WORKSPACE, TMP
            outer = bwrap_args(
                sandbox.binary,
                workspace=workspace,
                tmp=tmp,
                hidden=hidden,
                status_fd=write_status,
                etc=etc,
                editable=view.binds,
            )
            argv = [*outer, "--", *inner, *command]
        else:
            cwd, home = str(workspace), str(tmp)
            argv = [*inner, *command]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=workspace,
                env=_environment([cwd, *view.paths], home),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(write_status,) if confined else (),
            )
        except OSError as exc:
            os.close(read_status)
            return Completed(
                started=False,
                exit_code=None,
                output=f"cannot start the tests: {exc}",
                truncated=False,
                timed_out=False,
                output_exceeded=False,
                duration_s=time.monotonic() - start,
            )
    finally:
        os.close(write_status)
    _registry.add(proc)
    try:
        assert proc.stdout is not None
        captured = _Capped(KEPT_OUTPUT)
        status = _Capped(4096)
        timed_out, exceeded = _collect(
            proc, captured, status, read_status, start + timeout, limits.output_bytes
        )
    finally:
        _kill(proc)
        os.close(read_status)
        _registry.drop(proc)
    output, truncated = captured.text()
    started = not confined or b'"child-pid"' in bytes(status.head)
    killed = timed_out or exceeded
    return Completed(
        started=started,
        exit_code=None if killed else proc.returncode,
        output=output,
        truncated=truncated,
        timed_out=timed_out,
        output_exceeded=exceeded,
        duration_s=time.monotonic() - start,
    )


def _collect(
    proc: subprocess.Popen[bytes],
    out: _Capped,
    status: _Capped,
    status_fd: int,
    deadline: float,
    max_output: int,
) -> tuple[bool, bool]:
    """Read output and bwrap's status until both end, the deadline, or too much output.

    Returns ``(timed_out, output_exceeded)``. Once the command has ended, output is read
    for a short while more and then abandoned: an orphan may hold the pipe open forever.
    """
    assert proc.stdout is not None
    sinks = {proc.stdout.fileno(): out, status_fd: status}
    with selectors.DefaultSelector() as sel:
        for fd in sinks:
            sel.register(fd, selectors.EVENT_READ)
        ended_at: float | None = None
        while sinks:
            now = time.monotonic()
            if ended_at is None and proc.poll() is not None:
                ended_at = now
                deadline = min(deadline, now + _DRAIN)
            if now >= deadline:
                return ended_at is None, False
            for key, _ in sel.select(min(deadline - now, 0.05 if ended_at is None else 0.01)):
                fd = int(key.fd)
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(fd)
                    del sinks[fd]
                    continue
                sinks[fd].feed(chunk)
                if out.total > max_output:
                    return False, True
    # Every pipe is closed; the command may still run (it closed its output and went on).
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return True, False
    return False, False


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the run's process group and close its output pipe (by the run's own thread)."""
    _kill_group(proc)
    if proc.stdout is not None:
        proc.stdout.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the run's process group: bwrap's death takes its whole PID namespace with it.

    Safe from another thread than the run's: the pipe its thread reads is left open (a
    descriptor closed under a read would fail it, or, once its number is reused, read
    another file); the run's thread sees the output end and closes it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # a kernel that will not kill
        proc.wait(timeout=5)


def _environment(imports: list[str], home: str) -> dict[str, str]:
    """The environment of a test run, from an allow-list: no secret can be inherited.
    ``imports`` go on ``PYTHONPATH``: the tree, and where its own project's code is."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    path = os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), *_SYSTEM_PATH]))
    env.update(
        PATH=path,
        HOME=home,
        TMPDIR=home,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONPATH=os.pathsep.join(imports),
    )
    return env


_SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


def _give_to(place: Path, uid: int) -> None:
    """Make a scratch tree writable by the user a root-started sandbox drops to."""
    for dirpath, dirnames, filenames in os.walk(place):
        os.chown(dirpath, uid, uid, follow_symlinks=False)
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def _identity(scratch: Path, uid: int) -> dict[str, Path]:
    """``/etc/passwd`` and ``/etc/group`` naming the run's user ``sandbox`` (home ``/tmp``),
    so the tests' user has a name as ``nobody`` had; the host's entries are kept."""
    made: dict[str, Path] = {}
    etc = scratch / "etc"
    etc.mkdir()
    lines = {
        "passwd": f"sandbox:x:{uid}:{uid}:agentlog test run:{TMP}:/usr/sbin/nologin\n",
        "group": f"sandbox:x:{uid}:\n",
    }
    for name, line in lines.items():
        try:
            host = Path("/etc", name).read_text("utf-8", "replace")
        except OSError:
            host = ""
        if host and not host.endswith("\n"):
            host += "\n"
        (etc / name).write_text(host + line, "utf-8")
        (etc / name).chmod(0o644)
        made[name] = etc / name
    return made


def _remove(path: Path) -> None:
    """Remove a scratch tree, whatever modes the tests left on its directories."""
    for dirpath, dirnames, _ in os.walk(path):
        for name in dirnames:
            child = os.path.join(dirpath, name)
            try:
                if not os.path.islink(child):
                    os.chmod(child, stat.S_IRWXU)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)
