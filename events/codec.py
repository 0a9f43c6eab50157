"""The JSONL line codec: one event per ``\\n``-terminated line, sealed with a CRC-32.

A line is the event's msgspec JSON with one more member appended, ``"crc"``: the CRC-32 of
the line's bytes without that member, as 8 hex digits. CRC-32 catches every changed byte
and every burst of up to 32 bits, so ``verify`` can name the first line that changed.

A seal proves the bytes are the ones written, not that they are an event: a line whose
string holds invalid UTF-8, or whose JSON nests deeper than :data:`MAX_DEPTH`, is a
corrupt line too, and the writer refuses to produce either.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import msgspec

from events.errors import AgentlogError, CorruptLine
from events.types import EVENT_TYPES, Event, UnknownEvent

__all__ = [
    "CRC_FIELD",
    "MAX_DEPTH",
    "UnloggableEvent",
    "decode_line",
    "deepest_lines",
    "encode_line",
    "encoding_problem",
    "line_body",
    "to_dict",
    "too_deep",
]

#: The deepest JSON nesting a line may hold (the event object itself is level 1). Far
#: below the interpreter's recursion limit, so a line that decodes in one reader decodes
#: in every reader, whatever its stack depth, and can be re-encoded and printed.
MAX_DEPTH = 200

CRC_FIELD = "crc"
_SUFFIX_HEAD = b',"crc":"'
_SUFFIX_LEN = len(_SUFFIX_HEAD) + 8 + 2  # ,"crc":"xxxxxxxx"}

#: The longest JSON body that cannot nest deeper than :data:`MAX_DEPTH`: deeper takes
#: ``MAX_DEPTH + 1`` opening brackets, each closed (the event object itself is one).
_SHORT = 2 * MAX_DEPTH + 1

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_envelope = msgspec.json.Decoder(dict[str, Any])


class UnloggableEvent(AgentlogError, ValueError):
    """An event cannot be written as a line: a string holds a lone surrogate (no UTF-8
    encodes it) or its data nests deeper than :data:`MAX_DEPTH`."""


def encode_line(event: Event) -> bytes:
    """Encode one event as a sealed, newline-terminated line.

    Raises :class:`UnloggableEvent` for an event no reader could take back.
    """
    try:
        body = _encoder.encode(event)
    except UnicodeEncodeError:
        body = b""  # _encode below names the string
    else:
        # Shallow for sure, without a call: a body too short to hold MAX_DEPTH + 1 bracket
        # pairs (msgspec closes every bracket it opens), or too_deep's first test.
        if len(body) <= _SHORT or body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
            return b'%s,"crc":"%08x"}\n' % (body[:-1], zlib.crc32(body))
    body, problem = _encode(event)
    if problem is not None:
        raise UnloggableEvent(f"cannot log {type(event).__name__}: {problem}")
    return b'%s,"crc":"%08x"}\n' % (body[:-1], zlib.crc32(body))


def encoding_problem(obj: Any) -> str | None:
    """Why ``obj`` (an event, an artifact) could not be written in a log line, or None."""
    return _encode(obj)[1]


def _encode(obj: Any) -> tuple[bytes, str | None]:
    try:
        body = _encoder.encode(obj)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode()
        return b"", f"a string holds {bad}, a lone surrogate that no UTF-8 text can carry"
    if len(body) > _SHORT and too_deep(body):
        return body, f"its data nests deeper than {MAX_DEPTH} levels"
    return body, None


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")
_NOT_OPENING = bytes(b for b in range(256) if b not in b"[{\n")


def too_deep(body: bytes) -> bool:
    """Whether JSON ``body`` nests deeper than :data:`MAX_DEPTH` (strings ignored).

    Counting brackets (C speed) settles almost every line; only a line with more opening
    brackets than the limit has its structure walked.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_BRACKET):
        if byte in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def deepest_lines(block: bytes) -> bool:
    """Whether a line of ``block`` (lines joined by ``\\n``) nests deeper than
    :data:`MAX_DEPTH` (see :func:`too_deep`).

    One C pass keeps only the opening brackets and newlines of the block; only a line
    with more opening brackets than the limit is walked.
    """
    skeleton = block.translate(None, _NOT_OPENING)
    if len(skeleton) - skeleton.count(b"\n") <= MAX_DEPTH:
        return False
    per_line = skeleton.split(b"\n")
    if max(map(len, per_line)) <= MAX_DEPTH:
        return False
    lines = block.split(b"\n")
    return any(
        too_deep(line) for sk, line in zip(per_line, lines, strict=True) if len(sk) > MAX_DEPTH
    )


def line_body(line: bytes) -> bytes:
    """Check a line's seal and return the JSON it sealed (without ``crc``).

    Raises :class:`CorruptLine` naming what is wrong; a trailing ``\\n`` is allowed.
    """
    if line.endswith(b"\n"):
        line = line[:-1]
    if len(line) < _SUFFIX_LEN + 2 or not line.endswith(b'"}'):
        raise CorruptLine("not an agentlog event line (no integrity field at the end)")
    cut = len(line) - _SUFFIX_LEN
    if line[cut : cut + len(_SUFFIX_HEAD)] != _SUFFIX_HEAD:
        raise CorruptLine("not an agentlog event line (no integrity field at the end)")
    body = line[:cut] + b"}"
    if line[cut:] != b'%s%08x"}' % (_SUFFIX_HEAD, zlib.crc32(body)):
        raise CorruptLine("checksum mismatch: the line was changed after it was written")
    return body


def decode_line(line: bytes) -> Event | UnknownEvent:
    """Decode and verify one line.

    An intact line whose ``type`` this version does not know decodes to
    :class:`~events.types.UnknownEvent`; anything else wrong raises :class:`CorruptLine`.
    """
    body = line_body(line)
    if too_deep(body):
        raise CorruptLine(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return _decoder.decode(body)
    except _UNDECODABLE as exc:
        reason = _undecodable(exc)
        if reason is not None:
            raise CorruptLine(reason) from None
        try:
            raw = _envelope.decode(body)
        except _UNDECODABLE as inner:
            raise CorruptLine(_undecodable(inner) or f"invalid JSON: {exc}") from None
        kind = raw.get("type")
        if isinstance(kind, str) and kind not in EVENT_TYPES:
            return _unknown(kind, raw)
        raise CorruptLine(f"invalid event: {exc}") from None


#: What decoding a sealed line can raise: bad JSON or a bad event, invalid UTF-8 inside a
#: string (msgspec checks it only when it builds the ``str``), or nesting deeper than the
#: interpreter's recursion limit. A CRC only proves the bytes are the ones written.
_UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _undecodable(exc: Exception) -> str | None:
    """The reason for a line no reader can take, or None for plain bad JSON / bad event."""
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 inside a string (byte {exc.object[exc.start : exc.end]!r})"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply to decode"
    return None


def _unknown(kind: str, raw: dict[str, Any]) -> UnknownEvent:
    envelope: dict[str, Any] = {
        k: raw.pop(k) for k in ("seq", "id", "ts", "workflow_id", "actor") if k in raw
    }
    raw.pop("type", None)
    try:
        fields: dict[str, Any] = {"type": kind, **envelope, "data": raw}
        return msgspec.convert(fields, UnknownEvent)
    except RecursionError:
        raise CorruptLine("JSON nested too deeply to decode") from None
    except msgspec.ValidationError as exc:
        raise CorruptLine(f"invalid event envelope: {exc}") from None


def to_dict(event: Event | UnknownEvent) -> dict[str, Any]:
    """The event as plain JSON-ready data, ``type`` included (for ``--json`` and display)."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    if isinstance(event, UnknownEvent):
        payload: dict[str, Any] = data.pop("data", {})
        data.update(payload)
    return data
