"""docs/internals.md is a module map: every file and folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "internals.md"


def named_paths() -> list[str]:
    """The backticked paths of the map: ``pkg/mod.py`` files and ``pkg/sub/`` folders."""
    return sorted(set(re.findall(r"`([\w.-]+/[\w./-]*(?:\.py|/))`", DOC.read_text())))


def test_the_module_map_names_paths() -> None:
    assert "store/log.py" in named_paths()


@pytest.mark.parametrize("path", named_paths())
def test_every_path_the_module_map_names_exists(path: str) -> None:
    assert (ROOT / path).exists(), f"docs/internals.md names {path}, which does not exist"
