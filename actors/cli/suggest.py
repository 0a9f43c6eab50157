"""``did you mean``: a mistyped command named in one line, with the closest commands.

argparse (before 3.14) answers ``agentlog lgo`` with its usage and every command in a
list; this finds the command word before argparse does and says what it probably was.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["unknown_command"]

#: Top-level options that take a value as the next word (``--log-level debug``).
_VALUED = frozenset({"--log-format", "--log-level"})


def _command_word(argv: Sequence[str]) -> str | None:
    """The first word of ``argv`` that is not an option or an option's value."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if word in _VALUED:
            next(words, None)
        elif not word.startswith("-") or word == "-":
            return word
    return None


def unknown_command(argv: Sequence[str], commands: Collection[str]) -> str | None:
    """The error line for a command word that is none of ``commands`` (None when it is
    one, or when there is no command word: argparse says what is missing then)."""
    from actors.cli.terminal import inert

    word = _command_word(argv)
    if word is None or word in commands:
        return None
    import difflib  # only for a word that is no command

    close = difflib.get_close_matches(word, sorted(commands), n=3, cutoff=0.6)
    if not close:
        hint = "`agentlog --help` lists the commands"
    else:
        hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return f"agentlog: unknown command '{inert(word)}' ({hint})"
