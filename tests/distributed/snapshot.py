"""What the distributed tests compare: catalog rows by (path, part), vectors, and index consistency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import faiss
import numpy as np

IGNORED = ("id", "added_at", "vector")
"""Columns that differ between two runs that store the same thing."""


def catalog_rows(db: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Every catalog row of the index in `db`, keyed by (path, part), its vector as float32 under 'vector'."""
    con = duckdb.connect(str(db / "catalog.duckdb"), read_only=True)
    try:
        cur = con.execute("SELECT * FROM items")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    keyed = {(r["path"], r["part"]): r for r in rows}
    assert len(keyed) == len(rows), "duplicate (path, part) rows"
    for r in rows:
        r["vector"] = np.frombuffer(r["vector"], np.float16).astype(np.float32)
    return keyed


def assert_same_rows(expected: Path, actual: Path) -> None:
    """The two indexes hold the same items with the same fields, and vectors with cosine >= 0.9999."""
    a, b = catalog_rows(expected), catalog_rows(actual)
    assert set(a) == set(b)
    for key, row in a.items():
        other = b[key]
        assert _fields(row) == _fields(other), key
        cosine = float(row["vector"] @ other["vector"]) / float(
            np.linalg.norm(row["vector"]) * np.linalg.norm(other["vector"])
        )
        assert cosine >= 0.9999, (key, cosine)


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {c: v for c, v in row.items() if c not in IGNORED}


def assert_consistent(db: Path, files: int) -> None:
    """`files` distinct files, no duplicate rows, no shard left unmerged, every shard merged once with no file
    embedded twice, and a FAISS file holding exactly the catalog's ids."""
    rows = catalog_rows(db)
    assert len({path for path, _ in rows}) == files
    assert not list((db / "shards").glob("*.parquet"))
    con = duckdb.connect(str(db / "catalog.duckdb"), read_only=True)
    try:
        embedded = con.execute("SELECT coalesce(sum(files), 0) FROM merged_shards").fetchone()[0]
    finally:
        con.close()
    assert embedded == files, f"{embedded} files embedded for {files} files"
    index = faiss.read_index(str(db / "vectors.faiss"))
    ids = faiss.vector_to_array(faiss.downcast_index(index).id_map)
    assert sorted(ids) == sorted(r["id"] for r in rows.values())


def merged_shards(db: Path) -> set[str]:
    """Names of the shards the index in `db` has merged (none before its first merge)."""
    if not (db / "catalog.duckdb").exists():
        return set()
    con = duckdb.connect(str(db / "catalog.duckdb"), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT name FROM merged_shards").fetchall()}
    except duckdb.CatalogException:
        return set()
    finally:
        con.close()
