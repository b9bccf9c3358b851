"""FaissStore: the vector index (inner product on normalised vectors, ids = catalog ids).

It knows only vectors and integer ids. It is a derived file: `generation` records which
catalog state it reflects, and a stale or missing file is rebuilt from the catalog.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import faiss
import numpy as np

from indexes.atomic import atomic_path, atomic_write_text
from indexes.errors import IndexMismatchError

log = logging.getLogger(__name__)

TRAIN_SAMPLE = 100_000


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
            sample = vectors[rng.choice(len(vectors), min(len(vectors), TRAIN_SAMPLE), replace=False)]
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
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None, nprobe: int = 32
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the top `k` per query row, restricted to `allowed_ids` when given; -1 pads."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        selector = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64)) if allowed_ids is not None else None
        inner = faiss.downcast_index(self.index.index)
        if isinstance(inner, faiss.IndexIVF):
            params: faiss.SearchParameters = faiss.SearchParametersIVF(sel=selector, nprobe=min(nprobe, inner.nlist))
        else:
            params = faiss.SearchParameters(sel=selector)
        return self.index.search(queries, k, params=params)

    def save(self, path: Path) -> None:
        """Write the index atomically, then its sidecar JSON (generation, type, count)."""
        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        sidecar = {"generation": self.generation, "index_type": self.index_type, "count": self.count, "dim": self.dim}
        atomic_write_text(_sidecar(path), json.dumps(sidecar))

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


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")
