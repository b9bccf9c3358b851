"""Parquet shards of embedded items, written by distributed workers and merged into the catalog by the driver.

A shard is one file per embedded batch in the index folder's `shards/` folder, written atomically (temp file,
fsync, rename), so a shard that exists is whole. Each row is one item of one file (its file facts, its own
catalog fields and its float16 vector) or, for a file that could not be read, one row with the reason.
The driver records every shard it merges in the catalog's `merged_shards` table, in the transaction that
writes its items, and then deletes the file; a shard still in the folder at the start of a run is work a
killed run finished but did not merge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from indexes.atomic import atomic_path
from indexes.catalog import Catalog, NewItem

SHARD_FOLDER = "shards"
SUFFIX = ".parquet"
FILE_COLUMNS = ("path", "modality", "size", "mtime")
"""What every row of one file repeats: the facts of the file itself."""


def _sql_type(annotation: str) -> str:
    for python, sql in (("datetime", "TIMESTAMP"), ("int", "BIGINT"), ("float", "DOUBLE"), ("str", "VARCHAR")):
        if python in annotation:
            return sql
    raise TypeError(f"no Parquet column type for {annotation!r}")


ITEM_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (f.name, _sql_type(str(f.type))) for f in dataclasses.fields(NewItem) if f.name not in FILE_COLUMNS
)
"""An item's own catalog fields (kind, part, width, text, taken_at...), typed from `NewItem`."""
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "INTEGER"),
    ("path", "VARCHAR"),
    ("modality", "VARCHAR"),
    ("size", "BIGINT"),
    ("mtime", "DOUBLE"),
    ("file_hash", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("item", "INTEGER"),
    *ITEM_COLUMNS,
    ("vector", "BLOB"),
)
_LEDGER = "CREATE TABLE IF NOT EXISTS merged_shards (name VARCHAR PRIMARY KEY, files INTEGER)"


@dataclass
class ShardFile:
    """One file as a shard holds it: its facts and content hash, and each item's fields and vector, or the
    one-line reason it could not be read."""

    path: str
    modality: str
    size: int
    mtime: float
    file_hash: str | None = None
    reason: str | None = None
    item_fields: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    vectors: np.ndarray | None = None
    """float32 (items, dim)."""


def shard_folder(index_folder: Path) -> Path:
    """Where the shards of the index in `index_folder` are written."""
    return Path(index_folder) / SHARD_FOLDER


def write_shard(folder: Path, name: str, files: Sequence[ShardFile]) -> Path:
    """Write `files` as shard `name` in `folder`, atomically; returns its path. Writing the same name again
    (a retried batch) replaces the file whole."""
    rows: list[tuple[Any, ...]] = []
    for f in files:
        head = (f.path, f.modality, f.size, f.mtime, f.file_hash, f.reason)
        if f.reason is not None or not f.item_fields:
            rows.append((len(rows), *head, None, *[None] * len(ITEM_COLUMNS), None))
            continue
        blobs = np.asarray(f.vectors, dtype=np.float16)
        for n, fields in enumerate(f.item_fields):
            values = [fields.get(c) for c, _ in ITEM_COLUMNS]
            rows.append((len(rows), *head, n, *values, blobs[n].tobytes()))
    target = Path(folder) / f"{name}{SUFFIX}"
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE shard ({', '.join(f'{c} {t}' for c, t in _COLUMNS)})")
        if rows:  # one statement of column lists: row by row inserts cost milliseconds each
            columns = ", ".join(f"unnest(?::{t}[])" for _, t in _COLUMNS)
            con.execute(f"INSERT INTO shard SELECT {columns}", [list(c) for c in zip(*rows)])
        with atomic_path(target) as tmp:
            con.execute(f"COPY (SELECT * FROM shard ORDER BY seq) TO '{_quoted(tmp)}' (FORMAT parquet)")
    finally:
        con.close()
    return target


def read_shard(path: Path) -> list[ShardFile]:
    """The files of the shard at `path`, in the order they were written."""
    con = duckdb.connect()
    try:
        cur = con.execute(f"SELECT * FROM read_parquet('{_quoted(path)}') ORDER BY seq")
        names = [d[0] for d in cur.description]
        records = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    files: dict[str, ShardFile] = {}
    vectors: dict[str, list[bytes]] = {}
    for r in records:
        f = files.get(r["path"])
        if f is None:
            f = files[r["path"]] = ShardFile(
                r["path"], r["modality"], r["size"], r["mtime"], file_hash=r["file_hash"], reason=r["reason"]
            )
            vectors[f.path] = []
        if r["item"] is not None:
            f.item_fields.append({c: r[c] for c, _ in ITEM_COLUMNS if r[c] is not None})
            vectors[f.path].append(r["vector"])
    for name, blobs in vectors.items():
        if blobs:
            files[name].vectors = np.frombuffer(b"".join(blobs), np.float16).reshape(len(blobs), -1).astype(np.float32)
    return list(files.values())


def pending_shards(folder: Path) -> list[Path]:
    """Committed shards in `folder` (temp files of an unfinished write are not shards), oldest name first."""
    return sorted(p for p in Path(folder).glob(f"*{SUFFIX}") if not p.name.startswith("."))


def merged_names(catalog: Catalog) -> set[str]:
    """Names of the shards already merged into `catalog`."""
    with catalog.transaction() as con:
        con.execute(_LEDGER)
        return {r[0] for r in con.execute("SELECT name FROM merged_shards").fetchall()}


def record_merged(con: duckdb.DuckDBPyConnection, name: str, files: int) -> None:
    """Inside a catalog transaction `con`: note that shard `name`, of `files` files, is merged."""
    con.execute(_LEDGER)
    con.execute("INSERT OR REPLACE INTO merged_shards VALUES (?, ?)", [name, files])


def shard_name(path: Path) -> str:
    """The name of the shard at `path` (its file name without the suffix)."""
    return path.name.removesuffix(SUFFIX)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
