"""The packages' layers: `cli` sits above `gateway` and `watchdog`, which share `faas`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports, wherever in it the import is."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("package", "below"),
    [("faas", {"cli", "gateway", "watchdog"}), ("gateway", {"cli"}), ("watchdog", {"cli"})],
)
def test_a_package_never_imports_one_above_it(package: str, below: set[str]) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules
    wrong = {str(m.relative_to(ROOT)): imported(m) & below for m in modules if imported(m) & below}
    assert wrong == {}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for pkg in ("cli", "faas", "gateway", "watchdog")
        for p in (ROOT / pkg).rglob("*.py")
    }


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules this one names in an import, wherever it is (`TYPE_CHECKING` blocks too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:  # `from package import module` names the module
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
    return found & modules.keys()


def test_no_module_imports_itself_through_others() -> None:
    modules = our_modules()
    graph = {name: imports_of(path, modules) for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import circle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_only_the_app_knows_the_routes() -> None:
    modules = our_modules()
    wrong = {
        name: sorted(i for i in imports_of(path, modules) if i.startswith("gateway.routes"))
        for name, path in modules.items()
        if not name.startswith("gateway.routes") and name != "gateway.app"
    }
    assert {name: found for name, found in wrong.items() if found} == {}
