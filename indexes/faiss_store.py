"""FaissStore: the vector index (inner product on normalised vectors, ids = catalog ids).

It knows only vectors and integer ids. It is a derived file: `generation` records which
catalog state it reflects, and a stale or missing file is rebuilt from the catalog.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np

from indexes.atomic import atomic_path, atomic_write_text
from indexes.choose import train_sample_size
from indexes.errors import IndexMismatchError, IndexWriteError

log = logging.getLogger(__name__)

NPROBE = 32
"""IVF lists scanned per query (recall@10 1.000 at 1M vectors with 2,048 lists, see docs/benchmarks.md)."""

EF_SEARCH = 64
"""HNSW candidate-list size per query (raised to k when k is larger)."""

K_FACTOR = 100
"""A `Refine` index re-ranks k · K_FACTOR candidates exactly (10 gave recall@10 0.63 at 1M, 100 gave 0.995)."""


class FaissStore:
    """An `IndexIDMap2` over any FAISS factory string, with atomic save and generation tag."""

    def __init__(self, index: faiss.Index, index_type: str, generation: int = -1) -> None:
        self.index = index
        self.index_type = index_type
        self.generation = generation

    @classmethod
    def build(cls, index_type: str, ids: np.ndarray, vectors: np.ndarray, generation: int) -> "FaissStore":
        """Create an index of `index_type` over `vectors`, training it on a sample when needed."""
        dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[0] else None
        if dim is None:
            raise ValueError("build needs at least one vector to know the dimension")
        try:
            inner = faiss.index_factory(dim, index_type, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as err:
            raise IndexMismatchError(f"invalid FAISS index type {index_type!r}: {err}") from err
        store = cls(faiss.IndexIDMap2(inner), index_type, generation)
        if not inner.is_trained:
            rng = np.random.default_rng(0)
            size = train_sample_size(index_type, len(vectors))
            sample = vectors[np.sort(rng.choice(len(vectors), size, replace=False))]
            inner.train(np.ascontiguousarray(sample, dtype=np.float32))
        store.add(ids, vectors)
        return store

    @property
    def count(self) -> int:
        """Number of stored vectors."""
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.index.d)

    def ids(self) -> np.ndarray:
        """The catalog ids of the stored vectors (int64, in insertion order)."""
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under catalog ids."""
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; returns how many were removed."""
        if not len(ids):
            return 0
        return int(self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))))

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None, nprobe: int = NPROBE
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the top `k` per query row, restricted to `allowed_ids` when given; -1 pads."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        allowed = translated = None
        if allowed_ids is not None:
            allowed = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
            translated = faiss.IDSelectorTranslated(self.index.id_map, allowed)  # for nested parameters
        params = _search_params(self.index.index, translated, k, nprobe)
        params.sel = allowed  # IndexIDMap2 translates the outermost selector itself
        with _one_thread() if len(queries) == 1 else contextlib.nullcontext():
            return self.index.search(queries, k, params=params)

    def save(self, path: Path) -> None:
        """Write the index atomically, then its sidecar JSON (generation, type, count); IndexWriteError with
        one line (the old files left in place) when the disk refuses."""
        sidecar = {"generation": self.generation, "index_type": self.index_type, "count": self.count, "dim": self.dim}
        try:
            with atomic_path(path) as tmp:
                faiss.write_index(self.index, str(tmp))
            atomic_write_text(_sidecar(path), json.dumps(sidecar))
        except (OSError, RuntimeError) as err:
            reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            raise IndexWriteError(f"cannot write {path}: {reason}") from err

    @classmethod
    def load(cls, path: Path) -> "FaissStore | None":
        """Load a saved index, or None when it is missing."""
        if not path.exists() or not _sidecar(path).exists():
            return None
        try:
            sidecar = json.loads(_sidecar(path).read_text())
            index = faiss.read_index(str(path))
        except (RuntimeError, ValueError, OSError, KeyError) as err:
            log.warning("cannot read %s (%s); it will be rebuilt from the catalog", path, err)
            return None
        return cls(index, sidecar["index_type"], int(sidecar["generation"]))


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run FAISS single-threaded in the calling thread (OpenMP's thread count is per thread).

    One query gains nothing from a thread team, and waking one on a busy CPU costs ~10 ms.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _search_params(
    index: faiss.Index, selector: faiss.IDSelector | None, k: int, nprobe: int
) -> faiss.SearchParameters:
    """Search parameters for `index` and, recursively, the indexes it wraps."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexRefine):
        base = _search_params(index.base_index, selector, k * K_FACTOR, nprobe)
        return faiss.IndexRefineSearchParameters(sel=selector, k_factor=K_FACTOR, base_index_params=base)
    if isinstance(index, faiss.IndexPreTransform):
        inner = _search_params(index.index, selector, k, nprobe)
        return faiss.SearchParametersPreTransform(sel=selector, index_params=inner)
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=min(nprobe, index.nlist))
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(EF_SEARCH, k))
    return faiss.SearchParameters(sel=selector)


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")
