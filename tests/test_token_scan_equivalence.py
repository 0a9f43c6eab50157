"""The fast token scan finds exactly what searching with each expression in turn finds.

The reference below is the scan as it was before the pivot passes: one compiled expression
per lead, each run over the whole text (``finditer`` / ``sub``). The fast scan (the literal
search for bytes and ASCII text, the pivot passes for other text) must give
the same matches, the same label for a file, the same "may hold a token" answer and the
same masked text, wherever a token sits: at the start or end of the text, next to another,
inside a word, after a JSON escape, cut short, among bytes that are not UTF-8.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from _repo import make_repo, needs_git
from hypothesis import given, settings
from hypothesis import strategies as st

from store import record_base
from store.credentials import (
    MASK,
    TOKEN_FORMATS,
    TokenFormat,
    find_token,
    mask_tokens,
    may_hold_token,
    secret_in_file,
)
from store.tokens import _at_word_start as at_word_start
from store.tokens import _automaton as automaton
from store.tokens import _compiled, _expand, _literal_starts, _literals, _matches, _pivot_starts
from store.tokens import _found as found

# --- the reference: one expression per lead, each searching the whole text -----------


Names = tuple[tuple[str, TokenFormat], ...]


@cache
def reference_scanners(raw: bool) -> tuple[tuple[re.Pattern[Any], Names], ...]:
    by_lead: dict[str, list[tuple[str, TokenFormat]]] = {}
    for i, fmt in enumerate(TOKEN_FORMATS):
        by_lead.setdefault(fmt.lead, []).append((f"t{i}", fmt))
    out = []
    for lead, members in by_lead.items():
        alternatives = "|".join(f"(?P<{name}>{fmt.rest})" for name, fmt in members)
        pattern = f"{re.escape(lead)}(?:{alternatives})"
        out.append((re.compile(pattern.encode() if raw else pattern), tuple(members)))
    return tuple(out)


def format_of(names: Names, m: re.Match[Any]) -> TokenFormat:
    return next(fmt for name, fmt in names if m.start(name) >= 0)


def reference_spans(data: str | bytes) -> list[list[tuple[int, int]]]:
    scanners = reference_scanners(isinstance(data, bytes))
    return [[m.span() for m in p.finditer(data)] for p, _ in scanners]


def reference_find_token(data: bytes) -> str | None:
    for pattern, names in reference_scanners(True):
        for m in pattern.finditer(data):
            fmt = format_of(names, m)
            if not fmt.bounded or at_word_start(data, m.start()):
                return fmt.label
    return None


def reference_mask_tokens(text: str, mask: str) -> str:
    for pattern, names in reference_scanners(False):

        def masked(m: re.Match[str], names: Names = names) -> str:
            fmt = format_of(names, m)
            if fmt.bounded and not at_word_start(m.string, m.start()):
                return m.group(0)
            part = "secret" if "secret" in m.re.groupindex and m.start("secret") >= 0 else 0
            start, end = m.start(part) - m.start(), m.end(part) - m.start()
            return m.group(0)[:start] + mask + m.group(0)[end:]

        text = pattern.sub(masked, text)
    return text


# --- tokens of every format (the lead comes from TOKEN_FORMATS: no token in this file) --

B62 = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8"
B64 = "aB3/dE5+gH7jK9mN1pQ2sT4vW6yZ8xC0rF"
#: For each format (by its index in TOKEN_FORMATS), what may follow its lead.
RESTS: dict[int, tuple[str, ...]] = {
    0: ("-ant-api03-" + B62, "-ant-Ab_-"),
    1: ("-proj-" + B62, "-svcacct-" + B62[:20], "-" + B62 + "01234"),
    2: ("_live_" + B62[:16], "_test_" + B62),
    3: ("live_" + B62[:16], "test_" + B62),
    4: ("KIA" + "ABCDEFGH12345678", "KIA" + "Z" * 16),
    5: ("SIA" + "0123456789ABCDEF",),
    6: ("Iza" + (B62 + "_-" + B62)[:35],),
    7: ("_access_key = '" + (B64 * 2)[:40] + "'", "AccessKey:" + (B64 * 2)[:40]),
    8: ("_ACCESS_KEY=" + (B64 * 2)[:40], '-ACCESSKEY\\": \\"' + (B64 * 2)[:40]),
    9: ((B64 * 2)[:40], (B64 * 2)[:41] + "=="),
    10: ((B64 * 2)[:44],),
    11: ("hp_" + (B62 * 2)[:36], "hs_" + (B62 * 2)[:40]),
    12: ("ithub_pat_" + "11ABCDEFG0123456789_" + B62,),
    13: ("lpat-" + B62[:20],),
    14: ("b-" + "1234567890-abc", "p-" + B62[:10]),
    15: ("ooks.slack.com/services/" + "T000/B000/" + B62[:12],),
    16: ("f_" + (B62 * 2)[:34],),
    17: ((B62 * 2)[:36],),
    18: ((B62 * 3)[:50] + "_-",),
    19: (
        " RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        " OPENSSH PRIVATE KEY-----\nb3Blbn",
        ' EC PRIVATE KEY-----\\nMHcC\\n"',
    ),
}
TOKENS = [TOKEN_FORMATS[i].lead + rest for i, rests in RESTS.items() for rest in rests]

#: Filler rich in the bytes the leads and pivots are made of, so near misses are common.
FILLER = "skr-_AKISEaecrtgh pxoFwZXvYdzQJb3lu.\\n\"'=:/+0159 BGNPVTYkey\n\t"


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Filler with whole tokens, tokens cut short and bare leads at random places."""
    parts = draw(st.lists(st.text(alphabet=FILLER, max_size=40), min_size=1, max_size=6))
    out = []
    for part in parts:
        out.append(part)
        token = draw(st.sampled_from(TOKENS))
        cut = draw(st.sampled_from([len(token), len(token), len(token) - 1, len(token) // 2]))
        out.append(token[:cut])
    return "".join(draw(st.permutations(out)))


@st.composite
def sparse_texts(draw: st.DrawFn) -> str:
    """Long stretches with no pivot byte between the parts of :func:`texts`: a rare byte is
    jumped to, a common one scanned by the pass, and the scan may switch midway."""
    parts = [draw(texts()) for _ in range(draw(st.integers(1, 4)))]
    gaps = [" da = 1; fold(a)\n" * draw(st.integers(0, 400)) for _ in parts]
    return "".join(part + gap for part, gap in zip(parts, gaps, strict=True))


def spans(data: str | bytes) -> list[list[tuple[int, int]]]:
    return [[m.span() for m in ms] for ms in found(data)]


def test_every_format_has_a_token_here_and_each_is_found() -> None:
    assert set(RESTS) == set(range(len(TOKEN_FORMATS)))
    for token in TOKENS:
        assert reference_find_token(token.encode()) is not None, token
        assert find_token(token.encode()) == reference_find_token(token.encode())


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts(), sparse_texts()))
def test_the_matches_are_those_of_each_expression_searching_the_whole_text(text: str) -> None:
    assert spans(text) == reference_spans(text)
    raw = text.encode()
    assert spans(raw) == reference_spans(raw)


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts(), sparse_texts()))
def test_a_file_is_found_to_hold_the_same_token(text: str) -> None:
    raw = text.encode()
    assert find_token(raw) == reference_find_token(raw)
    assert may_hold_token(raw) == any(reference_spans(raw))


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts(), sparse_texts()))
def test_the_masked_text_is_the_same(text: str) -> None:
    assert mask_tokens(text, MASK) == reference_mask_tokens(text, MASK)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=30), texts().map(str.encode)), max_size=5))
def test_bytes_that_are_not_utf8_change_nothing(parts: list[bytes]) -> None:
    raw = b"".join(parts)
    assert spans(raw) == reference_spans(raw)
    assert find_token(raw) == reference_find_token(raw)


@pytest.mark.parametrize("token", TOKENS)
def test_a_token_at_the_start_or_the_end_of_a_big_file_is_found(token: str) -> None:
    dense = ("def f(x):\n    return x  # sk-ish task-list AIx ECR ghz xo\n" * 20_000).encode()
    sparse = (" da = 1; fold(a)\n" * 65_000).encode()  # no pivot byte at all
    assert min(len(dense), len(sparse)) > 1 << 20  # more than one read block of the recording
    expected = reference_find_token(token.encode())  # the whole-text search, on the token
    for body in (dense, sparse, sparse[: 1 << 19] + dense[:4096] + sparse):
        for data in (token.encode() + b"\n" + body, body + token.encode()):
            assert find_token(data) == expected
            assert secret_in_file("big.py", data, ()) is not None


@needs_git
def test_a_token_across_a_read_block_boundary_leaves_a_big_file_out(tmp_path: Path) -> None:
    token = TOKEN_FORMATS[11].lead + RESTS[11][0]
    head = "x = 1\n" * ((1 << 20) // 6)
    padding = "#" * ((1 << 20) - len(head) - len(token) // 2)  # the token spans 1 MiB
    text = head + padding + token + "\n" + "y = 2\n" * 1000
    repo = make_repo(tmp_path / "repo", {"big.py": text, "a.py": ""})
    base = record_base(repo, tmp_path / "run", max_file_bytes=8 << 20)
    reasons = {lo.path: lo.reason for lo in base.left_out}
    assert reasons == {"big.py": "holds a secret (GitHub token)"}


# --- the environment's secrets: each form searched whole, not probed first -------------


def reference_secret_in_file(
    path: str, data: bytes, secrets: tuple[tuple[str, str], ...]
) -> str | None:
    """The check before the fast path: probe each form's first bytes, then search forms."""
    from store.credentials import _TOKEN_SETTINGS, MIN_SECRET, secret_forms

    settings = _TOKEN_SETTINGS.get(path.rsplit("/", 1)[-1])
    if settings is not None and any(s.encode() in data for s in settings):
        return "a package registry token"
    label = reference_find_token(data)
    if label is not None:
        return label
    for name, value in secrets:
        forms = [
            (f.text.encode("utf-8", "surrogateescape"), f.encoding) for f in secret_forms(value)
        ]
        if not any(text[:MIN_SECRET] in data for text, _ in forms):
            continue
        for text, encoding in forms:
            if text in data:
                return f"the value of ${name}, {encoding}"
    return None


SECRET_CHARS = 'aZ9+/=_-!"\\ é€%'


@st.composite
def with_secret(draw: st.DrawFn) -> tuple[str, bytes]:
    """A secret value, and bytes holding some of its forms (whole or cut) and tokens."""
    from store.credentials import secret_forms

    value = draw(st.text(alphabet=SECRET_CHARS, min_size=8, max_size=24))
    forms = [f.text.encode("utf-8", "surrogateescape") for f in secret_forms(value)]
    parts = [draw(texts()).encode()]
    for _ in range(draw(st.integers(0, 3))):
        form = draw(st.sampled_from(forms))
        cut = draw(st.sampled_from([len(form), len(form), len(form) - 1, 8]))
        parts += [form[:cut], draw(st.binary(max_size=8))]
    return value, b"".join(draw(st.permutations(parts)))


@settings(max_examples=150, deadline=None)
@given(with_secret(), st.sampled_from(["a.py", ".npmrc", "x/.pypirc"]))
def test_a_file_is_found_to_hold_the_same_environment_secret(
    case: tuple[str, bytes], path: str
) -> None:
    value, data = case
    secrets = (("SERVICE_TOKEN", value),)
    assert secret_in_file(path, data, secrets) == reference_secret_in_file(path, data, secrets)


@settings(max_examples=200, deadline=None)
@given(with_secret())
def test_the_fast_path_never_misses_an_environment_secret(case: tuple[str, bytes]) -> None:
    from actors.secrets import holds_secret, redact

    value, data = case
    text = data.decode("utf-8", "surrogateescape")
    saved = os.environ.get("SERVICE_TOKEN")
    os.environ["SERVICE_TOKEN"] = value
    try:
        if redact(text) != text:
            assert holds_secret(data)
    finally:
        if saved is None:
            del os.environ["SERVICE_TOKEN"]
        else:
            os.environ["SERVICE_TOKEN"] = saved


# --- the two searches for where a token may start ---------------------------------------


def overlapping() -> list[bytes]:
    """Two literals written over each other: the end of one is the start of the next."""
    literals, _ = _literals()
    return [
        a + b[k:]
        for a in literals
        for b in literals
        for k in range(1, min(len(a), len(b)))
        if a[-k:] == b[:k]
    ]


def literal_soup() -> st.SearchStrategy[bytes]:
    """Literals and tokens packed against each other, so that one begins inside another
    (``AKIAIza``, ``xoxa-----BEGIN``, ``pypi-AgECRET``) and a search reporting only
    matches that do not overlap would miss some."""
    literals, _ = _literals()
    pieces = st.sampled_from([*literals, *overlapping(), *(t.encode() for t in TOKENS)])
    return st.lists(pieces, max_size=12).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(literal_soup(), texts().map(str.encode)))
def test_the_literal_search_and_the_pivot_passes_give_the_same_matches(raw: bytes) -> None:
    passes, expressions = _compiled(True)
    by_literals = _literal_starts(raw, automaton(), len(expressions))
    by_pivots = _pivot_starts(raw, passes, len(expressions))
    expected = reference_spans(raw)
    for starts in (by_literals, by_pivots):
        assert [[m.span() for m in ms] for ms in _matches(raw, expressions, starts)] == expected


def every_place(raw: bytes) -> list[set[int]]:
    """Where each scanner's literals begin in ``raw``, by a plain search for each."""
    literals, owners = _literals()
    places: list[set[int]] = [set() for _ in range(max(owners) + 1)]
    for literal, owner in zip(literals, owners, strict=True):
        at = raw.find(literal)
        while at >= 0:
            places[owner].add(at)
            at = raw.find(literal, at + 1)
    return places


def literal_places(raw: bytes) -> list[set[int]]:
    _, owners = _literals()
    starts = _literal_starts(raw, automaton(), max(owners) + 1)
    assert all(len(s) == len(set(s)) for s in starts)  # each place once
    return [set(s) for s in starts]


@settings(max_examples=200, deadline=None)
@given(literal_soup())
def test_every_place_a_literal_begins_is_found_even_inside_another(raw: bytes) -> None:
    assert literal_places(raw) == every_place(raw)


def test_both_literals_written_over_each_other_are_found() -> None:
    assert {b"AKIAIza", b"xoxa-----BEGIN", b"pypi-AgECRET"} <= set(overlapping())
    for raw in overlapping():
        assert literal_places(b"x" + raw) == every_place(b"x" + raw)


@settings(max_examples=150, deadline=None)
@given(st.one_of(texts(), sparse_texts()), st.sampled_from(["é", "€", "\udc80", "😀"]))
def test_text_that_is_not_ascii_is_scanned_alike(text: str, other: str) -> None:
    mixed = other + text + other
    assert spans(mixed) == reference_spans(mixed)
    assert mask_tokens(mixed, MASK) == reference_mask_tokens(mixed, MASK)


def test_the_literals_are_the_fixed_texts_every_lead_starts_with() -> None:
    literals, _ = _literals()
    assert {b"sk-", b"sk_", b"AKIA", b"ghp_", b"hooks.slack.com/services/"} <= set(literals)
    assert not [(a, b) for a in literals for b in literals if a != b and b.startswith(a)]
    assert _expand(r"ox[abposr]-") == [f"ox{c}-" for c in "abposr"]
    with pytest.raises(ValueError, match="not a literal"):
        _expand("ab+")


def test_a_bounded_token_after_a_lone_surrogate_is_masked() -> None:
    token = TOKEN_FORMATS[1].lead + RESTS[1][2]  # bounded: only at the start of a word
    text = "bytes\udc80" + token  # as decoded with surrogateescape
    assert mask_tokens(text, MASK) == f"bytes\udc80{MASK}"
