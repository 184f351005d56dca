"""The hotline's layers point one way: core <- bot <- flows <- api; and
each feature keeps one shape: its `queries.py` never commits.

Every import in a layer's modules, at the top or inside a function, is read
from the source, so a lazy import cannot hide a dependency pointing back.
A feature's `queries.py` takes the caller's session and neither commits,
opens a transaction nor writes an audit entry: its `service.py` owns the
unit of work and its audit entry.
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


# What only a feature's service does: end or open a unit of work, write the audit entry.
UNIT_OF_WORK = {"commit", "begin"}
FEATURES_WITH_QUERIES = {"cases", "handoff", "privacy", "staff"}


def unit_of_work_in(path: Path) -> list[str]:
    """Where a module commits, opens a transaction or writes an audit entry."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            if node.attr in UNIT_OF_WORK:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
            elif (
                node.attr == "record"
                and isinstance(node.value, ast.Name)
                and node.value.id == "audit"
            ):
                found.append(f"{path.name}:{node.lineno} audit.record")
        elif isinstance(node, ast.ImportFrom) and node.module == "bot.staff.audit":
            found.append(f"{path.name}:{node.lineno} imports the audit writer")
    return found


def test_queries_never_commit_open_a_transaction_or_audit() -> None:
    modules = sorted((ROOT / "bot").rglob("queries.py"))
    assert {path.parent.name for path in modules} >= FEATURES_WITH_QUERIES
    assert {
        str(path.relative_to(ROOT)): unit_of_work_in(path)
        for path in modules
        if unit_of_work_in(path)
    } == {}


def test_the_check_sees_a_commit_a_transaction_and_an_audit_entry(tmp_path: Path) -> None:
    module = tmp_path / "queries.py"
    module.write_text(
        "async def work(session, sessions):\n"
        "    await audit.record(session=session)\n"
        "    await session.commit()\n"
        "    async with sessions.begin():\n"
        "        pass\n"
    )
    assert sorted(unit_of_work_in(module)) == [
        "queries.py:2 audit.record",
        "queries.py:3 .commit",
        "queries.py:4 .begin",
    ]
