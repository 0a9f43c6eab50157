"""What a secret looks like: known token formats, credential files, and encoded values.

Three kinds of secret are recognised, and only these (the README lists them):

- **Known token formats** (:data:`TOKEN_FORMATS`): a key whose shape alone gives it away
  (Anthropic, OpenAI, AWS, GitHub, GitLab, Slack, Google, Stripe, npm, PyPI, Hugging
  Face, PEM private keys, and an AWS secret key written after its name).
- **The environment's secrets** (:func:`environment_secrets`): the values of the
  variables agentlog knows hold secrets and of every variable whose name says so
  (``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*``...), and :func:`secret_forms`
  gives each in the encodings it may travel in (JSON-escaped, base64 at every alignment,
  hex, URL-encoded).
- **Credential files** (:func:`credential_file`): ``.env`` files, private keys, cloud
  and registry credential files, known by their names.

The scrubber (:mod:`actors.secrets`) masks the first two wherever text leaves agentlog;
:func:`~store.base.record_base` leaves files of the third kind, and files holding either
of the first two, out of a workspace's base; the Convex mirror masks with
:func:`mask_secrets` too. One definition serves them all. Seven passes, one per pivot
byte (:data:`_PIVOTS`), find where any token may start; the expressions run only there.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MIN_SECRET",
    "SECRET_ENV_VARS",
    "TOKEN_FORMATS",
    "SecretForm",
    "TokenFormat",
    "credential_file",
    "environment_secrets",
    "find_token",
    "mask_secrets",
    "mask_tokens",
    "may_hold_secret",
    "may_hold_token",
    "secret_forms",
    "secret_in_file",
    "secret_names",
]

#: Environment variables whose values are secrets whatever their names say.
SECRET_ENV_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CONVEX_DEPLOY_KEY")
#: What a secret is replaced with.
MASK = "[redacted]"
#: A value shorter than this is not a secret on its own (it would mask ordinary words).
MIN_SECRET = 8
#: Names of variables that hold secrets: ``*_KEY``, ``*_TOKEN``, ``*_SECRET`` (or the
#: whole name), and any name with PASSWORD, PASSWD, SECRET or CREDENTIAL in it.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:KEY|TOKEN|SECRET|PAT)$|PASSWORD|PASSWD|SECRET|CREDENTIAL", re.IGNORECASE
)
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


def _found(data: Data) -> list[list[re.Match[Data]]]:
    """Each scanner's matches in ``data``, as its ``finditer`` gives them (leftmost first,
    none overlapping): its expression is tried, in order, only where a pivot pass found
    that its lead may start, which yields the same matches as searching every byte."""
    passes, expressions = _compiled(isinstance(data, bytes))
    return _scan(data, passes, expressions)


#: A pivot byte is jumped to (``find``) while it is rarer than one in ``2**_RARE`` bytes so
#: far, past which the pivot expression's own pass (about a byte a cycle) is cheaper.
_RARE = 10


def _scan(
    data: Data, passes: list[Pass], expressions: list[re.Pattern[Any]]
) -> list[list[re.Match[Any]]]:
    starts: list[list[int]] = [[] for _ in expressions]
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


@dataclass(frozen=True, slots=True)
class SecretForm:
    """One way a secret value may be written: the text and the encoding's name."""

    text: str
    encoding: str


def _base64_cores(raw: bytes, alphabet: str) -> list[str]:
    """The base64 characters that ``raw`` alone decides, at each of the 3 alignments."""
    from base64 import b64encode  # only when a secret is known: not on every start

    cores = []
    for shift in range(3):
        encoded = b64encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
        if alphabet == "base64url":
            encoded = encoded.translate(str.maketrans("+/", "-_"))
        start = -(-shift * 8 // 6)  # the first character with no padding bits in it
        end = (shift + len(raw)) * 8 // 6  # the last whole character, exclusive
        cores.append(encoded[start:end])
    return cores


@lru_cache(maxsize=256)
def secret_forms(value: str) -> tuple[SecretForm, ...]:
    """``value`` as it may be written: plain, JSON-escaped, base64 and base64url (each of
    the 3 alignments, so a secret inside a longer encoded text is found too), hex (lower
    and upper case) and URL-encoded. Longest first; forms shorter than
    :data:`MIN_SECRET` are dropped."""
    raw = value.encode("utf-8", "surrogateescape")
    found: dict[str, str] = {}

    def add(text: str, encoding: str) -> None:
        if len(text) >= MIN_SECRET:
            found.setdefault(text, encoding)

    add(value, "plain")
    add(json.dumps(value, ensure_ascii=False)[1:-1], "JSON-escaped")
    add(json.dumps(value)[1:-1], "JSON-escaped")
    for alphabet in ("base64", "base64url"):
        for core in _base64_cores(raw, alphabet):
            add(core, alphabet)
    add(raw.hex(), "hex")
    add(raw.hex().upper(), "hex")
    add(quote(value, safe=""), "URL-encoded")
    add(quote_plus(value, safe=""), "URL-encoded")
    add(quote(value), "URL-encoded")
    forms = (SecretForm(text, encoding) for text, encoding in found.items())
    return tuple(sorted(forms, key=lambda f: len(f.text), reverse=True))


def environment_secrets(env: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """(name, value) of every secret in ``env`` (default: this process's environment):
    :data:`SECRET_ENV_VARS` and every variable whose name says it holds a secret, with a
    value of at least :data:`MIN_SECRET` characters."""
    env = os.environ if env is None else env
    return tuple(
        sorted((n, env[n]) for n in secret_names(env) if n in env and len(env[n]) >= MIN_SECRET)
    )


def secret_names(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The names in ``env`` (default: this process's environment) that hold secrets,
    whatever their values: :data:`SECRET_ENV_VARS` and the names that say so."""
    env = os.environ if env is None else env
    found = (n for n in env if _SECRET_NAME.search(n))
    return tuple(dict.fromkeys((*SECRET_ENV_VARS, *found)))


#: Files that hold credentials by their nature, whatever is in them: base name -> kind.
_CREDENTIAL_NAMES = {
    ".env": "an environment file",
    ".netrc": "a netrc file",
    "_netrc": "a netrc file",
    ".git-credentials": "git credentials",
    ".htpasswd": "a password file",
    ".pgpass": "a password file",
    "id_rsa": "an SSH private key",
    "id_dsa": "an SSH private key",
    "id_ecdsa": "an SSH private key",
    "id_ed25519": "an SSH private key",
    "credentials.json": "cloud credentials",
    "application_default_credentials.json": "cloud credentials",
}
_CREDENTIAL_SUFFIXES = {
    ".pem": "a private key or certificate",
    ".key": "a private key",
    ".p12": "a key store",
    ".pfx": "a key store",
    ".jks": "a key store",
    ".ppk": "a private key",
    ".env": "an environment file",
}
_CREDENTIAL_PATHS = {
    ".aws/credentials": "AWS credentials",
    ".docker/config.json": "registry credentials",
    ".kube/config": "Kubernetes credentials",
}
#: ``.env`` templates, meant to be committed: taken in unless a secret is found in them.
_ENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
#: Files that are credential files only when they hold one of these (a registry token).
_TOKEN_SETTINGS = {
    ".npmrc": ("_authToken", "_auth", "_password"),
    ".pypirc": ("password",),
    ".yarnrc.yml": ("npmAuthToken",),
}


def credential_file(path: str) -> str | None:
    """What kind of credential file ``path`` (workspace-relative, ``/``-separated) is by
    its name, or None when its name says nothing."""
    name = path.rsplit("/", 1)[-1]
    if name in _ENV_TEMPLATES:
        return None
    if name in _CREDENTIAL_NAMES:
        return _CREDENTIAL_NAMES[name]
    if name.startswith(".env."):
        return "an environment file"
    if name.startswith("client_secret") and name.endswith(".json"):
        return "cloud credentials"
    for suffix, kind in _CREDENTIAL_SUFFIXES.items():
        if name.endswith(suffix) and name != suffix:
            return kind
    for tail, kind in _CREDENTIAL_PATHS.items():
        if path == tail or path.endswith("/" + tail):
            return kind
    return None


def secret_in_file(
    path: str, data: bytes, secrets: tuple[tuple[str, str], ...] | None = None
) -> str | None:
    """Why the file ``path`` with bytes ``data`` holds a secret, or None: a registry token
    setting, a known token format, or one of ``secrets`` ((name, value) pairs; default:
    :func:`environment_secrets`) in any of its :func:`secret_forms`."""
    settings = _TOKEN_SETTINGS.get(path.rsplit("/", 1)[-1])
    if settings is not None and any(s.encode() in data for s in settings):
        return "a package registry token"
    label = find_token(data)
    if label is not None:
        return label
    for name, value in environment_secrets() if secrets is None else secrets:
        for text, encoding in _encoded_forms(value):  # a long needle: a fast search
            if text in data:
                return f"the value of ${name}, {encoding}"
    return None


@lru_cache(maxsize=256)
def _encoded_forms(value: str) -> tuple[tuple[bytes, str], ...]:
    """``value``'s forms as bytes (searched whole: the search skips ahead by about a
    needle's length, so a whole form is found faster than its first bytes)."""
    return tuple(
        (f.text.encode("utf-8", "surrogateescape"), f.encoding) for f in secret_forms(value)
    )


class _EnvForms:
    """The environment's secrets in all their forms, worked out again only on a change.

    The key is the environment as the process holds it (``os.environ``'s own mapping of
    encoded names to values, where CPython keeps it): all its names and all its values,
    compared whole, which costs well under a microsecond. Any variable added, removed,
    renamed or changed is noticed, even one taking the place of another (the count of
    variables alone would not change). ``raw`` are the forms encoded, for the fast path
    (each searched whole).
    """

    def __init__(self) -> None:
        self.key: tuple[object, ...] | None = None
        self.forms: tuple[tuple[str, ...], tuple[bytes, ...]] = ((), ())

    def current(self) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
        env = os.environ
        data = getattr(env, "_data", env)  # the encoded names and values (CPython)
        key = (tuple(data), tuple(data.values()))
        if key != self.key:
            found = environment_secrets(env)
            texts = {form.text for _, value in found for form in secret_forms(value)}
            text = tuple(sorted(texts, key=len, reverse=True))
            raw = tuple(t.encode("utf-8", "surrogateescape") for t in text)
            self.forms, self.key = (text, raw), key  # forms first: a reader sees both
        return self.forms


_ENV = _EnvForms()


def mask_secrets(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with :data:`MASK` for every secret: the environment's and ``extra``, each
    in all its :func:`secret_forms` (longest first, so one containing another goes
    whole), and every known token. (:func:`actors.secrets.redact` is this.)"""
    forms, _ = _ENV.current()
    more = [f.text for s in extra if len(s) >= MIN_SECRET for f in secret_forms(s)]
    if more:
        forms = tuple(sorted({*forms, *more}, key=len, reverse=True))
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return mask_tokens(text, MASK)


def may_hold_secret(data: bytes, *, tokens: bool = True) -> bool:
    """Whether encoded text may hold what :func:`mask_secrets` masks (without ``extra``).
    False means masking would change nothing; True may be a false alarm. ``tokens=False``
    searches only for the environment's secrets (what differs between two machines)."""
    _, raw = _ENV.current()
    return any(form in data for form in raw) or (tokens and may_hold_token(data))
