"""The runs viewer: ``agentlog ui``, a local web app over the runs under a directory.

The run summaries it lists (:func:`list_runs`, from :mod:`actors.views.runs`, which
``agentlog ls`` shares) need nothing but agentlog itself; the web application
(:func:`create_app`, :func:`serve`) needs the ``ui`` extra (Starlette and uvicorn) and is
imported only when asked for, so ``agentlog ls`` never pays for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from actors.views.runs import CACHE_NAME, ForkRef, RunSummary, find_runs, list_runs

if TYPE_CHECKING:
    from actors.viewer.app import create_app
    from actors.viewer.serve import serve

__all__ = [
    "CACHE_NAME",
    "ForkRef",
    "RunSummary",
    "create_app",
    "find_runs",
    "list_runs",
    "serve",
]

_LAZY = {"create_app": "actors.viewer.app", "serve": "actors.viewer.serve"}


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'actors.viewer' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
