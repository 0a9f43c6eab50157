"""``agentlog ui [DIR]``: the local web viewer (needs the ``ui`` extra)."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from actors.cli.errors import UsageError

__all__ = ["args_ui", "cmd_ui"]


def cmd_ui(args: argparse.Namespace) -> int:
    from actors.cli.opening import require_directory

    root = Path(args.dir)
    require_directory(root)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    try:
        from actors.viewer.serve import serve
    except ImportError as exc:
        raise UsageError(
            f"agentlog ui needs the viewer's packages ({exc.name} is missing): "
            "pip install 'agentlog[ui]'"
        ) from None
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a viewer is meant to stop
        serve(root, args.host, args.port, announce=lambda line: print(line, flush=True))
    print("agentlog ui: stopped", flush=True)
    return 0


def args_ui(p: argparse.ArgumentParser) -> str:
    """``agentlog ui``'s arguments; returns its example."""
    p.add_argument(
        "dir", metavar="DIR", nargs="?", default="runs", help="runs directory (default: runs)"
    )
    p.add_argument(
        "--port", type=int, default=8321, metavar="N", help="default 8321; 0 picks a free port"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: only this machine can connect)",
    )
    return "agentlog ui runs --port 8321   # then open http://127.0.0.1:8321/"
