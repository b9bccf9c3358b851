"""Query vectors -> catalog ids -> ranked SearchHits, with SQL filters, a score threshold, and the
time-span items of one file (audio windows, transcript segments, video shots) grouped into one hit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from indexes.catalog import Catalog
from indexes.faiss_store import FaissStore
from retrieval.types import MODALITIES, Modality, SearchHit

EXACT_FILTER_LIMIT = 50_000
"""When a filter leaves at most this many items, score them exactly from the catalog's vectors."""
GROUP_OVERFETCH = 8
"""Candidates fetched per wanted hit when grouping (a file's spans collapse into one hit); fetched
again with four times as many while the groups fall short."""


@dataclass(frozen=True)
class SearchSettings:
    """What to return: top `k`, optional SQL predicate, minimum score and modality."""

    k: int = 10
    where: str | None = None
    threshold: float | None = None
    modality: Modality | None = None
    group: bool = True
    """One hit per file for time-span items: the best span, with the file's other matching spans."""


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
    allowed = None if predicate is None else catalog.filter_ids(predicate)
    available = store.count if allowed is None else len(allowed)
    fetch = settings.k * GROUP_OVERFETCH if settings.group else settings.k
    while True:
        pairs = _candidates(catalog, store, query, allowed, fetch)
        if settings.threshold is not None:
            pairs = [(s, i) for s, i in pairs if s >= settings.threshold]
        hits = _hits(catalog, pairs)
        if not settings.group:
            return hits
        grouped = group_spans(hits)
        if len(grouped) >= settings.k or fetch >= available or len(pairs) < fetch:
            return grouped[: settings.k]
        fetch *= 4


def group_spans(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """Hits in rank order with every file's time-span items folded into its best one, whose
    `other_spans` lists the rest (id, score, kind, start_s, end_s, text), best first. Items without
    a span (photos, captions) stay hits of their own."""
    best: dict[object, SearchHit] = {}
    others: dict[object, list[dict[str, object]]] = {}
    for hit in hits:
        key = hit.path if hit.fields.get("start_s") is not None else hit.id
        if key in best:
            others[key].append(_span(hit))
        else:
            best[key], others[key] = hit, []
    return [
        replace(hit, rank=rank, fields={**hit.fields, "other_spans": others[key]} if others[key] else hit.fields)
        for rank, (key, hit) in enumerate(best.items(), start=1)
    ]


def _span(hit: SearchHit) -> dict[str, object]:
    fields = hit.fields
    return {"id": hit.id, "score": hit.score, **{k: fields.get(k) for k in ("kind", "start_s", "end_s", "text")}}


def _candidates(
    catalog: Catalog, store: FaissStore, query: np.ndarray, allowed: np.ndarray | None, k: int
) -> list[tuple[float, int]]:
    if allowed is None:
        scores, ids = store.search(query, k)
    elif len(allowed) <= EXACT_FILTER_LIMIT:
        return _exact(catalog, allowed, query[0], k)
    else:
        scores, ids = store.search(query, k, allowed_ids=allowed)
    return [(float(s), int(i)) for s, i in zip(scores[0], ids[0]) if i >= 0]


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
