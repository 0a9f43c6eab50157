"""Run directories for the viewer and ``ls`` tests, written straight from event lists."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from events import Event, encode_line


def write_run(run_dir: Path, events: Iterable[Event], extra: Iterable[bytes] = ()) -> Path:
    """A run directory whose log holds ``events`` (already stamped) then ``extra`` lines."""
    run_dir.mkdir(parents=True, exist_ok=True)
    data = b"".join(encode_line(ev) for ev in events) + b"".join(extra)
    (run_dir / "events.jsonl").write_bytes(data)
    return run_dir


def append_lines(run_dir: Path, lines: Iterable[bytes]) -> None:
    with open(run_dir / "events.jsonl", "ab") as f:
        for line in lines:
            f.write(line)


def raw_line(fields: dict[str, Any]) -> bytes:
    """A sealed line for any object, e.g. an event type this version does not know."""
    body = msgspec.json.encode(fields)
    return body[:-1] + b',"crc":"%08x"}\n' % zlib.crc32(body)
