"""The layers hold: the core imports no integration, and ``store``/``events`` no actor.

Every ``import`` statement counts, those inside functions too (a lazy import is still
a dependency), and a module's imports are followed to the modules they import in turn:
the core may not reach an integration through a helper either.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The core: what runs a workflow, whichever entry point started it.
CORE = [
    "actors.supervisor",
    "actors.supervisor_actor",
    "actors.agents",
    *sorted(f"actors.models.{p.stem}" for p in (ROOT / "actors" / "models").glob("*.py")),
]
#: What the core must never import: the integrations, the front ends, the Ray engine.
LEAVES = (
    "actors.otel",
    "actors.convex",
    "actors.viewer",
    "actors.cli",
    "actors.integrations",
    "ray",
)


def module_file(name: str) -> Path | None:
    """The file of a project module, or None for anything else (stdlib, packages)."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def type_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (never run, so in no cycle)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def imported_by(name: str, *, runtime: bool = False) -> Iterator[str]:
    """The modules ``name``'s file imports, anywhere in it (parents of a dotted one too);
    ``runtime``: leaving out what only the type checker imports."""
    return iter(_imports(name, runtime))


@functools.cache
def _imports(name: str, runtime: bool) -> tuple[str, ...]:
    """:func:`imported_by`, parsed once per module (the cycle test walks each file often)."""
    return tuple(_parse_imports(name, runtime))


def _parse_imports(name: str, runtime: bool) -> Iterator[str]:
    path = module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    skip = type_only(tree) if runtime else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                found = ".".join(parts[:i])
                if runtime and (name + ".").startswith(found + "."):
                    continue  # its own package: already under way when it runs
                yield found


def reachable(start: list[str], *, runtime: bool = False) -> dict[str, str]:
    """Every module the ``start`` modules import, directly or not: module -> an importer."""
    seen: dict[str, str] = {name: "" for name in start}
    todo = list(start)
    while todo:
        name = todo.pop()
        for target in imported_by(name, runtime=runtime):
            if target in seen:
                continue
            seen[target] = name
            if module_file(target) is not None:
                todo.append(target)
    return seen


def chain(seen: dict[str, str], name: str) -> str:
    links = [name]
    while seen.get(links[-1]):
        links.append(seen[links[-1]])
    return " <- ".join(links)


def is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def package_modules(package: str) -> list[str]:
    top = ROOT / package
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in top.rglob("*.py")
    )


def test_the_core_imports_no_integration_front_end_or_engine() -> None:
    seen = reachable(CORE)
    bad = [chain(seen, name) for name in seen if is_under(name, LEAVES)]
    assert bad == []


def test_the_store_and_the_events_import_no_actor() -> None:
    seen = reachable(package_modules("store") + package_modules("events"))
    bad = [chain(seen, name) for name in seen if is_under(name, ("actors",))]
    assert bad == []


def test_the_convex_integration_lives_outside_the_store() -> None:
    assert not (ROOT / "store" / "convex").exists()
    assert module_file("actors.convex.mirror") is not None


def test_no_import_cycle_runs_through_the_supervisor_or_an_integration() -> None:
    # Each of these modules may not be reachable from what it imports when it runs.
    mine = [
        "actors.supervisor",
        "actors.supervisor_actor",
        "actors.shipping",
        "actors.integrations",
        *package_modules("actors/otel"),
        *package_modules("actors/convex"),
    ]
    cycles = []
    for name in mine:
        imports = [t for t in imported_by(name, runtime=True) if module_file(t) is not None]
        seen = reachable(imports, runtime=True)
        if name in seen:
            cycles.append(chain(seen, name) + f" <- {name}")
    assert cycles == []
