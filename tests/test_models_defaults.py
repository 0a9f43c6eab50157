"""The default model, and what importing the model layer costs."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest

from actors.models import DEFAULT_MODEL, default_model

ROOT = Path(__file__).resolve().parent.parent


def sdk_model_names() -> set[str]:
    from anthropic.types.model_param import ModelParam

    names: set[str] = set()
    for arg in typing.get_args(ModelParam):
        names.update(a for a in typing.get_args(arg) if isinstance(a, str))
    return names


def test_default_model_is_listed_by_the_installed_sdk() -> None:
    assert DEFAULT_MODEL in sdk_model_names()


def test_default_model_is_not_deprecated_by_the_installed_sdk() -> None:
    try:
        from anthropic._data import DEPRECATED_MODELS
    except ImportError:  # an SDK without the private table: nothing is marked deprecated
        DEPRECATED_MODELS = {}
    assert DEFAULT_MODEL not in DEPRECATED_MODELS


def test_agentlog_model_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOG_MODEL", "claude-haiku-5-5")
    assert default_model() == "claude-haiku-5-5"


def test_blank_agentlog_model_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOG_MODEL", "  ")
    assert default_model() == DEFAULT_MODEL


def test_importing_the_model_layer_does_not_import_the_sdk() -> None:
    code = "import sys, actors.models; print('anthropic' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
