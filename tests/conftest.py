"""Shared fixtures: a fresh run directory and the offline fake Anthropic Messages API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_anthropic import FakeAnthropic


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run directory that does not exist yet (the supervisor creates it)."""
    return tmp_path / "run"


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A running fake Messages API on 127.0.0.1; closed (delays woken) after the test."""
    with FakeAnthropic() as server:
        yield server
