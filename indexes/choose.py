"""Pick a FAISS index description (factory string) from the collection size.

Three tiers, measured on a 2-core CPU in `benchmarks/bench_search.py` (see docs/benchmarks.md):

* up to `EXACT_LIMIT` vectors: `Flat`, an exact scan (a few ms per query, nothing to train);
* above it: `IVF{nlist},Flat` with nlist ≈ 2·√n lists (a power of two), probed `nprobe` at a time;
* once float32 vectors would pass `COMPRESS_BYTES`: 4-bit fast-scan PQ codes inside the IVF lists
  (2 bits per dimension; 1 bit per dimension lost recall), always re-ranked exactly from a float16
  copy (`Refine(SQfp16)`): about half the memory of Flat.
"""

from __future__ import annotations

import math
import re

EXACT_LIMIT = 50_000
"""Up to this many vectors an exact flat scan is fast enough and loses nothing."""

COMPRESS_BYTES = 4 << 30
"""Above this many bytes of float32 vectors, store PQ codes plus a float16 re-rank copy."""

TRAIN_PER_LIST = 64
"""k-means training points per IVF list (FAISS needs at least 39 for stable centroids)."""

MIN_PER_LIST = 30
"""Fewest training points per IVF list before an IVF index is built at all."""


def ivf_lists(n_vectors: int) -> int:
    """Number of IVF lists for `n_vectors`: the power of two nearest 2·√n, at least 256."""
    return 1 << max(8, round(math.log2(2 * math.sqrt(max(n_vectors, 1)))))


def choose_index_type(n_vectors: int, dim: int) -> str:
    """FAISS factory string for `n_vectors` of `dim` (see the module docstring for the tiers)."""
    if n_vectors <= EXACT_LIMIT:
        return "Flat"
    if n_vectors * dim * 4 <= COMPRESS_BYTES:
        return f"IVF{ivf_lists(n_vectors)},Flat"
    return compressed_index_type(n_vectors, dim)


def compressed_index_type(n_vectors: int, dim: int) -> str:
    """IVF lists of 4-bit fast-scan PQ codes (2 bits per dimension), re-ranked from float16 vectors."""
    return f"IVF{ivf_lists(n_vectors)},PQ{_pq_subquantizers(dim)}x4fs,Refine(SQfp16)"


def min_train_size(index_type: str) -> int:
    """How many vectors the index needs before it can be trained (0 for untrained types)."""
    needed = 0
    if nlist := _nlist(index_type):
        needed = MIN_PER_LIST * nlist
    for match in re.finditer(r"PQ\d+(?:x(\d+))?", index_type):
        needed = max(needed, 1 << int(match.group(1) or 8))
    return needed


def train_sample_size(index_type: str, n_vectors: int) -> int:
    """How many of `n_vectors` to train on: `TRAIN_PER_LIST` per IVF list, at least 65,536."""
    return min(n_vectors, max(65_536, TRAIN_PER_LIST * _nlist(index_type)))


def _nlist(index_type: str) -> int:
    match = re.search(r"IVF(\d+)", index_type)
    return int(match.group(1)) if match else 0


def _pq_subquantizers(dim: int) -> int:
    """PQ sub-vectors of 4 dimensions each, or the next smaller count that divides `dim`."""
    m = max(1, dim // 4)
    while dim % m:
        m -= 1
    return m
