"""Dependencies run api -> audiences -> consent -> resolver, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["resolver", "consent", "audiences", "api"]  # lower may not import higher


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_upward_imports(layer):
    higher = set(LAYERS[LAYERS.index(layer) + 1 :])
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & higher)
        for path in (ROOT / layer).rglob("*.py")
        if _imports(path) & higher
    }
    assert offenders == {}


def test_only_api_knows_the_cli_and_config_files():
    for layer in ["resolver", "consent", "audiences"]:
        for path in (ROOT / layer).rglob("*.py"):
            assert not _imports(path) & {"typer", "tomllib", "fastapi", "rich"}, path
