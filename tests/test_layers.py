"""Dependencies point one way (DESIGN.md): the engine imports neither training/ nor the CLI,
the bot no engine, and common/ (what the bot and the engine share) none of our packages.
Read from the code itself, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("engine", "training", "diagrammer", "bot", "common")
NEVER = {
    "engine": {"training", "diagrammer", "bot"},
    "training": {"diagrammer", "bot"},
    "bot": {"engine", "training", "diagrammer"},
    "common": {"engine", "training", "diagrammer", "bot"},
}


def imported(path: Path) -> set[str]:
    """The top-level packages of ours that a file imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out & set(OURS)


@pytest.mark.parametrize("package", sorted(NEVER))
def test_a_package_imports_nothing_it_must_not(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = {
        str(f.relative_to(ROOT)): sorted(imported(f) & NEVER[package])
        for f in files
        if imported(f) & NEVER[package]
    }
    assert wrong == {}
