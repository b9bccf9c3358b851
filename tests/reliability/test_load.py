"""Load: 8 HTTP clients search (and fetch thumbnails) for LOAD_S (60) seconds while `mmsearch index` adds
600 files to the index they search; the CLI query answers meanwhile. The work is done by the
`big_corpus` fixture (its uninterrupted run is also the kill chain's clean reference, so the clients'
minute costs the suite only what they slow that run down)."""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import LOAD_S, Corpus, LoadFigures

pytestmark = pytest.mark.slow


def test_clients_see_no_error_while_indexing(big_corpus: tuple[Corpus, LoadFigures]) -> None:
    _, figures = big_corpus
    print(
        f"load: {len(figures.latencies_ms)} requests from 8 clients in {LOAD_S} s while indexing "
        f"{figures.indexed_files} files ({figures.seconds:.0f} s): {len(figures.errors)} errors, "
        f"p50 {figures.percentile(50):.0f} ms, p95 {figures.percentile(95):.0f} ms"
    )
    assert figures.errors == []
    assert len(figures.latencies_ms) >= 8 and figures.seconds >= LOAD_S  # the indexer outlasted the clients
    assert len(json.loads(figures.cli_query)["results"]) >= 1
