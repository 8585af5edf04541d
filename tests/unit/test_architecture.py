"""The rules the import-linter contracts cannot say, and ARCHITECTURE.md kept true."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("session_core", "storage", "chat_adapters")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_shared_vocabulary_imports_nothing_of_ours() -> None:
    """storage may import it, so it must not pull session_core (or anything slow) in."""
    imported = _imports(ROOT / "session_core" / "vocabulary.py")
    assert imported <= {"__future__", "typing"}, imported


def _modules_named_in(text: str) -> list[str]:
    names = re.findall(r"`((?:session_core|storage|chat_adapters)(?:[./][\w]+)+)(?:\.py)?`", text)
    return sorted({name.replace("/", ".").removesuffix(".py") for name in names})


def test_every_module_architecture_md_names_exists() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    named = _modules_named_in(text)
    assert len(named) >= 15  # the flow of one message names a module at each hop
    missing = []
    for name in named:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            missing.append(name)
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"


@pytest.mark.parametrize("package", PRODUCT)
def test_no_product_module_is_over_400_lines(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert not long, long
