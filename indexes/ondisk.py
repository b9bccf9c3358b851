"""IVF indexes built in chunks, with their inverted lists in a file on disk (mapped at query time).

For collections larger than RAM: the coarse quantizer (and PQ, if any) is trained on a sample, each chunk
of catalog vectors is added to its own copy of the trained index and written out, and
`faiss.contrib.ondisk.merge_ondisk` joins the chunks' lists into one `OnDiskInvertedLists` file. At no
point are all vectors in memory. The lists file carries the catalog generation in its name, so the index
file in use never points at a lists file being rewritten; older lists files go once the new index is saved.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import faiss
import numpy as np
from faiss.contrib.ondisk import merge_ondisk

from indexes.catalog import Catalog
from indexes.choose import train_sample_size
from indexes.errors import IndexMismatchError
from indexes.faiss_store import FaissStore
from indexes.sync import desired_index_type, sync_store
from indexes.writer_lock import writing

log = logging.getLogger(__name__)

CHUNK_ITEMS = 65_536
"""Vectors read from the catalog and added at a time."""
LISTS_SUFFIX = ".ivfdata"


def is_on_disk(index: faiss.Index) -> bool:
    """Whether `index` (or the IVF index inside it) keeps its inverted lists on disk."""
    inner = index.index if isinstance(index, faiss.IndexIDMap2) else index
    try:
        ivf = faiss.extract_index_ivf(inner)
    except RuntimeError:
        return False
    return isinstance(faiss.downcast_InvertedLists(ivf.invlists), faiss.OnDiskInvertedLists)


def catalog_chunks(catalog: Catalog, size: int = CHUNK_ITEMS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, float32 vectors) of every catalog item, `size` at a time in id order."""
    last = -(2**63)
    while True:
        con = duckdb.connect(str(catalog.path), read_only=True)
        try:
            rows = con.execute("SELECT id, vector FROM items WHERE id > ? ORDER BY id LIMIT ?", [last, size]).fetchall()
        finally:
            con.close()
        if not rows:
            return
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(len(rows), -1)
        yield ids, vectors.astype(np.float32)
        last = int(ids[-1])


def build_on_disk(
    index_type: str,
    chunks: Iterator[tuple[np.ndarray, np.ndarray]],
    sample: np.ndarray,
    lists_path: Path,
    generation: int,
) -> FaissStore:
    """An IVF index of `index_type` trained on `sample`, holding every chunk's vectors under their ids, its
    lists in `lists_path`. The training sample is what `FaissStore.build` would draw, so the result answers
    as the in-memory index over the same vectors does."""
    dim = sample.shape[1]
    trained = faiss.index_factory(dim, index_type, faiss.METRIC_INNER_PRODUCT)
    try:
        faiss.extract_index_ivf(trained)
    except RuntimeError as err:
        raise IndexMismatchError(f"on-disk lists need an IVF index type, not {index_type!r}") from err
    if not isinstance(trained, faiss.IndexIVF):
        raise IndexMismatchError(f"on-disk lists need a plain IVF index type (e.g. IVF1024,Flat), not {index_type!r}")
    trained.train(np.ascontiguousarray(sample, dtype=np.float32))
    all_ids: list[np.ndarray] = []
    with tempfile.TemporaryDirectory(prefix=".chunks.", dir=lists_path.parent) as scratch:
        parts = []
        for n, (ids, vectors) in enumerate(chunks):
            part = faiss.clone_index(trained)
            offset = sum(len(i) for i in all_ids)
            part.add_with_ids(np.ascontiguousarray(vectors), np.arange(offset, offset + len(ids), dtype=np.int64))
            parts.append(str(Path(scratch) / f"part{n}.index"))
            faiss.write_index(part, parts[-1])
            all_ids.append(ids)
            del part
        wrapped = faiss.IndexIDMap2(trained)  # FAISS wraps only an empty index
        lists_path.unlink(missing_ok=True)
        with _stdout_to_stderr():
            merge_ondisk(trained, parts, str(lists_path))
    log.info("built %s over %d vectors in %d chunks, lists in %s", index_type, trained.ntotal, len(parts), lists_path)
    faiss.copy_array_to_vector(np.concatenate(all_ids) if all_ids else np.zeros(0, np.int64), wrapped.id_map)
    wrapped.ntotal = trained.ntotal
    wrapped.construct_rev_map()
    return FaissStore(wrapped, index_type, generation)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what C code prints to stdout to stderr instead (FAISS prints a line while sizing the lists file,
    which would break `--json` output)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def sync_on_disk(catalog: Catalog, path: Path, requested: str) -> FaissStore | None:
    """Like `indexes.sync.sync_store` with `save`, but an IVF index is rebuilt in chunks with its lists on disk
    beside `path` (a type without IVF lists is built as usual); None for an empty catalog."""
    with writing(catalog.path.parent):
        meta = catalog.meta()
        ids = catalog.ids()
        wanted = desired_index_type(requested, len(ids), meta.dim)
        if not len(ids) or "IVF" not in wanted:
            return sync_store(catalog, path, requested, save=True)
        store = FaissStore.load(path)
        if store and store.generation == meta.generation and store.index_type == wanted and is_on_disk(store.index):
            return store
        positions = np.random.default_rng(0).choice(len(ids), train_sample_size(wanted, len(ids)), replace=False)
        _, sample = catalog.vectors(ids[np.sort(positions)])
        lists = path.with_name(f"{path.name}.{meta.generation}{LISTS_SUFFIX}")
        store = build_on_disk(wanted, catalog_chunks(catalog), sample, lists, meta.generation)
        store.save(path)
        for old in path.parent.glob(f"{path.name}.*{LISTS_SUFFIX}"):
            if old != lists:
                old.unlink(missing_ok=True)
        if wanted != meta.index_type:
            catalog.set_index_type(wanted)
        return store
