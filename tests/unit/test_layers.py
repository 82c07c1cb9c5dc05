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
