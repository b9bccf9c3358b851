"""search_vector on a real DuckDB catalog and FAISS index with seeded random vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexes.catalog import Catalog, NewItem
from indexes.errors import FilterError
from indexes.faiss_store import FaissStore
from retrieval.query import search as search_module
from retrieval.query.search import SearchSettings, combined_predicate, search_vector

DIM = 16


@pytest.fixture()
def filled(tmp_path: Path) -> tuple[Catalog, FaissStore, np.ndarray]:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    catalog = Catalog(tmp_path / "catalog.duckdb")
    catalog.ensure("test-model", DIM, "test")
    items = [
        NewItem(
            path=f"/media/{i:02d}.{'wav' if i % 3 == 0 else 'jpg'}",
            modality="audio" if i % 3 == 0 else "image",
            kind="window" if i % 3 == 0 else "image",
            content_hash=f"h{i}",
            size=i,
            mtime=1.0,
        )
        for i in range(30)
    ]
    with catalog.transaction() as con:
        ids = catalog.insert(con, items, vectors, "test-model")
    store = FaissStore.build("Flat", np.array(ids), vectors, catalog.meta().generation)
    return catalog, store, vectors


def test_top_hit_is_the_item_itself_ranked_by_score(filled) -> None:
    catalog, store, vectors = filled
    hits = search_vector(catalog, store, vectors[4], SearchSettings(k=5))
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0].id == 5 and hits[0].path == "/media/04.jpg" and hits[0].score == pytest.approx(1.0, abs=1e-3)
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert "size" in hits[0].fields and "vector" not in hits[0].fields


def test_modality_where_and_threshold(filled) -> None:
    catalog, store, vectors = filled
    audio = search_vector(catalog, store, vectors[4], SearchSettings(k=50, modality="audio"))
    assert len(audio) == 10 and {h.modality for h in audio} == {"audio"}
    small = search_vector(catalog, store, vectors[4], SearchSettings(k=50, where="size < 10"))
    assert {h.fields["size"] for h in small} == set(range(10))
    strong = search_vector(catalog, store, vectors[4], SearchSettings(k=50, threshold=0.5))
    assert strong and all(h.score >= 0.5 for h in strong)


def test_filtered_search_through_faiss_equals_exact(filled, monkeypatch) -> None:
    catalog, store, vectors = filled
    settings = SearchSettings(k=5, modality="image")
    exact = search_vector(catalog, store, vectors[7], settings)
    monkeypatch.setattr(search_module, "EXACT_FILTER_LIMIT", 0)
    approximate = search_vector(catalog, store, vectors[7], settings)
    assert [h.id for h in approximate] == [h.id for h in exact]


def test_rows_removed_since_the_faiss_file_are_skipped(filled) -> None:
    catalog, store, vectors = filled
    catalog.delete_paths(["/media/04.jpg"])
    hits = search_vector(catalog, store, vectors[4], SearchSettings(k=3, group=False))
    assert 5 not in [h.id for h in hits] and [h.rank for h in hits] == [1, 2]


def test_empty_index_and_bad_input(filled) -> None:
    catalog, store, vectors = filled
    assert search_vector(catalog, None, vectors[0], SearchSettings()) == []
    assert search_vector(catalog, store, vectors[0], SearchSettings(k=0)) == []
    with pytest.raises(FilterError):
        search_vector(catalog, store, vectors[0], SearchSettings(where="nonsense_column > 1"))
    with pytest.raises(ValueError, match="unknown modality"):
        combined_predicate(SearchSettings(modality="movie"))  # type: ignore[arg-type]
    assert combined_predicate(SearchSettings(where="size > 1", modality="text")) == "(size > 1) AND modality = 'text'"


@pytest.fixture()
def spans(tmp_path: Path) -> tuple[Catalog, FaissStore, np.ndarray]:
    """Six windows of /a.wav close to a query, three of /b.wav a little further, five unrelated photos."""
    rng = np.random.default_rng(1)
    query = rng.normal(size=DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    noise = [0.05] * 6 + [0.3] * 3 + [5.0] * 5
    vectors = np.stack([query + n * rng.normal(size=DIM) for n in noise]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def item(i: int) -> NewItem:
        if i < 9:
            path, part = ("/a.wav", i) if i < 6 else ("/b.wav", i - 6)
            return NewItem(path, "audio", "window", path, 1, 1.0, part=part, start_s=part * 1.0, end_s=part + 2.0)
        return NewItem(f"/p{i}.jpg", "image", "image", f"h{i}", 1, 1.0)

    catalog = Catalog(tmp_path / "catalog.duckdb")
    catalog.ensure("test-model", DIM, "test")
    with catalog.transaction() as con:
        ids = catalog.insert(con, [item(i) for i in range(len(noise))], vectors, "test-model")
    return catalog, FaissStore.build("Flat", np.array(ids), vectors, catalog.meta().generation), query


def test_a_files_spans_are_grouped_into_its_best_hit(spans) -> None:
    catalog, store, query = spans
    hits = search_vector(catalog, store, query, SearchSettings(k=2))
    assert [(h.rank, h.path) for h in hits] == [(1, "/a.wav"), (2, "/b.wav")]
    others = hits[0].fields["other_spans"]
    assert len(others) == 5 and len(hits[1].fields["other_spans"]) == 2
    assert hits[0].score >= others[0]["score"] and [o["score"] for o in others] == sorted(
        (o["score"] for o in others), reverse=True
    )
    assert {o["kind"] for o in others} == {"window"} and all(o["end_s"] - o["start_s"] == 2.0 for o in others)
    ungrouped = search_vector(catalog, store, query, SearchSettings(k=2, group=False))
    assert [h.path for h in ungrouped] == ["/a.wav", "/a.wav"] and "other_spans" not in ungrouped[0].fields


def test_grouping_fetches_more_until_k_files(spans, monkeypatch) -> None:
    catalog, store, query = spans
    monkeypatch.setattr(search_module, "GROUP_OVERFETCH", 1)
    hits = search_vector(catalog, store, query, SearchSettings(k=4))
    assert [h.path for h in hits[:2]] == ["/a.wav", "/b.wav"] and len(hits) == 4
    assert len({h.path for h in hits}) == 4 and [h.rank for h in hits] == [1, 2, 3, 4]
    everything = search_vector(catalog, store, query, SearchSettings(k=100))
    assert len(everything) == 7  # two sounds and five photos: the search stops when the index is exhausted
