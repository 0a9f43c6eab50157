"""The settings of a new run: command-line options over a project file's defaults.

A project keeps the settings it always wants in ``agentlog.toml`` (top-level keys) or,
when there is none, in the ``[tool.agentlog]`` table of its ``pyproject.toml``, looked
for in the workspace (``--workspace DIR``) or, without one, in the current directory.
Keys mirror the options of ``agentlog run`` (``max_revisions`` or ``max-revisions``);
an option given on the command line wins. Every value, from a flag or a file, is
checked here with one line naming where it came from and what it must be, before
anything else happens (before a model client or a key is needed). The resulting
:class:`WorkflowConfig` is what ``WorkflowStarted`` records.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from actors.cli.terminal import inert
from events import UsageError, WorkflowConfig

__all__ = [
    "PROJECT_FILE",
    "SETTINGS",
    "ProjectSettings",
    "apply_settings",
    "flag",
    "project_settings",
]

#: A project file of its own, for a directory without a ``pyproject.toml`` (or to keep
#: agentlog's settings apart from it).
PROJECT_FILE = "agentlog.toml"

#: The settings a flag or a project file may give (``WorkflowConfig`` field names).
SETTINGS = (
    "model",
    "continue_on_error",
    "max_revisions",
    "max_retries",
    "step_timeout",
    "run_tests",
    "test_cmd",
    "max_tokens",
    "sandbox",
    "approve",
    "agent_loop",
    "max_turns",
    "budget_tokens",
    "budget_usd",
    "command_timeout",
)

_INFO = msgspec.inspect.type_info(WorkflowConfig)
assert isinstance(_INFO, msgspec.inspect.StructType)
_TYPES = {f.name: f.type for f in _INFO.fields}


class ProjectSettings(msgspec.Struct, frozen=True):
    """The defaults a project file gives (checked and converted), and the file (None: none)."""

    path: Path | None
    values: dict[str, Any]


def flag(name: str) -> str:
    """The command-line option of a setting: ``max_revisions`` -> ``--max-revisions``."""
    return "--" + name.replace("_", "-")


def _rule(kind: Any) -> str:
    """What a value of ``kind`` (a msgspec type description) must be, in words."""
    if isinstance(kind, msgspec.inspect.BoolType):
        return "true or false"
    if isinstance(kind, msgspec.inspect.StrType):
        return "text"
    if isinstance(kind, msgspec.inspect.LiteralType):
        return "one of " + ", ".join(sorted(map(str, kind.values)))
    if isinstance(kind, msgspec.inspect.VarTupleType):
        return "a list of " + _rule(kind.item_type).removeprefix("one of ")
    if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        what = "a whole number" if isinstance(kind, msgspec.inspect.IntType) else "a number"
        if kind.ge is not None:
            return f"{what}, {kind.ge} or more"
        if kind.gt is not None:
            return f"{what} above {kind.gt}"
        return what
    return str(kind)


def _shown(value: Any, *, toml: bool) -> str:
    """``value`` as typed: on the command line, or (``toml``) in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if toml and isinstance(value, str | list | tuple):
        return inert(json.dumps(value, ensure_ascii=False))
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return inert(str(value))


def apply_settings(
    base: WorkflowConfig,
    changes: Mapping[str, Any],
    where: Callable[[str], str],
    *,
    toml: bool = False,
) -> WorkflowConfig:
    """``base`` with ``changes`` applied, each checked alone first.

    A bad value is a :class:`UsageError` (exit 2): ``where(name)`` (the flag, or the file
    and key), the value as it was written (``toml``: in a TOML file), and what it must
    be, in one line.
    """
    for name, value in changes.items():
        try:
            msgspec.convert({name: value}, WorkflowConfig)
        except msgspec.ValidationError:
            shown = _shown(value, toml=toml)
            raise UsageError(f"{where(name)} {shown}: must be {_rule(_TYPES[name])}") from None
    return msgspec.convert({**msgspec.to_builtins(base), **changes}, WorkflowConfig)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"{inert(str(path))}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{inert(str(path))}: not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{inert(str(path))}: not valid TOML: {exc}") from None


def project_settings(directory: str | Path) -> ProjectSettings:
    """The project file's defaults for runs on ``directory`` (checked: names and types).

    ``agentlog.toml`` wins over ``pyproject.toml``; a ``pyproject.toml`` without a
    ``[tool.agentlog]`` table gives nothing. An unknown key or a bad value is a
    :class:`UsageError` naming the file and the key.
    """
    root = Path(directory)
    own, pyproject = root / PROJECT_FILE, root / "pyproject.toml"
    if own.is_file():
        path, table, prefix = own, _read_toml(own), ""
    elif pyproject.is_file():
        tool = _read_toml(pyproject).get("tool")
        found = tool.get("agentlog") if isinstance(tool, dict) else None
        if found is None:
            return ProjectSettings(None, {})
        path, prefix = pyproject, "[tool.agentlog] "
        if not isinstance(found, dict):
            raise UsageError(f"{inert(str(path))}: [tool.agentlog] must be a table")
        table = found
    else:
        return ProjectSettings(None, {})
    values: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        spelled[name] = key
        if name not in SETTINGS:
            raise UsageError(
                f"{inert(str(path))}: {prefix}{inert(key)}: not a setting "
                f"(known: {', '.join(SETTINGS)})"
            )
        if name == "approve" and isinstance(value, str):  # "plan,code", as the flag takes
            value = [gate.strip() for gate in value.split(",") if gate.strip()]
        values[name] = value
    shown = inert(str(path))
    config = apply_settings(
        WorkflowConfig(),
        values,
        lambda name: f"{shown}: {prefix}{inert(spelled[name])} =",
        toml=True,
    )
    return ProjectSettings(path, {name: getattr(config, name) for name in values})
