"""The DuckDB catalog: one row per indexed item, its float16 vector, and the index's metadata.

The catalog is the source of truth. Every batch of new items is committed in one
transaction together with its vectors and a bumped `generation`, so a killed run loses
at most the batch in flight; the FAISS index is a derived file that can always be
rebuilt from the vectors stored here. Connections are opened per operation so that a
query in another process can read between an indexer's commits.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from indexes import faults
from indexes.atomic import atomic_path
from indexes.errors import (
    CatalogError,
    CatalogVersionError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from indexes.migrations import SCHEMA_VERSION, migrate, stored_version
from indexes.sql_filter import validate_where
from indexes.writer_lock import writing

LOCK_TIMEOUT_S = 60.0
FILTER_TIMEOUT_S = 1.0
FILTER_MEMORY_LIMIT = "256MB"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id           BIGINT PRIMARY KEY,
    path         VARCHAR NOT NULL,
    part         INTEGER NOT NULL,
    modality     VARCHAR NOT NULL,
    kind         VARCHAR,
    content_hash VARCHAR NOT NULL,
    size         BIGINT,
    mtime        DOUBLE,
    width        INTEGER,
    height       INTEGER,
    start_s      DOUBLE,
    end_s        DOUBLE,
    text         VARCHAR,
    ref          VARCHAR,
    added_at     TIMESTAMP NOT NULL,
    model_id     VARCHAR NOT NULL,
    vector       BLOB NOT NULL,
    taken_at     TIMESTAMP,
    taken_offset VARCHAR,
    camera_make  VARCHAR,
    camera_model VARCHAR,
    gps_lat      DOUBLE,
    gps_lon      DOUBLE,
    language     VARCHAR,
    duration_s   DOUBLE,
    fps          DOUBLE,
    codec        VARCHAR,
    rotation     INTEGER
);
"""

ITEM_COLUMNS: tuple[str, ...] = (
    "id",
    "path",
    "part",
    "modality",
    "kind",
    "content_hash",
    "size",
    "mtime",
    "width",
    "height",
    "start_s",
    "end_s",
    "text",
    "ref",
    "added_at",
    "model_id",
    "taken_at",
    "taken_offset",
    "camera_make",
    "camera_model",
    "gps_lat",
    "gps_lon",
    "language",
    "duration_s",
    "fps",
    "codec",
    "rotation",
)
"""Columns a user sees in results and may use in `--where` (the vector blob is internal)."""

_INSERT_COLUMNS = ITEM_COLUMNS + ("vector",)
_ITEM_FIELDS = tuple(c for c in ITEM_COLUMNS if c not in ("id", "added_at", "model_id"))
"""The columns a NewItem carries."""
_COLUMN_TYPES = dict(re.findall(r"^\s+(\w+)\s+([A-Z]+)", _SCHEMA.split("CREATE TABLE IF NOT EXISTS items")[1], re.M))
"""Column -> SQL type of `items`, as `_SCHEMA` declares them (migrations bring older catalogs to the same)."""


@dataclass(frozen=True)
class NewItem:
    """An embedded item ready to be written (its id is assigned by the catalog)."""

    path: str
    modality: str
    """The file's modality (what `--modality` filters on)."""
    kind: str
    """What the item is within its file: image, caption, window (audio), transcript, shot (video)."""
    content_hash: str
    size: int
    mtime: float
    part: int = 0
    width: int | None = None
    height: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    text: str | None = None
    ref: str | None = None
    taken_at: datetime.datetime | None = None
    taken_offset: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    language: str | None = None
    """A transcript's language code."""
    duration_s: float | None = None
    """Length of an audio or video file."""
    fps: float | None = None
    codec: str | None = None
    rotation: int | None = None
    """A video's display rotation in degrees."""


@dataclass(frozen=True)
class StoredFile:
    """What the catalog remembers about one file (for incremental indexing)."""

    path: str
    size: int
    mtime: float
    content_hash: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class IndexMeta:
    """Which model built the index, its dimension, and the FAISS index description."""

    model_id: str
    dim: int
    index_type: str | None
    """The FAISS factory string of the built index; None until one is built."""
    generation: int
    created_at: str
    model_name: str
    """The name the model was loaded by (e.g. 'lite', a fine-tune folder); used to reload it."""


class Catalog:
    """DuckDB catalog file at `path` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._meta: IndexMeta | None = None
        self._meta_signature: tuple[tuple[int, int], ...] = ()
        self._reader = threading.local()

    # -- connections -------------------------------------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Serve this thread's reads inside from one read-only connection (inside another `reading`, from that
        one's): each open costs 15-40 ms, as DuckDB starts a database, and a run reads several things at once.
        Other readers share the file meanwhile; a write inside is refused (DuckDB cannot open the file for
        writing in a process that has it open read-only), and a user predicate (`filter_ids`) opens its own, so that
        its interrupt stops only it."""
        if getattr(self._reader, "con", None) is not None:
            yield
            return
        with self._connect(read_only=True) as con:
            self._reader.con = con
            try:
                yield
            finally:
                self._reader.con = None

    @contextlib.contextmanager
    def _connect(self, read_only: bool, may_share: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A new connection, closed afterwards; for a read where `may_share`, the one `reading` holds."""
        shared = getattr(self._reader, "con", None)
        if shared is not None:
            if not read_only:
                raise CatalogError(f"cannot write catalog {self.path} inside Catalog.reading()")
            if may_share:
                yield shared
                return
        if read_only and not self.path.exists():
            raise IndexNotFoundError(f"no index at {self.path.parent} (run `mmsearch index PATH` first)")
        config: dict[str, str | bool | int | float | list[str]] = {"enable_external_access": False} if read_only else {}
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only, config=config)
                break
            except duckdb.Error as err:
                if not (isinstance(err, duckdb.IOException) and "lock" in str(err).lower()):
                    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
                    raise CatalogError(f"cannot open catalog {self.path}: {reason}") from err
                if time.monotonic() > deadline:
                    raise IndexLockedError(f"catalog {self.path} is locked by another process") from err
                time.sleep(delay)
                delay = min(delay * 1.5, 0.25)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction: committed on success, rolled back on any exception; a DuckDB error (a full
        disk, say) becomes a CatalogError with one line."""
        with self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                faults.reach("commit")
                con.execute("COMMIT")
            except BaseException as err:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                    con.execute("ROLLBACK")
                if isinstance(err, duckdb.Error):
                    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
                    raise CatalogError(f"cannot write catalog {self.path}: {reason}") from err
                raise

    # -- metadata ----------------------------------------------------------
    def exists(self) -> bool:
        """Whether the catalog holds an index (a file left by a run killed while creating it does not). A current
        one's metadata is read in the same connection and cached (`meta`), so the usual `exists` then `meta`
        opens the database once."""
        if not self.path.exists():
            return False
        signature = self._signature()
        if self._meta is not None and signature == self._meta_signature:
            return True
        with self._connect(read_only=True) as con:
            version = stored_version(con)
            if version == SCHEMA_VERSION:
                self._meta, self._meta_signature = _meta_from_dict(_read_meta(con), self.path), signature
        return version is not None

    def ensure(self, model_id: str, dim: int, model_name: str) -> IndexMeta:
        """Create the catalog for `model_id`/`dim`, or check that the existing one matches.

        The FAISS index type is recorded later, by the first sync that builds the index.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with writing(self.path.parent), self.transaction() as con:
            con.execute(_SCHEMA)
            meta = _read_meta(con)
            if not meta:
                created = time.strftime("%Y-%m-%dT%H:%M:%S")
                con.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("model_id", model_id),
                        ("dim", str(dim)),
                        ("generation", "0"),
                        ("created_at", created),
                        ("model_name", model_name),
                    ],
                )
                meta = _read_meta(con)
        found = _meta_from_dict(meta, self.path)
        check_compatible(found, model_id, dim, self.path)
        return found

    def upgrade(self) -> bool:
        """Migrate a catalog written by an older mmsearch in place; True when it was migrated.

        The old file is copied to `<catalog>.pre-migration` first and removed only once the
        migration has committed, so a crash at any point leaves a catalog that opens.
        """
        backup = self.path.with_name(self.path.name + ".pre-migration")
        if not self.exists():
            return False
        with self._connect(read_only=True) as con:  # the usual case, current: no write lock taken
            version = stored_version(con)
        migrating = version is not None and version < SCHEMA_VERSION
        if version is not None and version > SCHEMA_VERSION:
            raise CatalogVersionError(_newer_message(self.path, version))
        if migrating:
            with self._connect(read_only=False) as con:
                version = stored_version(con)  # another process may have migrated it meanwhile
                if version is not None and version < SCHEMA_VERSION:
                    con.execute("CHECKPOINT")
                    with atomic_path(backup) as tmp:
                        shutil.copyfile(self.path, tmp)
                    con.execute("BEGIN TRANSACTION")
                    try:
                        migrate(con, version)
                    except BaseException:
                        con.execute("ROLLBACK")
                        raise
                    con.execute("COMMIT")
                    con.execute("CHECKPOINT")
        backup.unlink(missing_ok=True)
        return migrating

    def meta(self) -> IndexMeta:
        """The index metadata; raises IndexNotFoundError when there is no catalog.

        Cached while the catalog file and its write-ahead log are untouched, so repeated
        queries do not reopen the database just to learn that nothing changed.
        """
        signature = self._signature()
        if self._meta is None or signature != self._meta_signature:
            with self._connect(read_only=True) as con:
                self._meta = _meta_from_dict(_read_meta(con), self.path)
            self._meta_signature = signature
        return self._meta

    def _signature(self) -> tuple[tuple[int, int], ...]:
        stats = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                stat = path.stat()
                stats.append((stat.st_mtime_ns, stat.st_size))
            except OSError:  # missing, or its folder is not a folder
                stats.append((0, 0))
        return tuple(stats)

    def set_index_type(self, index_type: str) -> None:
        """Record the FAISS index description chosen for this collection."""
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('index_type', ?)", [index_type])

    # -- incremental bookkeeping -------------------------------------------
    def stored_files(self, prefixes: Sequence[str]) -> dict[str, StoredFile]:
        """Files stored under any of `prefixes` (folders or exact files), keyed by path."""
        if not prefixes or not self.exists():
            return {}
        clauses = " OR ".join(["path = ? OR starts_with(path, ?)"] * len(prefixes))
        params: list[Any] = []
        for prefix in prefixes:
            params += [prefix, prefix.rstrip("/") + "/"]
        with self._connect(read_only=True) as con:
            rows = con.execute(
                f"SELECT path, any_value(size), any_value(mtime), any_value(content_hash), list(id ORDER BY part) "
                f"FROM items WHERE {clauses} GROUP BY path",
                params,
            ).fetchall()
        return {r[0]: StoredFile(r[0], r[1], r[2], r[3], tuple(r[4])) for r in rows}

    def hash_owners(self, con: duckdb.DuckDBPyConnection, hashes: Sequence[str]) -> dict[str, str]:
        """Inside transaction `con`: content hash -> a path already stored with that content."""
        if not hashes:
            return {}
        rows = con.execute(
            "SELECT content_hash, min(path) FROM items WHERE list_contains(?, content_hash) GROUP BY content_hash",
            [list(hashes)],
        ).fetchall()
        return dict(rows)

    def insert(
        self, con: duckdb.DuckDBPyConnection, items: Sequence[NewItem], vectors: np.ndarray, model_id: str
    ) -> list[int]:
        """Inside transaction `con`: insert `items` with their vectors; returns the new ids."""
        start = _scalar(con, "SELECT coalesce(max(id), 0) + 1 FROM items")
        ids = list(range(start, start + len(items)))
        blobs = np.asarray(vectors, dtype=np.float16)
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        if not items:
            return ids
        columns = {
            "id": ids,
            "added_at": [now] * len(items),
            "model_id": [model_id] * len(items),
            "vector": [blob.tobytes() for blob in blobs],
            **{c: [getattr(item, c) for item in items] for c in _ITEM_FIELDS},
        }
        # One statement per batch: each column goes in as one typed list, and the lists are unnested side by
        # side into rows (35x faster than a prepared INSERT per row: 4,000 captions took 16 s that way).
        unnested = ", ".join(f"unnest(?::{_COLUMN_TYPES[c]}[])" for c in _INSERT_COLUMNS)
        con.execute(
            f"INSERT INTO items ({', '.join(_INSERT_COLUMNS)}) SELECT {unnested}", [columns[c] for c in _INSERT_COLUMNS]
        )
        _bump_generation(con)
        return ids

    def delete(self, con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> int:
        """Inside transaction `con`: remove every row of `paths`; returns how many files had rows."""
        if not paths:
            return 0
        found = _scalar(con, "SELECT count(DISTINCT path) FROM items WHERE list_contains(?, path)", [list(paths)])
        if found:
            con.execute("DELETE FROM items WHERE list_contains(?, path)", [list(paths)])
            _bump_generation(con)
        return found

    def update_facts(
        self, con: duckdb.DuckDBPyConnection, old_path: str, new_path: str, size: int, mtime: float
    ) -> None:
        """Inside transaction `con`: record a new path, size and mtime for unchanged content."""
        con.execute(
            "UPDATE items SET path = ?, size = ?, mtime = ?, ref = CASE WHEN ref = path THEN ? ELSE ref END "
            "WHERE path = ?",
            [new_path, size, mtime, new_path, old_path],
        )
        _bump_generation(con)

    def rebase(self, old: str, new: str) -> int:
        """Store the files under folder (or file) `old` by their paths under `new`, holding the writer lock:
        a root once indexed through a link, now stored by its real path. A file stored under both keeps its
        rows under `new`. Returns how many files moved."""
        if not self.exists():
            return 0
        with writing(self.path.parent), self.transaction() as con:
            under = "(path = ? OR starts_with(path, ?))"
            prefix = [old, old.rstrip("/") + "/"]
            paths = [r[0] for r in con.execute(f"SELECT DISTINCT path FROM items WHERE {under}", prefix).fetchall()]
            if not paths:
                return 0
            targets = {new + p[len(old) :]: p for p in paths}
            taken = con.execute("SELECT DISTINCT path FROM items WHERE list_contains(?, path)", [list(targets)])
            self.delete(con, [targets[t] for (t,) in taken.fetchall()])
            tail = f"? || substr(path, {len(old) + 1})"
            con.execute(
                f"UPDATE items SET path = {tail}, ref = CASE WHEN ref = path THEN {tail} ELSE ref END WHERE {under}",
                [new, new, *prefix],
            )
            _bump_generation(con)
            return len(paths)

    def delete_paths(self, paths: Sequence[str]) -> int:
        """Remove every row of `paths` in one transaction, holding the index's writer lock; returns how many
        files were removed."""
        if not paths:
            return 0
        with writing(self.path.parent), self.transaction() as con:
            return self.delete(con, paths)

    # -- reading -----------------------------------------------------------
    def vectors(self, ids: "Sequence[int] | np.ndarray | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, vectors float32) for `ids`, or for every item when `ids` is None."""
        with self._connect(read_only=True) as con:
            if ids is None:
                rows = con.execute("SELECT id, vector FROM items ORDER BY id").fetchall()
            else:
                rows = con.execute(
                    "SELECT id, vector FROM items WHERE list_contains(?, id) ORDER BY id", [_id_list(ids)]
                ).fetchall()
        dim = self.meta().dim if not rows else len(rows[0][1]) // 2
        out_ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), dim)
        return out_ids, vecs.astype(np.float32)

    def ids(self) -> np.ndarray:
        """Every item id, sorted."""
        with self._connect(read_only=True) as con:
            return np.array([r[0] for r in con.execute("SELECT id FROM items ORDER BY id").fetchall()], dtype=np.int64)

    def rows(self, ids: "Sequence[int] | np.ndarray") -> dict[int, dict[str, Any]]:
        """Catalog rows (without vectors) keyed by id."""
        if not len(ids):
            return {}
        cols = ", ".join(ITEM_COLUMNS)
        with self._connect(read_only=True) as con:
            cur = con.execute(f"SELECT {cols} FROM items WHERE list_contains(?, id)", [_id_list(ids)])
            return {row[0]: dict(zip(ITEM_COLUMNS, row)) for row in cur.fetchall()}

    def filter_ids(self, where: str) -> np.ndarray:
        """Ids of items matching a validated user predicate (read-only, no external access).

        The predicate runs bounded: functions whose cost does not depend on the data are
        refused, DuckDB gets FILTER_MEMORY_LIMIT and one thread, and the query is interrupted
        FILTER_TIMEOUT_S after this call began. Each way out is a FilterError with one clear line.
        """
        from indexes.errors import FilterError

        deadline = time.monotonic() + FILTER_TIMEOUT_S
        predicate = validate_where(where, frozenset(ITEM_COLUMNS))
        sql = f"SELECT id FROM items WHERE ({predicate})"
        with self._connect(read_only=True, may_share=False) as con:  # its own, for `interrupt`; the limits are reset
            con.execute(f"SET memory_limit = '{FILTER_MEMORY_LIMIT}'")
            con.execute("SET threads = 1")
            timer = threading.Timer(max(0.05, deadline - time.monotonic()), con.interrupt)
            timer.start()
            try:
                rows = con.execute(sql).fetchall()
            except duckdb.InterruptException as err:
                raise FilterError(f"--where predicate took longer than {FILTER_TIMEOUT_S:g} s; simplify it") from err
            except duckdb.OutOfMemoryException as err:
                raise FilterError(f"--where predicate needs more than {FILTER_MEMORY_LIMIT} of memory") from err
            except duckdb.Error as err:
                raise FilterError(f"invalid --where predicate: {str(err).splitlines()[0]}") from err
            finally:
                timer.cancel()
                with contextlib.suppress(duckdb.Error):  # the database's: inside `reading`, its connection's too
                    con.execute("RESET memory_limit")
                    con.execute("RESET threads")
        return np.array([r[0] for r in rows], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Number of items per modality."""
        with self._connect(read_only=True) as con:
            return dict(con.execute("SELECT modality, count(*) FROM items GROUP BY modality").fetchall())

    def file_count(self) -> int:
        """Number of distinct source files."""
        with self._connect(read_only=True) as con:
            return int(_scalar(con, "SELECT count(DISTINCT path) FROM items"))


def check_compatible(meta: IndexMeta, model_id: str, dim: int, where: Path) -> None:
    """Raise IndexMismatchError unless the index was built by `model_id` with `dim`."""
    if meta.model_id != model_id or meta.dim != dim:
        raise IndexMismatchError(
            f"index at {where.parent} was built with model {meta.model_id!r} (dim {meta.dim}), "
            f"not {model_id!r} (dim {dim}); use --model {meta.model_name} or another --db"
        )


def _read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    except duckdb.CatalogException:
        return {}


def _meta_from_dict(meta: dict[str, str], path: Path) -> IndexMeta:
    if not meta:
        raise IndexNotFoundError(f"no index at {path.parent} (run `mmsearch index PATH` first)")
    version = int(meta["schema_version"])
    if version > SCHEMA_VERSION:
        raise CatalogVersionError(_newer_message(path, version))
    if version < SCHEMA_VERSION:
        raise CatalogVersionError(
            f"catalog {path} has schema version {version}; open it with `mmsearch info` to upgrade it"
        )
    return IndexMeta(
        meta["model_id"],
        int(meta["dim"]),
        meta.get("index_type"),
        int(meta["generation"]),
        meta["created_at"],
        meta["model_name"],
    )


def _newer_message(path: Path, version: int) -> str:
    return f"catalog {path} has schema version {version}, newer than this mmsearch ({SCHEMA_VERSION}); upgrade mmsearch"


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The single value a one-row, one-column query returns."""
    row = con.execute(sql, list(params)).fetchone()
    if row is None:
        raise CatalogError(f"query returned no row: {sql}")
    return row[0]


def _id_list(ids: "Sequence[int] | np.ndarray") -> list[int]:
    """`ids` as Python ints, without those no BIGINT id can have (an id from a URL may be any integer)."""
    return [int(i) for i in ids if -(2**63) <= int(i) < 2**63]


def _bump_generation(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'generation'")
