"""What may reach a terminal: text from a log or a model made inert, colour, width.

Everything the CLI prints that came from a model or a log goes through :func:`inert`, so
an escape sequence in a file name or a review cannot move the cursor, retitle the
window or hide text. The same function keeps JSON output free of raw C1 and bidi
characters (its ``\\uXXXX`` escapes mean the same string to a JSON reader).
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

from actors.views.text import plural

__all__ = ["columns", "inert", "plural", "terminal_width", "use_colour"]

# C0 and C1 controls, DEL, the bidi embeddings/overrides/isolates and marks, the line and
# paragraph separators, and lone surrogates (which cannot even be encoded for output).
_ACTIVE = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_ACTIVE}]")
# In JSON text a C0 control can only be layout (encoders escape them inside strings).
_UNSAFE_IN_JSON = re.compile(f"[{_ACTIVE}]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def inert(text: str, *, json: bool = False) -> str:
    """``text`` with every character that could act on a terminal shown as ``\\uXXXX``.

    ``json=True`` is for JSON text: its newlines and indentation are kept, and the escapes
    mean the same string to a JSON reader.
    """
    pattern = _UNSAFE_IN_JSON if json else _UNSAFE
    if pattern.search(text) is None:  # the common case costs one scan
        return text
    return pattern.sub(_escape, text)


def use_colour(stream: TextIO | None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if stream is None or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (ValueError, OSError):  # a closed stream
        return False


def terminal_width(stream: TextIO | None) -> int | None:
    """The terminal's columns when ``stream`` is one, else None (piped: never cut)."""
    try:
        if stream is None or not stream.isatty():
            return None
    except (ValueError, OSError):
        return None
    return columns()


def columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it (``COLUMNS``, else
    stdout's terminal, else 80), without importing shutil (and, through it, the
    compression modules): a few ms of every command's start."""
    try:
        width = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        width = 0
    if width <= 0:
        try:
            width = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            width = 0
    return width or 80
