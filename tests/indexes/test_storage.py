"""The storage layer on its own: real DuckDB files and FAISS indexes with seeded random vectors."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from indexes.catalog import Catalog, NewItem
from indexes.choose import choose_index_type
from indexes.errors import CatalogError, FilterError, IndexMismatchError, IndexNotFoundError
from indexes.faiss_store import FaissStore
from indexes.sql_filter import validate_where
from indexes.sync import sync_store


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _fill(catalog: Catalog, n: int, dim: int = 16) -> np.ndarray:
    catalog.ensure("test-model", dim, "test")
    vectors = _vectors(n, dim)
    items = [
        NewItem(
            path=f"/photos/{i:03d}.jpg",
            modality="image",
            kind="image",
            content_hash=f"h{i}",
            size=100 + i,
            mtime=1.0,
            width=10 * i,
            height=5,
        )
        for i in range(n)
    ]
    with catalog.transaction() as con:
        catalog.insert(con, items, vectors, "test-model")
    return vectors


def test_catalog_round_trip_and_generation(tmp_path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    vectors = _fill(catalog, 20)
    meta = catalog.meta()
    assert (meta.model_id, meta.dim, meta.generation) == ("test-model", 16, 1)
    ids, stored = catalog.vectors()
    assert list(ids) == list(range(1, 21))
    np.testing.assert_allclose(stored, vectors, atol=1e-3)  # float16 storage
    assert catalog.rows([3])[3]["path"] == "/photos/002.jpg"
    assert catalog.delete_paths(["/photos/000.jpg", "/photos/nothere.jpg"]) == 1
    assert catalog.meta().generation == 2 and catalog.counts() == {"image": 19}
    files = catalog.stored_files(["/photos"])
    assert len(files) == 19 and files["/photos/005.jpg"].content_hash == "h5"


def test_catalog_refuses_other_model(tmp_path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    _fill(catalog, 3)
    with pytest.raises(IndexMismatchError, match="built with model 'test-model'"):
        catalog.ensure("other-model", 16, "other")
    with pytest.raises(IndexMismatchError):
        catalog.ensure("test-model", 32, "test")


def test_missing_catalog(tmp_path) -> None:
    with pytest.raises(IndexNotFoundError):
        Catalog(tmp_path / "none" / "catalog.duckdb").meta()


def test_failed_transaction_leaves_catalog_unchanged(tmp_path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    _fill(catalog, 5)
    with pytest.raises(RuntimeError), catalog.transaction() as con:
        catalog.insert(con, [NewItem("/x.jpg", "image", "image", "hx", 1, 1.0)], _vectors(1), "test-model")
        raise RuntimeError("crash mid-batch")
    assert catalog.counts() == {"image": 5} and catalog.meta().generation == 1


def test_filter_ids_and_validation(tmp_path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    _fill(catalog, 10)
    assert list(catalog.filter_ids("width >= 50 AND path LIKE '%/00%'")) == [6, 7, 8, 9, 10]
    columns = frozenset({"width", "path"})
    for bad in ("width >= 1; DELETE FROM items", "width IN (SELECT 1)", "secret = 1", "", "width >"):
        with pytest.raises(FilterError):
            validate_where(bad, columns)


def test_faiss_store_search_remove_save_load(tmp_path) -> None:
    vectors = _vectors(200)
    ids = np.arange(1000, 1200)
    store = FaissStore.build("Flat", ids, vectors, generation=7)
    scores, found = store.search(vectors[:3], 1)
    assert list(found[:, 0]) == [1000, 1001, 1002]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    allowed = np.array([1100, 1150])
    _, only = store.search(vectors[:1], 5, allowed_ids=allowed)
    assert set(only[0][only[0] >= 0]) == {1100, 1150}
    assert store.remove(np.array([1000, 5])) == 1 and store.count == 199
    store.save(tmp_path / "v.faiss")
    loaded = FaissStore.load(tmp_path / "v.faiss")
    assert loaded is not None and loaded.count == 199 and loaded.generation == 7
    (tmp_path / "v.faiss").write_bytes(b"garbage")
    assert FaissStore.load(tmp_path / "v.faiss") is None  # corrupt derived file: rebuilt by the caller


def test_sync_rebuilds_stale_or_missing_file(tmp_path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    _fill(catalog, 30)
    path = tmp_path / "vectors.faiss"
    store = sync_store(catalog, path, "auto", save=True)
    assert store.count == 30 and path.exists()
    catalog.delete_paths(["/photos/001.jpg"])
    refreshed = sync_store(catalog, path, "auto", save=False)
    assert refreshed.count == 29 and refreshed.generation == catalog.meta().generation
    assert FaissStore.load(path).count == 30  # read-only sync did not write


def test_reads_share_a_connection_and_exists_then_meta_open_the_catalog_once(tmp_path, monkeypatch) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    _fill(catalog, 30)
    path = tmp_path / "vectors.faiss"
    sync_store(catalog, path, "auto", save=True)
    catalog.set_index_type("HNSW32")  # as if a run was killed between saving the file and recording its type
    sync_store(catalog, path, "auto", save=True)
    assert catalog.meta().index_type == "Flat"
    _fill(catalog, 1)  # one more item
    opened, connect = [], duckdb.connect

    def counted(database: str = ":memory:", **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.extend([database] if database == str(catalog.path) else [])
        return connect(database, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counted)
    assert sync_store(catalog, path, "auto", save=True).count == 31 and len(opened) == 2  # meta and ids, then the new
    again = Catalog(catalog.path)
    assert again.exists() and again.meta().index_type == "Flat" and len(opened) == 3  # each open costs 15-40 ms
    with again.reading():
        assert again.stored_files(["/photos"]) and again.ids().size == 31 and len(opened) == 4
        limits = "SELECT current_setting('memory_limit'), current_setting('threads')"
        before = again._reader.con.execute(limits).fetchone()
        assert len(again.filter_ids("width > 100")) == 19 and len(opened) == 5  # a user predicate gets its own
        assert again._reader.con.execute(limits).fetchone() == before  # and leaves the shared one its limits
        with pytest.raises(CatalogError, match=r"inside Catalog\.reading"):
            again.set_index_type("Flat")


def test_choose_index_type() -> None:
    assert choose_index_type(1000, 384) == "Flat"
    assert choose_index_type(1_000_000, 384).startswith("IVF")
