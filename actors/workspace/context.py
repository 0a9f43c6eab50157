"""What of a workspace a model sees, within a token budget: a map, and whole files.

:func:`repository_map` lists every file with its size and an outline (Python's top-level
definitions), dropping outlines and then entries when the budget runs out;
:func:`file_texts` gives files whole, in the order asked, until the budget runs out. Both
say what they left out, and why, so the caller can record it and tell the model. Pure
functions of the recorded tree: the live workspace is never read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from events import LeftOut
from store import ChangeRejected, Tree
from store.tree import normal_path

__all__ = ["Packed", "estimate_tokens", "file_texts", "outline", "repository_map"]

_OUTLINE_LINES = 40
_OUTLINED = (".py",)
_DEFINITION = re.compile(r"^(async def|def|class)[ \t]+(\w+)[ \t]*(\([^)\n]*\)?)?", re.MULTILINE)
_OUTLINE_CACHE = 100_000
_OUTLINES: dict[str, list[str]] = {}


def estimate_tokens(text: str) -> int:
    """About four characters a token: a cheap, deterministic estimate."""
    return math.ceil(len(text) / 4)


@dataclass
class Packed:
    """Text for a prompt, what it holds, and what was left out (with why)."""

    text: str
    shown: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    tokens: int = 0


def outline(path: str, source: str) -> list[str]:
    """The top-level definitions of a Python file (``def f(a, b)``, ``class C(Base)``).

    Read from the lines that start a definition at column 0, not by parsing: a
    repository map outlines thousands of files, and this is ~100x faster than ``ast``.
    """
    if not path.endswith(_OUTLINED):
        return []
    lines = [f"{m.group(1)} {m.group(2)}{m.group(3) or ''}" for m in _DEFINITION.finditer(source)]
    if len(lines) > _OUTLINE_LINES:
        lines = [*lines[:_OUTLINE_LINES], f"… {len(lines) - _OUTLINE_LINES} more"]
    return lines


def _outline_of(tree: Tree, path: str) -> list[str]:
    """``outline`` of a file of ``tree``, cached by content hash (it is a pure function)."""
    if not path.endswith(_OUTLINED):
        return []
    entry = tree.entries[path]
    cached = _OUTLINES.get(entry.hash)
    if cached is None:
        cached = outline(path, tree.text(path))
        if len(_OUTLINES) >= _OUTLINE_CACHE:
            _OUTLINES.clear()
        _OUTLINES[entry.hash] = cached
    return cached


def repository_map(tree: Tree, budget: int) -> Packed:
    """Every path with its size and outline, within ``budget`` tokens.

    All entries with outlines if they fit; else every entry, with outlines added in path
    order while they fit (the others are left out as "outline left out"); else entries in
    path order while they fit (the rest left out as "not listed").
    """
    paths = tree.paths()
    heads = [f"{p} ({tree.size(p)} bytes)" for p in paths]
    outlines = [_outline_of(tree, p) for p in paths]
    blocks = [
        "\n".join([head, *(f"    {line}" for line in lines)])
        for head, lines in zip(heads, outlines, strict=True)
    ]
    full = "\n".join(blocks)
    if estimate_tokens(full) <= budget:
        return Packed(full, shown=paths, tokens=estimate_tokens(full))
    bare_cost = estimate_tokens("\n".join(heads))
    out: list[str] = []
    left: list[LeftOut] = []
    if bare_cost <= budget:
        spent = bare_cost
        for path, head, block, lines in zip(paths, heads, blocks, outlines, strict=True):
            extra = estimate_tokens(block) - estimate_tokens(head)
            if lines and spent + extra <= budget:
                out.append(block)
                spent += extra
            else:
                out.append(head)
                if lines:
                    left.append(LeftOut(path=path, reason="outline left out (context budget)"))
        text = "\n".join(out)
        return Packed(text, shown=paths, left_out=left, tokens=estimate_tokens(text))
    spent = 0
    shown: list[str] = []
    for path, head in zip(paths, heads, strict=True):
        cost = estimate_tokens(head + "\n")
        if spent + cost > budget:
            left.append(LeftOut(path=path, reason="not listed (context budget)"))
            continue
        out.append(head)
        shown.append(path)
        spent += cost
    text = "\n".join(out)
    return Packed(text, shown=shown, left_out=left, tokens=estimate_tokens(text))


def file_texts(tree: Tree, paths: list[str], budget: int) -> Packed:
    """The whole text of each of ``paths`` that exists, in order, within ``budget`` tokens.

    Paths are normalized and deduplicated; one that is not a file of the tree is left
    out with the reason (left out of the workspace, unsafe, or not there: a file to
    create). A file that does not fit is left out whole, never cut.
    """
    blocks: list[str] = []
    shown: list[str] = []
    left: list[LeftOut] = []
    spent = 0
    seen: set[str] = set()
    for raw in paths:
        try:
            path = normal_path(raw)
        except ChangeRejected as exc:
            left.append(LeftOut(path=raw, reason=exc.reason))
            continue
        if path in seen:
            continue
        seen.add(path)
        if path not in tree:
            reason = tree.blocked.get(path)
            left.append(
                LeftOut(
                    path=path,
                    reason=f"left out of the workspace: {reason}"
                    if reason
                    else "not in the workspace (a file to create?)",
                )
            )
            continue
        block = f'<file path="{path}">\n{tree.text(path)}\n</file>'
        cost = estimate_tokens(block)
        if spent + cost > budget:
            reason = f"did not fit the context budget ({budget} tokens)"
            left.append(LeftOut(path=path, reason=reason))
            continue
        blocks.append(block)
        shown.append(path)
        spent += cost
    return Packed("\n".join(blocks), shown=shown, left_out=left, tokens=spent)
