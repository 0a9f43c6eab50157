"""The fork tree around one run: its parent and its children, with the seq they share.

A ``Forked`` event names its source as the path given to ``fork`` (absolute, or relative
to where it ran). The source is matched against the listed runs by resolved path, then by
directory name, then by the workflow id it recorded.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from actors.views.runs import ForkRef, RunSummary
from store import LOG_NAME

__all__ = ["fork_command", "fork_tree", "parent_of"]


def _resolved(path: str) -> Path:
    p = Path(path)
    if p.name == LOG_NAME:
        p = p.parent
    try:
        return p.resolve()
    except OSError:  # pragma: no cover - resolve() fails only on loops
        return p


def parent_of(ref: ForkRef, runs: list[RunSummary]) -> RunSummary | None:
    """The listed run ``ref`` points at, or None (not under this directory)."""
    source = _resolved(ref.source)
    by_path = {_resolved(s.path): s for s in runs}
    if source in by_path:
        return by_path[source]
    for s in runs:
        if s.id == source.name:
            return s
    for s in runs:
        if s.workflow_id == ref.source_workflow_id and s.forked_from is None:
            return s
    return None


def fork_tree(run_id: str, runs: list[RunSummary]) -> dict[str, Any]:
    """``parent`` (id or None, plus the recorded source and seq) and ``children``; each
    says whether it is a what-if (``agentlog replay RUN --as NEW``) rather than a fork."""
    me = next((s for s in runs if s.id == run_id), None)
    parent: dict[str, Any] | None = None
    if me is not None and me.forked_from is not None:
        found = parent_of(me.forked_from, runs)
        parent = {
            "id": found.id if found else None,
            "source": me.forked_from.source,
            "at_seq": me.forked_from.at_seq,
            "status": found.status if found else None,
            "what_if": me.forked_from.what_if,
        }
    children = []
    for s in runs:
        if s.forked_from is None or s.id == run_id:
            continue
        found = parent_of(s.forked_from, runs)
        if found is not None and found.id == run_id:
            children.append(
                {
                    "id": s.id,
                    "at_seq": s.forked_from.at_seq,
                    "status": s.status,
                    "task": s.task,
                    "what_if": s.forked_from.what_if,
                }
            )
    return {"parent": parent, "children": children}


def fork_command(run_dir: Path, seq: int) -> str:
    """The command that forks the run at ``run_dir`` after its event ``seq`` into a new
    run beside it (``RUN-fork-SEQ``), quoted for a POSIX shell, ready to copy."""
    fork = run_dir.with_name(f"{run_dir.name}-fork-{seq}")
    return shlex.join(["agentlog", "fork", str(run_dir), "--at", str(seq), "--run-dir", str(fork)])
