"""Verified decoding of many log lines at once: the fast read path behind every reader.

Reading a log means checking every line's seal, checking that ``seq`` runs 1, 2, 3 …
and decoding the events. Doing that one line at a time in Python is the bottleneck, so a
block of complete lines is checked with C-level ``map`` calls (the CRC-32 of each line's
body, then one list comparison against the seals the lines carry) and decoded with one
msgspec call over the lines as a JSON array. Only when a block fails is it redone line
by line, to find the first bad line and its reason, or to decode an event type this
version does not know as :class:`~events.UnknownEvent`.
"""

from __future__ import annotations

import gc
import re
import zlib
from collections.abc import Callable
from itertools import repeat
from operator import attrgetter, itemgetter, xor
from typing import cast

import msgspec

from events import CorruptLine, Event, UnknownEvent, decode_line, line_body
from events.codec import deepest_lines, too_deep

__all__ = [
    "EVENT_START",
    "SEAL_SHAPE",
    "BadLine",
    "BlockListener",
    "LineScanner",
    "decode_block",
    "decode_one",
    "decode_sealed",
    "sealed_events",
]

AnyEvent = Event | UnknownEvent

#: How every line :func:`events.encode_line` writes begins (msgspec puts the tag first).
EVENT_START = b'{"type":"'
_SEAL = b',"crc":"%08x"}'
_SEAL_LEN = 18  # len(_SEAL % 0)
#: How a sealed line ends (any hex case: a changed letter case is still a seal, changed).
SEAL_SHAPE = re.compile(rb',"crc":"[0-9A-Fa-f]{8}"\}\Z')
_seal = _SEAL.__mod__
_tail = itemgetter(slice(-_SEAL_LEN, None))
# A line is body[:-1] + ',"crc":"xxxxxxxx"}' with xxxxxxxx = CRC-32(body), body ending in
# "}". The line's own byte there is ",", and one CRC-32 byte step is affine, so
# CRC-32(prefix + "}") == CRC-32(prefix + ",") ^ _CLOSE for every prefix: the body's CRC
# comes from one crc32 call over a single slice of the line.
_head_comma = itemgetter(slice(None, 1 - _SEAL_LEN))
_CLOSE = zlib.crc32(b"}") ^ zlib.crc32(b",")
_seq = attrgetter("seq")
_crc32 = zlib.crc32
_batch: msgspec.json.Decoder[list[Event]] = msgspec.json.Decoder(list[Event])


class BadLine(Exception):
    """Internal: the first bad complete line of a block, and the good events before it."""

    def __init__(self, line_no: int, reason: str, foreign: bool, good: list[AnyEvent]) -> None:
        super().__init__(f"line {line_no}: {reason}")
        self.line_no = line_no
        self.reason = reason
        #: The line does not even look like a sealed event (what another file would hold).
        self.foreign = foreign
        self.good = good


def decode_one(line: bytes) -> AnyEvent:
    """Verify and decode one line (no newline); stricter than the codec about the seal.

    The codec parses the hex digits with ``int``, which would also accept a changed letter
    case; the log accepts only the exact seal it writes, so every changed byte is caught.
    """
    body = line_body(line)
    if line[-_SEAL_LEN:] != _SEAL % _crc32(body):
        raise CorruptLine("integrity field is not the one agentlog writes (8 lowercase hex digits)")
    return decode_line(line)


_single: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)


def decode_sealed(line: bytes) -> AnyEvent:
    """:func:`decode_one` (the same event, the same errors), faster for a line this
    version wrote: its seal checked over a slice of the line and the line decoded as it
    is (the struct skips ``crc``); any other line takes :func:`decode_one`'s path."""
    if (
        line[-_SEAL_LEN:] == _SEAL % (_crc32(line[: 1 - _SEAL_LEN]) ^ _CLOSE)
        and line.startswith(EVENT_START)
        and not too_deep(line)
    ):
        try:
            return _single.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            pass  # e.g. an unknown event type: decode_one decodes it or names the reason
    return decode_one(line)


def decode_block(
    block: bytes, first_line_no: int, first_seq: int, lines: list[bytes] | None = None
) -> list[AnyEvent]:
    """Verify and decode ``\\n``-separated complete lines (no final newline).

    ``seq`` must run from ``first_seq``. Raises :class:`BadLine` at the first line that is
    damaged or out of sequence. ``lines`` is ``block`` split at its newlines, when at hand.
    The events returned are the lines', one each, in order.
    """
    if lines is None:
        lines = block.split(b"\n")
    n = len(lines)
    events = sealed_events(block, lines)
    if events is not None and list(map(_seq, events)) == list(range(first_seq, first_seq + n)):
        return events
    return _decode_lines(lines, first_line_no, first_seq)


def sealed_events(block: bytes, lines: list[bytes]) -> list[AnyEvent] | None:
    """The events of ``lines`` (``block`` split at its newlines) decoded with one msgspec
    call, when every line carries exactly the seal agentlog writes, none is nested too
    deep and each is an event this version knows; else None (decode them one by one).
    ``seq`` is not checked."""
    crcs = map(xor, map(_crc32, map(_head_comma, lines)), repeat(_CLOSE))
    if list(map(_tail, lines)) == list(map(_seal, crcs)) and not deepest_lines(block):
        # A raw newline cannot occur inside JSON, so the block is the array's elements;
        # struct decoding skips the unknown "crc" member.
        events = _decode_array(b"[%b]" % block.replace(b"\n", b","))
        if events is not None and len(events) == len(lines):
            return events
    return None


def _decode_array(array: bytes) -> list[AnyEvent] | None:
    """Decode verified lines with one msgspec call; None if any is not a known event.

    The cyclic GC is paused for that one C call: it would otherwise scan the freshly
    decoded events (plain data, never cyclic) again and again while the list grows.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return cast(list[AnyEvent], _batch.decode(array))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None  # e.g. an unknown event type: the line-by-line pass names the reason
    finally:
        if paused:
            gc.enable()


def _decode_lines(lines: list[bytes], first_line_no: int, first_seq: int) -> list[AnyEvent]:
    """The careful path: one line at a time, stopping at the first bad one."""
    good: list[AnyEvent] = []
    expect = first_seq
    for line_no, line in enumerate(lines, first_line_no):
        try:
            event = decode_one(line)
        except CorruptLine as exc:
            foreign = not (line.startswith(b"{") and SEAL_SHAPE.search(line))
            raise BadLine(line_no, str(exc), foreign, good) from None
        if event.seq != expect:
            raise BadLine(line_no, _seq_reason(expect, event.seq), False, good)
        good.append(event)
        expect += 1
    return good


def _seq_reason(expect: int, found: int) -> str:
    if expect == 1:
        return f"the first event has seq {found}; a log starts at seq 1"
    if found < expect:
        return f"seq {found} repeats or goes back (expected {expect})"
    return f"seq jumps from {expect - 1} to {found}: events {expect}..{found - 1} are missing"


#: Shown each block's verified lines (no newlines) and their events, one each, in order.
BlockListener = Callable[[list[bytes], list[AnyEvent]], None]


class LineScanner:
    """Turns raw bytes, fed in any pieces, into verified events of complete lines.

    It remembers the partial line at the end (``pending``), the number of the next line
    and the next expected ``seq``. ``on_block``, if given, is shown the lines of each block
    with their events once the block is verified (a reader that keeps some lines as read).
    """

    def __init__(self, on_block: BlockListener | None = None) -> None:
        self.next_line = 1
        self.next_seq = 1
        self._pending: list[bytes] = []
        self._on_block = on_block

    @property
    def pending(self) -> bytes:
        """The bytes after the last newline seen so far (a line still being written)."""
        return b"".join(self._pending)

    def feed(self, data: bytes) -> list[AnyEvent]:
        """Events of the lines ``data`` completes; raises :class:`BadLine` at a bad one."""
        cut = data.rfind(b"\n")
        if cut == -1:
            if data:
                self._pending.append(data)
            return []
        if self._pending:
            self._pending.append(data[:cut])
            block = b"".join(self._pending)
            self._pending = []
        else:
            block = data[:cut]
        lines = block.split(b"\n")
        events = decode_block(block, self.next_line, self.next_seq, lines)
        if self._on_block is not None:
            self._on_block(lines, events)
        self.next_line += len(events)
        self.next_seq += len(events)
        if cut + 1 < len(data):
            self._pending.append(data[cut + 1 :])
        return events
