"""Architecture rules: the CLI starts without torch, and imports only go down the layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO


def test_cli_import_does_not_load_torch() -> None:
    code = "import sys, cli.app; print('torch' in sys.modules, 'faiss' in sys.modules, 'duckdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def _imports(package: str) -> Iterator[tuple[Path, str]]:
    """(file, imported module) for every import statement under `package`."""
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                yield from ((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.module


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("indexes", ("retrieval", "cli", "server", "recipes", "torch")),
        ("retrieval", ("cli", "server", "recipes", "benchmarks", "tests")),
        ("retrieval/media", ("retrieval.encoders", "retrieval.ingest", "retrieval.query", "retrieval.train", "torch")),
        ("server", ("cli", "recipes")),
    ],
)
def test_imports_only_go_down(package: str, forbidden: tuple[str, ...]) -> None:
    for path, name in _imports(package):
        hit = [f for f in forbidden if name == f or name.startswith(f + ".")]
        assert not hit, f"{path.relative_to(REPO)} imports {name}"
