"""An IVF index built from catalog chunks with on-disk inverted lists answers as the in-memory IVF does."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from indexes.catalog import Catalog, NewItem
from indexes.faiss_store import FaissStore
from indexes.ondisk import build_on_disk, catalog_chunks, is_on_disk, sync_on_disk
from indexes.sync import sync_store

DIM, COUNT, TYPE = 32, 600, "IVF4,Flat"


@pytest.fixture(scope="module")
def catalog_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog of COUNT seeded random unit vectors (copied by a test that changes it)."""
    folder = tmp_path_factory.mktemp("ondisk")
    catalog = Catalog(folder / "catalog.duckdb")
    catalog.ensure("test-model", DIM, "test")
    vectors = np.random.default_rng(7).standard_normal((COUNT, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = [NewItem(f"/x/{n}.jpg", "image", "image", f"h{n}", 1, 0.0) for n in range(COUNT)]
    with catalog.transaction() as con:
        catalog.insert(con, items, vectors, "test-model")
    return folder


def test_on_disk_ivf_from_chunks_answers_as_the_in_memory_ivf(catalog_folder: Path, tmp_path: Path) -> None:
    catalog = Catalog(catalog_folder / "catalog.duckdb")
    ids, vectors = catalog.vectors()
    in_memory = FaissStore.build(TYPE, ids, vectors, generation=0)
    chunks = list(catalog_chunks(catalog, size=200))
    assert len(chunks) == 3
    on_disk = build_on_disk(TYPE, iter(chunks), vectors, tmp_path / "lists.ivfdata", generation=0)
    assert is_on_disk(on_disk.index) and not is_on_disk(in_memory.index)

    queries = vectors[::30] + 0.05
    expected_scores, expected_ids = in_memory.search(queries, 10, nprobe=4)
    scores, found = on_disk.search(queries, 10, nprobe=4)
    np.testing.assert_array_equal(found, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
    allowed = ids[::3]
    np.testing.assert_array_equal(
        on_disk.search(queries, 5, allowed, nprobe=4)[1], in_memory.search(queries, 5, allowed, nprobe=4)[1]
    )


def test_saved_on_disk_index_maps_its_lists_and_is_rebuilt_not_edited(catalog_folder: Path, tmp_path: Path) -> None:
    shutil.copytree(catalog_folder, tmp_path, dirs_exist_ok=True)
    catalog = Catalog(tmp_path / "catalog.duckdb")
    path = tmp_path / "vectors.faiss"
    built = sync_on_disk(catalog, path, TYPE)
    assert built is not None and is_on_disk(built.index)
    lists = list(tmp_path.glob("vectors.faiss.*.ivfdata"))
    assert len(lists) == 1

    loaded = FaissStore.load(path)
    assert loaded is not None and is_on_disk(loaded.index) and loaded.count == COUNT
    query = catalog.vectors([42])[1]
    assert loaded.search(query, 1)[1][0][0] == 42

    before = lists[0].read_bytes()
    catalog.delete_paths(["/x/42.jpg"])
    synced = sync_store(catalog, path, TYPE, save=False)
    assert synced is not None and synced.count == COUNT - 1 and not is_on_disk(synced.index)
    assert lists[0].read_bytes() == before and FaissStore.load(path).count == COUNT  # type: ignore[union-attr]
