"""The hotline's layers point one way: core <- bot <- flows <- api.

Every import in a layer's modules, at the top or inside a function, is read
from the source, so a lazy import cannot hide a dependency pointing back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOTLINE = {"core", "bot", "flows", "api", "nlu", "tests", "bench", "scripts"}
# What each layer may import of the hotline besides itself.
ALLOWED = {
    "core": set(),
    "bot": {"core"},
    "flows": {"core", "bot"},
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def wrong_way(layer: str) -> list[str]:
    allowed = ALLOWED[layer] | {layer}
    return [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for package, line in sorted(imported_packages(path))
        if package in HOTLINE and package not in allowed
    ]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_one_way(layer: str) -> None:
    assert wrong_way(layer) == []


def test_the_check_sees_an_import_pointing_back(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def later():\n    from api.state import StateDep\n")
    assert imported_packages(module) == {("api", 2)}
