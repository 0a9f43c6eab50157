"""Run the ``agentlog`` CLI and SIGKILL it at an exact file-system step.

Usage: ``python tests/_killer.py POINT agentlog-args...`` where POINT is

- ``append:N``: the Nth ``os.write`` of the log writer writes only the first half of its
  bytes, then the process kills itself (the torn tail a kill during an append leaves);
- ``append:N+``: the Nth write completes and the process dies before doing anything
  else (a kill exactly between one move of the supervisor and the next);
- ``rename:N``: the process dies just before the Nth rename of a projection's temp file
  (``plan.json`` ... ``files/...``): the temp file is left behind, the projection is not
  replaced;
- ``rename:N+``: it dies just after the Nth rename.
- ``object:N``: the process dies just before the Nth rename of an object's temp file
  (``objects/ab/.cdef….tmp``, a loose object or pack): the temp file is left behind.
- ``pack:N``: the Nth append to the run pack (``objects/run.pack``, a model request)
  writes only the first half of its bytes, then the process kills itself.
- ``apply:N``: the Nth file-system call of ``agentlog apply``'s transaction
  (``actors.workspace.transaction``: open with ``O_CREAT``, write, fchmod, fsync, mkdir,
  link, rename, unlink, rmdir) is cut: a write writes only the first half of its bytes,
  any other call is not made; then the process kills itself;
- ``apply:N+``: the Nth such call completes, then the process dies;
- ``sigint:N``: just before the Nth such call the process sends itself SIGINT (Ctrl-C)
  and carries on: Python raises ``KeyboardInterrupt`` there;
- ``apply:0``: nothing is killed; the calls made are written to stderr as one line
  ``apply-steps: NAME NAME ...`` (the plan for the points above).

``python tests/_killer.py --fork JOBS.json`` imports once and runs each job of the JSON
list ``[[POINT, [args...]], ...]`` in a forked child (many kills at a fork's cost); it
prints one JSON list: each child's wait status as ``returncode`` (negative: the signal;
99: a child that lived to the end, except for ``sigint`` points, which exit as they do).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from types import ModuleType, SimpleNamespace
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _patch(module: ModuleType, name: str, wrapper: Any) -> None:
    """Give ``module`` its own ``os`` whose ``name`` is ``wrapper`` (others untouched)."""
    real = module.os
    proxy = SimpleNamespace(**{attr: getattr(real, attr) for attr in dir(real)})
    setattr(proxy, name, wrapper)
    module.os = proxy


#: The ``os`` calls of the apply transaction that change files (``open``: with O_CREAT).
APPLY_CALLS = (
    "open",
    "write",
    "fchmod",
    "fsync",
    "mkdir",
    "link",
    "replace",
    "rename",
    "unlink",
    "rmdir",
)


def _install_apply(nth: int, after: bool, interrupt: bool = False) -> None:
    if interrupt:
        # Ctrl-C as a terminal delivers it: Python's own handler. A process started with
        # SIGINT ignored (a background job, an xdist worker's children) keeps ignoring it,
        # and the self-sent SIGINT below would then be lost.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    transaction = importlib.import_module("actors.workspace.transaction")
    real = transaction.os
    proxy = SimpleNamespace(**{attr: getattr(real, attr) for attr in dir(real)})
    seen: list[str] = []

    def wrap(name: str) -> Any:
        fn = getattr(real, name)

        def step(*args: Any, **kwargs: Any) -> Any:
            if name == "open" and not (len(args) > 1 and args[1] & os.O_CREAT):
                return fn(*args, **kwargs)
            seen.append(name)
            if len(seen) == nth and interrupt:
                os.kill(os.getpid(), signal.SIGINT)
                return fn(*args, **kwargs)
            if len(seen) == nth and not after:
                if name == "write":
                    view = memoryview(args[1])
                    fn(args[0], view[: max(1, len(view) // 2)])
                _die()
            try:
                return fn(*args, **kwargs)
            finally:
                if len(seen) == nth:
                    _die()

        return step

    for name in APPLY_CALLS:
        setattr(proxy, name, wrap(name))
    transaction.os = proxy
    if nth == 0:
        import atexit

        atexit.register(lambda: print("apply-steps: " + " ".join(seen), file=sys.stderr))


def _install(point: str) -> None:
    kind, _, number = point.partition(":")
    if kind in ("apply", "sigint"):
        _install_apply(int(number.rstrip("+")), number.endswith("+"), kind == "sigint")
        return
    writer = importlib.import_module("store._writer")
    materialize = importlib.import_module("store.materialize")  # the package shadows it
    objects = importlib.import_module("store.objects")
    pack_files = importlib.import_module("store._pack_files")
    run_pack = importlib.import_module("store.run_pack")
    atomic = importlib.import_module("store._atomic")  # the write-then-rename both share

    nth, after = int(number.rstrip("+")), number.endswith("+")
    count = 0
    real_write, real_replace = os.write, os.replace

    def write(fd: int, data: Any) -> int:
        nonlocal count
        count += 1
        if count == nth:
            view = memoryview(data)
            if after:
                while view:
                    view = view[real_write(fd, view) :]
            else:
                real_write(fd, view[: max(1, len(view) // 2)])
            _die()
        return real_write(fd, data)

    def replace(*args: Any, **kwargs: Any) -> None:
        nonlocal count
        count += 1
        if count == nth and not after:
            _die()
        real_replace(*args, **kwargs)
        if count == nth:
            _die()

    def replace_for(*callers: ModuleType) -> Any:
        """:func:`replace` for the renames ``store._atomic.replace_at`` makes on behalf of
        ``callers`` (the module that called it); its other renames are not counted."""
        names = {m.__name__ for m in callers}

        def wrapper(*args: Any, **kwargs: Any) -> None:
            if sys._getframe(2).f_globals.get("__name__") in names:
                replace(*args, **kwargs)
            else:
                real_replace(*args, **kwargs)

        return wrapper

    if kind == "append":
        _patch(writer, "write", write)
    elif kind == "rename":
        _patch(materialize, "replace", replace)
        _patch(atomic, "replace", replace_for(materialize))
    elif kind == "object":
        _patch(objects, "replace", replace)
        _patch(pack_files, "replace", replace)
        _patch(atomic, "replace", replace_for(pack_files))
    elif kind == "pack":
        _patch(run_pack, "write", write)
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def _fork_each(jobs: list[tuple[str, list[str]]]) -> list[int]:
    from actors.cli import main

    for module in ("actors.cli.diff_cmds", "actors.cli.read_cmds", "actors.workspace.apply"):
        importlib.import_module(module)  # imported once here, not again in every child

    statuses = []
    for point, args in jobs:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 99  # a child still alive at the end was never killed at its point
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                _install(point)
                returned = main(args)
                if point.startswith("sigint:"):
                    code = returned
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        statuses.append(os.waitstatus_to_exitcode(status))
    return statuses


if __name__ == "__main__":
    if sys.argv[1] == "--fork":
        with open(sys.argv[2]) as f:
            print(json.dumps(_fork_each([(p, a) for p, a in json.load(f)])))
        sys.exit(0)
    _install(sys.argv[1])
    from actors.cli import main

    sys.exit(main(sys.argv[2:]))
