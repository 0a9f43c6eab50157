"""A replay's check: the first event the re-run made differently from the recorded run.

Two events are the same when every field but ``id`` and ``ts`` is (those two are new in
every run). The logs are compared line by line as bytes first: lines written by this
version's encoder hold the same fields in the same order, so a pair that is byte for byte
equal outside ``id``, ``ts`` and the seal is the same event, with no decoding. Only a
pair that differs in those bytes (another version's encoding, or a real difference) is
decoded and compared field by field, so the verdict is the one the field-by-field
comparison of the whole logs gives, at the cost of reading two files. A replay's scratch
log takes the recorded ``id`` and ``ts`` at each seq (:mod:`store._stamps`), so a block
of events made again the same is the same bytes and is not cut at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any

from events import Event, UnknownEvent, to_dict
from store._scan import decode_one

__all__ = ["count_lines", "first_difference", "first_line_difference"]

AnyEvent = Event | UnknownEvent
_IGNORED = ("id", "ts")
#: What differs in every run, in each line the encoder writes: the ``id`` and ``ts`` that
#: follow the tag and ``seq`` at the start of a line (a newline cannot occur inside JSON,
#: so these match only at the start of a line), and the seal at its end. A line of
#: another shape is left whole (then compared field by field). Each expression begins
#: with a literal, which the regular expression engine finds at C speed.
_STAMP = re.compile(rb'\n(\{"type":"[A-Za-z]+","seq":[0-9]+,)"id":"[^"\\\n]*","ts":"[^"\\\n]*"')
_SEAL = re.compile(rb',"crc":"[0-9a-f]{8}"\}\n')
_BLOCK = 512


def _comparable(event: AnyEvent) -> dict[str, Any]:
    data = to_dict(event)
    for key in _IGNORED:
        data.pop(key, None)
    return data


def _differs(a: dict[str, Any], b: dict[str, Any], seq: int) -> tuple[int, str] | None:
    if a == b:
        return None
    if a.get("type") != b.get("type"):
        return seq, f"recorded {a.get('type')}, replay produced {b.get('type')}"
    fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    return seq, f"{a.get('type')} differs in {', '.join(fields)}"


def first_difference(
    recorded: Iterable[AnyEvent], replayed: Iterable[AnyEvent]
) -> tuple[int, str] | None:
    """The seq and a description of the first difference (ignoring ids and times), or None.

    Both sides are streamed once, side by side.
    """
    old_events, new_events = iter(recorded), iter(replayed)
    for same, (old, new) in enumerate(zip_longest(old_events, new_events)):
        if old is None or new is None:
            rest = 1 + sum(1 for _ in (new_events if old is None else old_events))
            old_n, new_n = (same, same + rest) if old is None else (same + rest, same)
            return same + 1, f"recorded {old_n} events, replay produced {new_n}"
        diff = _differs(_comparable(old), _comparable(new), old.seq)
        if diff is not None:
            return diff
    return None


def _lines(path: Path, limit: int | None) -> Iterator[bytes]:
    """The complete lines of ``path`` (at most ``limit``), each with its newline."""
    with open(path, "rb") as f:
        for n, line in enumerate(f):
            if (limit is not None and n >= limit) or not line.endswith(b"\n"):
                return
            yield line


def first_line_difference(
    recorded: Path,
    replayed: Path,
    recorded_count: int,
    *,
    finished: bool = True,
    same_through: int = 0,
) -> tuple[int, str] | None:
    """:func:`first_difference` of two log files, read as lines.

    ``recorded_count`` is how many events the recorded log holds (a torn tail after them
    is not read); an unfinished recording is compared with as many replayed events.
    Blocks of lines are compared at once (``id``, ``ts`` and seals cut out by two C-level
    substitutions over the block); only a block that differs is looked at line by line.
    A line that cannot be decoded raises the log's own error for it.

    ``same_through`` is a seq through which the two files are known to hold the same
    lines, byte for byte (a replay's writer compared each line with the recorded one as
    it wrote it, :attr:`store.LogWriter.like_through`): when that covers the recorded
    events, only the replayed events are counted.
    """
    if same_through >= recorded_count:
        if not finished:
            return None
        made = count_lines(replayed)
        if made == recorded_count:
            return None
        return recorded_count + 1, f"recorded {recorded_count} events, replay produced {made}"
    old_lines = _lines(recorded, recorded_count)
    new_lines = _lines(replayed, None if finished else recorded_count)
    done = 0
    while True:
        old_block = list(islice(old_lines, _BLOCK))
        new_block = list(islice(new_lines, _BLOCK))
        if not old_block and not new_block:
            return None
        if len(old_block) == len(new_block) and (
            old_block == new_block or _cut(old_block) == _cut(new_block)
        ):
            done += len(old_block)
            continue
        diff = _block_difference(old_block, new_block, done)
        if diff is not None:
            return diff
        if len(old_block) != len(new_block):  # one side ended: the counts differ
            old_n = done + len(old_block) + sum(1 for _ in old_lines)
            new_n = done + len(new_block) + sum(1 for _ in new_lines)
            return done + min(len(old_block), len(new_block)) + 1, (
                f"recorded {old_n} events, replay produced {new_n}"
            )
        done += len(old_block)


def _cut(block: list[bytes]) -> bytes:
    """The lines of ``block`` joined, each without its ``id``, ``ts`` and seal."""
    return _SEAL.sub(b"\n", _STAMP.sub(rb"\n\1", b"\n" + b"".join(block)))


def _block_difference(old: list[bytes], new: list[bytes], done: int) -> tuple[int, str] | None:
    """The first pair of lines that differ in more than ``id`` and ``ts``, if any."""
    for old_line, new_line in zip(old, new, strict=False):
        if old_line == new_line or _cut([old_line]) == _cut([new_line]):
            continue
        old_ev, new_ev = decode_one(old_line[:-1]), decode_one(new_line[:-1])
        diff = _differs(_comparable(old_ev), _comparable(new_ev), old_ev.seq)
        if diff is not None:
            return diff
    return None


def count_lines(path: Path) -> int:
    """How many complete lines ``path`` holds (a log's events; read in large blocks)."""
    count = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 18):
            count += block.count(b"\n")
    return count
