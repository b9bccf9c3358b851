"""Pick a FAISS index description (factory string) from the collection size."""

from __future__ import annotations

import math

EXACT_LIMIT = 50_000
"""Up to this many vectors an exact flat scan is fast enough and loses nothing."""


def choose_index_type(n_vectors: int, dim: int) -> str:
    """FAISS factory string for `n_vectors` of `dim`: exact when small, IVF (√n-style lists) when large."""
    if n_vectors <= EXACT_LIMIT:
        return "Flat"
    nlist = 1 << max(8, round(math.log2(4 * math.sqrt(n_vectors))))
    return f"IVF{nlist},Flat"


def min_train_size(index_type: str) -> int:
    """How many vectors the index needs before it can be trained (0 for untrained types)."""
    if index_type.startswith("IVF"):
        nlist = int(index_type[3:].split(",")[0].split("_")[0])
        return 30 * nlist
    return 0
