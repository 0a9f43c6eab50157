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
  (``objects/ab/.cdef….tmp``, a model request): the temp file is left behind.
"""

from __future__ import annotations

import importlib
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


def _install(point: str) -> None:
    writer = importlib.import_module("store._writer")
    materialize = importlib.import_module("store.materialize")  # the package shadows it
    objects = importlib.import_module("store.objects")

    kind, _, number = point.partition(":")
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

    if kind == "append":
        _patch(writer, "write", write)
    elif kind == "rename":
        _patch(materialize, "replace", replace)
    elif kind == "object":
        _patch(objects, "replace", replace)
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    _install(sys.argv[1])
    from actors.cli import main

    sys.exit(main(sys.argv[2:]))
