"""Architecture rules: the CLI starts without torch, and `indexes` never imports upward."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO


def test_cli_import_does_not_load_torch() -> None:
    code = "import sys, cli.app; print('torch' in sys.modules, 'faiss' in sys.modules, 'duckdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_indexes_imports_nothing_above_it() -> None:
    for path in (REPO / "indexes").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("retrieval", "cli", "torch")), f"{path.name} imports {name}"
