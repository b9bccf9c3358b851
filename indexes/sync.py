"""Keep the derived FAISS file in step with the catalog (the source of truth)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from indexes.atomic import remove_stale_temps
from indexes.catalog import Catalog
from indexes.choose import choose_index_type, min_train_size
from indexes.faiss_store import FaissStore
from indexes.writer_lock import writing

log = logging.getLogger(__name__)

AUTO = "auto"


def desired_index_type(requested: str, n_vectors: int, dim: int) -> str:
    """The factory string to use: `requested`, or the size-based choice for 'auto'.

    A trained type asked for on too few vectors falls back to exact search until it can be trained.
    """
    if requested == AUTO:
        return choose_index_type(n_vectors, dim)
    return requested if n_vectors >= min_train_size(requested) else "Flat"


def sync_store(catalog: Catalog, path: Path, requested: str, save: bool) -> FaissStore | None:
    """Return a FaissStore matching the catalog's current generation, updating or rebuilding it.

    With `save`, the result is written atomically to `path` under the index's writer lock (temp files
    of a killed earlier write are removed first). Returns None for an empty catalog.
    """
    if save:
        with writing(catalog.path.parent):
            for derived in (path, path.with_suffix(".json")):
                remove_stale_temps(derived)
            return _sync(catalog, path, requested, save)
    return _sync(catalog, path, requested, save)


def _sync(catalog: Catalog, path: Path, requested: str, save: bool) -> FaissStore | None:
    with catalog.reading():  # one open for both
        meta, ids = catalog.meta(), catalog.ids()
    if not len(ids):
        return None
    wanted = desired_index_type(requested, len(ids), meta.dim)
    store = FaissStore.load(path)
    if store and store.generation == meta.generation and store.index_type == wanted and store.count == len(ids):
        if save and wanted != meta.index_type:  # a run killed between saving the file and recording its type
            catalog.set_index_type(wanted)
        return store
    if store and store.index_type == wanted and store.dim == meta.dim and not _on_disk(store):
        _apply_diff(catalog, store, ids)
    else:
        log.info("building %s index over %d vectors", wanted, len(ids))
        ids, vectors = catalog.vectors()
        store = FaissStore.build(wanted, ids, vectors, meta.generation)
    store.generation = meta.generation
    if save:
        store.save(path)
        if wanted != meta.index_type:
            catalog.set_index_type(wanted)
    return store


def _on_disk(store: FaissStore) -> bool:
    """Lists on disk are rebuilt, never edited in place (the index file in use maps them)."""
    from indexes.ondisk import is_on_disk

    return is_on_disk(store.index)


def _apply_diff(catalog: Catalog, store: FaissStore, ids: np.ndarray) -> None:
    stored_ids = store.ids()
    stale = np.setdiff1d(stored_ids, ids, assume_unique=True)
    fresh = np.setdiff1d(ids, stored_ids, assume_unique=True)
    store.remove(stale)
    if len(fresh):
        fresh_ids, vectors = catalog.vectors(fresh)
        store.add(fresh_ids, vectors)
