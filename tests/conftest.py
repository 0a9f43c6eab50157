"""Shared fixtures: a fresh run directory, the offline fake Anthropic API, clean logging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fake_anthropic import FakeAnthropic


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts with structlog's defaults: a CLI test's level filter must not leak."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run directory that does not exist yet (the supervisor creates it)."""
    return tmp_path / "run"


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A running fake Messages API on 127.0.0.1; closed (delays woken) after the test."""
    with FakeAnthropic() as server:
        yield server
