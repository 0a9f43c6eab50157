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
:func:`mask_secrets` too. One definition serves them all; the token formats and their
scan live in :mod:`store.tokens`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from store.tokens import TOKEN_FORMATS, TokenFormat, find_token, mask_tokens, may_hold_token

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
    pairs = environment_secrets() if secrets is None else secrets
    if not pairs or not _any_form(pairs, data):  # one pass over the bytes for every form
        return None
    for name, value in pairs:  # which one, as named first (a file with a secret is rare)
        for text, encoding in _encoded_forms(value):
            if text in data:
                return f"the value of ${name}, {encoding}"
    return None  # pragma: no cover - _any_form found one of these forms


def _any_form(secrets: tuple[tuple[str, str], ...], data: bytes) -> bool:
    """Whether any of the forms of ``secrets`` is in ``data``."""
    return _any_of(_forms_of(secrets), data)


@lru_cache(maxsize=8)
def _forms_of(secrets: tuple[tuple[str, str], ...]) -> tuple[bytes, ...]:
    """Every form of ``secrets``, encoded, once each."""
    return tuple(sorted({text for _, value in secrets for text, _ in _encoded_forms(value)}))


def _any_of(forms: tuple[bytes, ...], data: bytes) -> bool:
    """Whether any of ``forms`` is in ``data``: one pass of an automaton over them all (a
    tenth of a ``find`` per form, even on a line of a few hundred bytes)."""
    if not forms:
        return False
    automaton = _automaton_of(forms)
    if automaton is None:  # no ahocorasick_rs: each form searched whole (a long needle)
        return any(form in data for form in forms)
    return bool(automaton.find_matches_as_indexes(data))


@lru_cache(maxsize=8)
def _automaton_of(forms: tuple[bytes, ...]) -> Any:
    """An Aho-Corasick automaton over ``forms``, or None where ``ahocorasick_rs`` has no
    build."""
    try:
        import ahocorasick_rs
    except ImportError:  # pragma: no cover - a wheel exists for every platform we test
        return None
    return ahocorasick_rs.BytesAhoCorasick(forms, matchkind=ahocorasick_rs.MatchKind.LeftmostFirst)


@lru_cache(maxsize=256)
def _encoded_forms(value: str) -> tuple[tuple[bytes, str], ...]:
    """``value``'s forms as bytes (searched whole: the search skips ahead by about a
    needle's length, so a whole form is found faster than its first bytes)."""
    return tuple(
        (f.text.encode("utf-8", "surrogateescape"), f.encoding) for f in secret_forms(value)
    )


class _EnvForms:
    """The environment's secrets in all their forms, worked out again only on a change.

    The key is a copy of the environment as the process holds it (``os.environ``'s own
    mapping of encoded names to values, where CPython keeps it), compared whole with the
    mapping itself (one dict comparison in C, no tuple built, well under a microsecond).
    Any variable added, removed, renamed or changed is noticed, even one taking the place
    of another (the count of variables alone would not change). ``raw`` are the forms
    encoded, for the fast path (each searched whole).
    """

    def __init__(self) -> None:
        self.key: dict[object, object] | None = None
        self.forms: tuple[tuple[str, ...], tuple[bytes, ...]] = ((), ())

    def current(self) -> tuple[tuple[str, ...], tuple[bytes, ...]]:
        env = os.environ
        data = getattr(env, "_data", env)  # the encoded names and values (CPython)
        if data != self.key:
            key = dict(data)
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
    return _any_of(raw, data) or (tokens and may_hold_token(data))
