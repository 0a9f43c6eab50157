"""Known token formats, and the one scan that finds them in text or bytes.

A token is recognised by its shape alone (:data:`TOKEN_FORMATS`). The scan gives exactly
the matches that searching the whole text with each lead's expression (``finditer``)
gives, but tries the expressions only where a token may start:

- **Bytes and ASCII text** are searched once for the literal text every token starts with
  (:func:`_literals`: ``sk-``, ``AKIA``, ``ghp_``...), by an Aho-Corasick automaton in C
  (``ahocorasick_rs``, a few GB/s; a ``re`` pass runs at about a byte a cycle).
  Other text is searched as UTF-8 and the places found counted in characters.
- **Without** ``ahocorasick_rs`` (a platform with no build of it), seven pivot passes
  (:data:`_PIVOTS`), one per byte that every lead has at a fixed place, find them.

:mod:`store.credentials` builds on this: it adds the environment's secrets and credential
files, and re-exports these names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

__all__ = ["TOKEN_FORMATS", "TokenFormat", "find_token", "mask_tokens", "may_hold_token"]

Data = TypeVar("Data", str, bytes)
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, slots=True)
class TokenFormat:
    """A kind of key recognisable by its shape: the literal ``lead`` it starts with, then
    the expression ``rest``.

    Formats with the same lead are searched by one expression (:func:`_scanners`), which
    the regular expression engine runs as fast as a substring search for the lead. A
    ``rest`` holding a group named ``secret`` masks only that part (the name before it
    stays); ``bounded`` formats match only at the start of a word (or right after a JSON
    escape such as ``\\n``, since the scrubber also reads events as JSON text).
    """

    label: str
    lead: str
    rest: str
    bounded: bool = False


_GITHUB = "GitHub token"
_AWS_SECRET = "AWS secret access key"
_AWS_SESSION = "AWS session token"
_STRIPE = "Stripe key"
# A 40-character AWS secret key after its name, ``=`` or ``:``, quotes or escapes. (Each
# lead has at most one format with a ``secret`` group: names are unique per expression.)
_AWS_SECRET_VALUE = r"[\"'\\\s]*[=:][\"'\\\s]*(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"

#: The known token formats, high-precision shapes only (ordinary prose never matches).
TOKEN_FORMATS: tuple[TokenFormat, ...] = (
    TokenFormat("Anthropic API key", "sk", r"-ant-[A-Za-z0-9_\-]{4,}"),
    TokenFormat(
        "OpenAI API key",
        "sk",
        r"-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{32,})",
        bounded=True,
    ),
    TokenFormat(_STRIPE, "sk", r"_(?:live|test)_[0-9A-Za-z]{16,}"),
    TokenFormat(_STRIPE, "rk_", r"(?:live|test)_[0-9A-Za-z]{16,}"),
    TokenFormat("AWS access key id", "A", r"KIA[A-Z0-9]{16}"),
    TokenFormat("AWS access key id", "A", r"SIA[A-Z0-9]{16}"),
    TokenFormat("Google API key", "A", r"Iza[0-9A-Za-z_\-]{35}"),
    TokenFormat(_AWS_SECRET, "ecret", r"[_\-]?[Aa]ccess[_\-]?[Kk]ey" + _AWS_SECRET_VALUE),
    TokenFormat(_AWS_SECRET, "ECRET", r"[_\-]?ACCESS[_\-]?KEY" + _AWS_SECRET_VALUE),
    TokenFormat(_AWS_SESSION, "FwoGZXIvYXdz", r"[A-Za-z0-9/+=]{40,}"),
    TokenFormat(_AWS_SESSION, "IQoJb3JpZ2lu", r"[A-Za-z0-9/+=]{40,}"),
    TokenFormat(_GITHUB, "g", r"h[pousr]_[A-Za-z0-9]{36,}"),
    TokenFormat(_GITHUB, "g", r"ithub_pat_[A-Za-z0-9_]{22,}"),
    TokenFormat("GitLab token", "g", r"lpat-[A-Za-z0-9_\-]{20,}"),
    TokenFormat("Slack token", "xox", r"[abposr]-[A-Za-z0-9\-]{10,}"),
    TokenFormat("Slack webhook", "h", r"ooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"),
    TokenFormat("Hugging Face token", "h", r"f_[A-Za-z0-9]{34,}", bounded=True),
    TokenFormat("npm token", "npm_", r"[A-Za-z0-9]{36,}", bounded=True),
    TokenFormat("PyPI token", "pypi-AgE", r"[A-Za-z0-9_\-]{50,}"),
    # The body stops at a quote so that, in JSON text, a match never leaves its string;
    # a block with no END line (cut short) is masked to the end of its string.
    TokenFormat(
        "private key",
        "-----BEGIN",
        r"[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----[^\"]*?"
        r"(?:-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|(?=\")|\Z)",
    ),
)


#: Where a match of each lead's expression can start, found by a byte near it: (lead,
#: ``before``, ``pivot``, ``after``). Every match of the lead's expression at ``s`` has the
#: literal ``before`` at ``s``, the byte ``pivot`` right after it, then text matching
#: ``after``. Seven pivots (most of them rare bytes) find every place where a token may
#: start; each lead's expression is tried only there.
_PIVOTS: tuple[tuple[str, str, str, str], ...] = (
    ("sk", "s", "k", "[-_]"), ("rk_", "r", "k", "_"),
    ("A", "AK", "I", "A"), ("A", "AS", "I", "A"), ("A", "A", "I", "za"),
    ("FwoGZXIvYXdz", "FwoGZX", "I", "vYXdz"), ("IQoJb3JpZ2lu", "", "I", "QoJb3JpZ2lu"),
    ("ECRET", "", "E", "CRET"), ("pypi-AgE", "pypi-Ag", "E", ""),
    ("-----BEGIN", "-----B", "E", "GIN"), ("ecret", "e", "c", "ret"),
    ("g", "g", "h", "[pousr]_"), ("g", "git", "h", "ub_pat_"), ("h", "", "h", "f_"),
    ("h", "", "h", r"ooks\.slack\.com/services/"), ("g", "gl", "p", "at-"),
    ("npm_", "n", "p", "m_"), ("xox", "", "x", "ox[abposr]-"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Scanner:
    """One expression for the formats sharing a lead; ``names`` maps its groups to them."""

    pattern: str
    names: tuple[tuple[str, TokenFormat], ...]

    def format_of(self, match: re.Match[str] | re.Match[bytes]) -> TokenFormat:
        return next(fmt for name, fmt in self.names if match.start(name) >= 0)


#: One pivot pass: the byte, an expression matching it where a lead may start around it,
#: and (index of the scanner, how many bytes before the pivot its lead starts).
Pass = tuple[Any, "re.Pattern[Any]", tuple[tuple[int, int], ...]]


@lru_cache(maxsize=1)
def _scanners() -> tuple[
    tuple[_Scanner, ...], tuple[tuple[str, str, tuple[tuple[int, int], ...]], ...]
]:
    """The scanners, and the pivot passes (byte, expression, starts) not yet compiled."""
    by_lead: dict[str, list[tuple[str, TokenFormat]]] = {}
    for i, fmt in enumerate(TOKEN_FORMATS):
        by_lead.setdefault(fmt.lead, []).append((f"t{i}", fmt))
    scanners = []
    for lead, members in by_lead.items():
        alternatives = "|".join(f"(?P<{name}>{fmt.rest})" for name, fmt in members)
        scanners.append(_Scanner(f"{re.escape(lead)}(?:{alternatives})", tuple(members)))
    index = {lead: i for i, lead in enumerate(by_lead)}
    by_pivot: dict[str, list[tuple[str, str, str]]] = {}
    for lead, before, pivot, after in _PIVOTS:
        by_pivot.setdefault(pivot, []).append((lead, before, after))
    pivots = []
    for pivot, entries in by_pivot.items():
        around = "|".join(f"(?<={re.escape(b + pivot)})(?={a})" for _, b, a in entries)
        starts = tuple(dict.fromkeys((index[lead], len(b)) for lead, b, _ in entries))
        pivots.append((pivot, f"{re.escape(pivot)}(?:{around})", starts))
    return tuple(scanners), tuple(pivots)


@lru_cache(maxsize=2)
def _compiled(raw: bool) -> tuple[list[Pass], list[re.Pattern[Any]]]:
    """The pivot passes and the scanners' expressions compiled for bytes (``raw``) or for
    text, each on first use (a command that never scans, such as ``agentlog log``, does
    not pay for compiling them; the workspace recording compiles only the bytes ones)."""
    scanners, pivots = _scanners()
    form: Callable[[str], Any] = str.encode if raw else str
    passes = [(form(b), re.compile(form(p)), starts) for b, p, starts in pivots]
    return passes, [re.compile(form(s.pattern)) for s in scanners]


def _expand(after: str) -> list[str]:
    """Every literal text a pivot's ``after`` stands for: ``after`` is literal characters,
    ``\\``-escaped characters and ``[...]`` sets of characters only (anything else would
    not be a fixed text, and is refused)."""
    texts, i = [""], 0
    while i < len(after):
        char = after[i]
        if char == "[":
            close = after.index("]", i + 2)
            options, i = after[i + 1 : close], close + 1
        elif char == "\\":
            options, i = after[i + 1], i + 2
        elif char in ".^$*+?{}()|]":
            raise ValueError(f"not a literal text: {after!r}")
        else:
            options, i = char, i + 1
        texts = [text + option for text in texts for option in options]
    return texts


@lru_cache(maxsize=1)
def _literals() -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """The literal text each token starts with (its ``before``, pivot and ``after`` in
    :data:`_PIVOTS`, which begin where the lead does), and the scanner each belongs to.
    No literal is the start of another, so two never begin at the same place."""
    index = {lead: i for i, lead in enumerate(dict.fromkeys(f.lead for f in TOKEN_FORMATS))}
    owners: dict[bytes, int] = {}
    for lead, before, pivot, after in _PIVOTS:
        for text in _expand(after):
            owners[(before + pivot + text).encode()] = index[lead]
    for a in owners:
        for b in owners:
            if a != b and b.startswith(a):
                raise ValueError(f"{a!r} starts {b!r}: a search would report only one")
    return tuple(owners), tuple(owners.values())


@lru_cache(maxsize=1)
def _automaton() -> Any:
    """An Aho-Corasick automaton over :func:`_literals`, leftmost-first (the fastest kind:
    its prefilter jumps between candidates), or None where ``ahocorasick_rs`` has no build
    (then every text takes the pivot passes)."""
    try:
        import ahocorasick_rs
    except ImportError:  # pragma: no cover - a wheel exists for every platform we test
        return None
    literals, _ = _literals()
    return ahocorasick_rs.BytesAhoCorasick(
        literals, matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
    )


def _found(data: Data) -> list[list[re.Match[Data]]]:
    """Each scanner's matches in ``data``, as its ``finditer`` gives them (leftmost first,
    none overlapping): its expression is tried, in order, only where the literal search
    (bytes, ASCII text) or a pivot pass (other text) found that its lead may start, which
    yields the same matches as searching every byte."""
    raw = isinstance(data, bytes)
    passes, expressions = _compiled(raw)
    automaton = _automaton()
    if automaton is None:
        starts = _pivot_starts(data, passes, len(expressions))
    elif isinstance(data, bytes):
        starts = _literal_starts(data, automaton, len(expressions))
    elif data.isascii():
        starts = _literal_starts(data.encode("ascii"), automaton, len(expressions))
    else:
        encoded = data.encode("utf-8", "surrogatepass")
        starts = _in_characters(encoded, _literal_starts(encoded, automaton, len(expressions)))
    if not any(starts):
        return [[] for _ in expressions]
    return _matches(data, expressions, starts)


#: Continuation bytes of UTF-8 (``10xxxxxx``) to 1, every other byte to 0.
_CONTINUATION = bytes(1 if 0x80 <= b < 0xC0 else 0 for b in range(256))


def _in_characters(encoded: bytes, starts: list[list[int]]) -> list[list[int]]:
    """Byte offsets of ASCII literals in UTF-8 ``encoded`` text as offsets in the text's
    characters: a literal's bytes are ASCII, which UTF-8 never uses inside another
    character, so each offset is a character's, less the continuation bytes before it."""
    if not any(starts):
        return starts
    marks = encoded.translate(_CONTINUATION)
    chars, before, last = {}, 0, 0
    for at in sorted({at for places in starts for at in places}):  # one count per stretch
        before, last = before + marks.count(1, last, at), at
        chars[at] = at - before
    return [[chars[at] for at in places] for places in starts]


def _literal_starts(data: bytes, automaton: Any, scanners: int) -> list[list[int]]:
    """Where each scanner's literal texts begin in ``data``, every place. The automaton
    reports matches that do not overlap; one that begins inside a reported match
    ``[s, e)`` ends before ``e - 1`` plus the longest literal, so that window is searched
    again (once per new match: the work stays linear in the matches)."""
    starts: list[list[int]] = [[] for _ in range(scanners)]
    found = automaton.find_matches_as_indexes(data)
    if not found:
        return starts  # the common case: no literal at all
    literals, owners = _literals()
    longest = max(map(len, literals))
    seen: set[int] = set()
    view, windows = memoryview(data), [(0, len(data))]
    while windows:
        low, high = windows.pop()
        hits = found if low == 0 else automaton.find_matches_as_indexes(view[low:high])
        found = []  # the whole text's matches serve once, for the first window
        for pattern, s, e in hits:
            if low + s not in seen:
                seen.add(low + s)
                starts[owners[pattern]].append(low + s)
                if e - s > 1:
                    windows.append((low + s + 1, min(len(data), low + e - 1 + longest)))
    return starts


#: A pivot byte is jumped to (``find``) while it is rarer than one in ``2**_RARE`` bytes so
#: far, past which the pivot expression's own pass (about a byte a cycle) is cheaper.
_RARE = 10


def _pivot_starts(data: Data, passes: list[Pass], scanners: int) -> list[list[int]]:
    """Where each scanner's lead may begin in ``data``, found by the pivot passes."""
    starts: list[list[int]] = [[] for _ in range(scanners)]
    for byte, pivot, backs in passes:
        hits, seen, at = [], 0, data.find(byte)
        while at >= 0:  # a rare byte: jump from one to the next at memchr speed
            if seen > 3 and seen << _RARE > at:  # a common one: the expression's own pass
                hits += [hit.start() for hit in pivot.finditer(data, at)]
                break
            if pivot.match(data, at):
                hits.append(at)
            seen, at = seen + 1, data.find(byte, at + 1)
        for at in hits:
            for i, back in backs:
                if at >= back:
                    starts[i].append(at - back)
    return starts


def _matches(
    data: Data, expressions: list[re.Pattern[Any]], starts: list[list[int]]
) -> list[list[re.Match[Any]]]:
    """Each expression tried at its candidate starts in order, skipping what a match
    covered: the matches its ``finditer`` over the whole of ``data`` gives."""
    found: list[list[re.Match[Any]]] = []
    for expression, candidates in zip(expressions, starts, strict=True):
        matches: list[re.Match[Any]] = []
        end = 0
        for start in sorted(set(candidates)):
            if start >= end:
                match = expression.match(data, start)
                if match is not None:
                    matches.append(match)
                    end = match.end()
        found.append(matches)
    return found


def _at_word_start(data: bytes | str, start: int) -> bool:
    """Whether position ``start`` of ``data`` begins a word (a JSON escape counts as a
    break: ``\\n`` before a token is a new line in a JSON string)."""
    if start == 0:
        return True
    before = data[start - 1]
    if (before if isinstance(before, int) else ord(before)) not in _WORD:
        return True  # (a character that is not ASCII, even a lone surrogate, is no word's)
    escape = data[start - 2 : start]
    return escape in ("\\n", "\\t", "\\r", b"\\n", b"\\t", b"\\r")


def find_token(data: bytes) -> str | None:
    """The label of a known token format found in ``data``, or None."""
    scanners, _ = _scanners()
    for scanner, matches in zip(scanners, _found(data), strict=True):
        for match in matches:
            fmt = scanner.format_of(match)
            if not fmt.bounded or _at_word_start(data, match.start()):
                return fmt.label
    return None


def may_hold_token(data: bytes) -> bool:
    """Whether ``data`` may hold a known token (a word-start check is left out: a false
    alarm is allowed, a miss is not)."""
    automaton = _automaton()
    if automaton is not None and not automaton.find_matches_as_indexes(data):
        return False  # no literal a token starts with: the common case, in one call
    return any(_found(data))


def mask_tokens(text: str, mask: str) -> str:
    """``text`` with every known token replaced by ``mask``: each scanner in turn masks
    its matches in the text the ones before it left (found again only after a change)."""
    scanners, _ = _scanners()
    found = _found(text)
    for i, scanner in enumerate(scanners):
        pieces, end = [], 0
        for m in found[i]:
            fmt = scanner.format_of(m)
            if fmt.bounded and not _at_word_start(text, m.start()):
                continue
            part = "secret" if "secret" in m.re.groupindex and m.start("secret") >= 0 else 0
            pieces += [text[end : m.start(part)], mask]
            end = m.end(part)
        if pieces:
            text = "".join([*pieces, text[end:]])
            found = _found(text)
    return text
