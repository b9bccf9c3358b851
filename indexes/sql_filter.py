"""Validation of user `--where` predicates: one read-only expression over catalog columns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from indexes.errors import FilterError

MAX_PREDICATE_CHARS = 10_000
"""Longer predicates (a huge IN list) take DuckDB's parser longer than a query may run."""
_FORBIDDEN_CLASSES = {"SUBQUERY", "WINDOW", "STAR", "LAMBDA"}
UNBOUNDED_FUNCTIONS = frozenset(
    {
        "repeat",
        "lpad",
        "rpad",
        "range",
        "generate_series",
        "list_resize",
        "array_resize",
        "bar",
        "printf",
        "format",
        "bitstring",
    }
)
"""Functions whose run time or result size an argument sets, not the catalog's data: such a call
(e.g. `repeat('a', 2000000000)`) can run as one uninterruptible step, so a `--where` may not call them."""


def validate_where(predicate: str, columns: frozenset[str]) -> str:
    """Return `predicate` if it is a single expression over `columns`; raise FilterError otherwise.

    The predicate is parsed (never executed) by DuckDB's own parser, so anything that is not
    a plain WHERE expression (a second statement, a subquery, a table function, an unknown
    column, a function whose cost an argument sets) is refused before it reaches a query. Execution
    then happens on a read-only connection without external access, bounded in time and memory.
    """
    if not predicate.strip():
        raise FilterError("empty --where predicate")
    if len(predicate) > MAX_PREDICATE_CHARS:
        raise FilterError(
            f"--where predicate is {len(predicate):,} characters long; the limit is {MAX_PREDICATE_CHARS:,}"
        )
    sql = f"SELECT id FROM items WHERE ({predicate})"
    try:
        with duckdb.connect() as parser:
            row = parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
            tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    except duckdb.Error as err:  # pragma: no cover - json_serialize_sql reports errors in-band
        raise FilterError(f"invalid --where predicate: {err}") from err
    if tree.get("error"):
        raise FilterError(f"invalid --where predicate: {tree.get('error_message', 'syntax error')}")
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    if node.get("type") != "SELECT_NODE" or node.get("from_table", {}).get("table_name") != "items":
        raise FilterError("--where must be a single expression, not a statement")
    for expr in _walk(node["where_clause"]):
        cls = expr.get("class")
        if cls in _FORBIDDEN_CLASSES:
            raise FilterError(f"--where may not contain {cls.lower()} expressions")
        if cls == "FUNCTION" and str(expr.get("function_name", "")).lower() in UNBOUNDED_FUNCTIONS:
            name = str(expr["function_name"]).lower()
            raise FilterError(f"--where may not call {name}(): its cost is not bounded by the catalog's data")
        if cls == "COLUMN_REF":
            name = expr["column_names"][-1].lower()
            if name not in columns:
                raise FilterError(f"unknown column {name!r} in --where; columns: {', '.join(sorted(columns))}")
    return predicate


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "class" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
