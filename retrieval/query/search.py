"""Query vectors -> catalog ids -> ranked SearchHits, with SQL filters and a score threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexes.catalog import Catalog
from indexes.faiss_store import FaissStore
from retrieval.types import MODALITIES, Modality, SearchHit

EXACT_FILTER_LIMIT = 50_000
"""When a filter leaves at most this many items, score them exactly from the catalog's vectors."""


@dataclass(frozen=True)
class SearchSettings:
    """What to return: top `k`, optional SQL predicate, minimum score and modality."""

    k: int = 10
    where: str | None = None
    threshold: float | None = None
    modality: Modality | None = None


def combined_predicate(settings: SearchSettings) -> str | None:
    """The user's predicate AND'ed with the modality filter (modality names are a closed set)."""
    parts = []
    if settings.where:
        parts.append(f"({settings.where})")
    if settings.modality:
        if settings.modality not in MODALITIES:
            raise ValueError(f"unknown modality {settings.modality!r}")
        parts.append(f"modality = '{settings.modality}'")
    return " AND ".join(parts) or None


def search_vector(
    catalog: Catalog, store: FaissStore | None, query: np.ndarray, settings: SearchSettings
) -> list[SearchHit]:
    """Top-k hits for one normalised query vector (see SearchSettings)."""
    if store is None or settings.k <= 0:
        return []
    query = np.asarray(query, dtype=np.float32).reshape(1, -1)
    predicate = combined_predicate(settings)
    if predicate is None:
        scores, ids = store.search(query, settings.k)
        pairs = list(zip(scores[0], ids[0]))
    else:
        allowed = catalog.filter_ids(predicate)
        if len(allowed) <= EXACT_FILTER_LIMIT:
            pairs = _exact(catalog, allowed, query[0], settings.k)
        else:
            scores, ids = store.search(query, settings.k, allowed_ids=allowed)
            pairs = list(zip(scores[0], ids[0]))
    pairs = [(float(s), int(i)) for s, i in pairs if i >= 0]
    if settings.threshold is not None:
        pairs = [(s, i) for s, i in pairs if s >= settings.threshold]
    return _hits(catalog, pairs)


def _exact(catalog: Catalog, allowed: np.ndarray, query: np.ndarray, k: int) -> list[tuple[float, int]]:
    if not len(allowed):
        return []
    ids, vectors = catalog.vectors(allowed)
    scores = vectors @ query
    top = np.argsort(-scores, kind="stable")[:k]
    return [(float(scores[t]), int(ids[t])) for t in top]


def _hits(catalog: Catalog, pairs: Sequence[tuple[float, int]]) -> list[SearchHit]:
    rows = catalog.rows([i for _, i in pairs])
    hits: list[SearchHit] = []
    for score, item_id in pairs:
        row = rows.get(item_id)
        if row is None:  # removed by a concurrent indexer since the FAISS file was read
            continue
        fields = {k: _jsonable(v) for k, v in row.items() if k not in ("id", "path", "modality")}
        hits.append(SearchHit(len(hits) + 1, score, item_id, row["path"], row["modality"], fields))
    return hits


def _jsonable(value: object) -> object:
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else value
