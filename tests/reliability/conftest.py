"""Fixtures of the reliability suite: a small real corpus with its clean index, built once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from retrieval import Engine
from retrieval.types import IndexSettings
from tests.reliability.harness import IndexState, captions_file, copy_into, media_pool, read_index

BATCH = 4
"""--batch-size of every kill test: small, so kills land between commits. Speech transcription is off
in the suite's runs (--no-transcribe): it would multiply the time of the 300 recordings."""


@dataclass(frozen=True)
class Corpus:
    """A folder of media, a captions file, and what a clean run over them stores."""

    root: Path
    """The folder holding `media/` and `captions.csv` (catalog paths are compared relative to it)."""
    clean: IndexState

    @property
    def media(self) -> Path:
        """The media folder."""
        return self.root / "media"

    @property
    def captions(self) -> Path:
        """The captions file."""
        return self.root / "captions.csv"

    def index_args(self, db: Path, *extra: str) -> list[str]:
        """`mmsearch index` arguments over this corpus into `db`."""
        args = ["index", str(self.media), "--captions", str(self.captions), "--db", str(db)]
        return [*args, "--batch-size", str(BATCH), "--workers", "0", "--no-transcribe", "--json", *extra]


def clean_index(root: Path, db: Path) -> IndexState:
    """Index `root/media` and `root/captions.csv` in this process, uninterrupted, and read the result."""
    settings = IndexSettings(batch_size=BATCH, workers=0, transcribe=False)
    Engine(db).index([root / "media"], settings, captions=[root / "captions.csv"])
    return read_index(db, root)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Corpus:
    """12 photos, 12 FSDD recordings and a 12-caption file, with a clean run's index."""
    root = tmp_path_factory.mktemp("small-corpus")
    copy_into(root / "media", media_pool(data_dir, images=12, wavs=12))
    captions_file(data_dir, root / "captions.csv", rows=12)
    return Corpus(root, clean_index(root, root / "clean-db"))


LOAD_S = 60
"""Seconds the 8 HTTP clients run (the issue's 60 s; they overlap the indexing run, which lasts longer)."""
CLIENTS = 8
QUERIES = ("a dog running", "an airplane", "someone saying seven", "a red flower", "a face", "music")


@dataclass
class LoadFigures:
    """What the clients saw while the indexer ran."""

    latencies_ms: list[float]
    errors: list[str]
    cli_query: str
    indexed_files: int
    seconds: float

    def percentile(self, q: float) -> float:
        """The q-th percentile latency in ms."""
        import numpy as np

        return float(np.percentile(self.latencies_ms, q))


def _clients(url: str, stop: float, figures: LoadFigures) -> None:
    import random
    import threading
    import time

    import httpx

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    answer = http.get("/api/search", params={"q": rng.choice(QUERIES), "k": 10})
                    if answer.status_code != 200:
                        figures.errors.append(f"{answer.status_code} {answer.text[:200]}")
                    hits = answer.json().get("results", [])
                    if hits and n % 2:
                        thumb = http.get(f"/api/items/{hits[0]['id']}/thumbnail")
                        if thumb.status_code != 200:
                            figures.errors.append(f"thumbnail {thumb.status_code}")
                except httpx.HTTPError as err:
                    figures.errors.append(repr(err))
                figures.latencies_ms.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture(scope="session")
def big_corpus(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Corpus, LoadFigures]:
    """300 photos, 300 FSDD recordings and a 100-caption file (601 files), indexed by one uninterrupted
    `mmsearch index` while `mmsearch serve` on the same index answers 8 clients (the load test's figures)."""
    import json
    import time

    from tests.reliability.harness import run_cli, start_cli
    from tests.server.conftest import serve

    root = tmp_path_factory.mktemp("big-corpus")
    files = copy_into(root / "media", media_pool(data_dir, images=300, wavs=300))
    captions_file(data_dir, root / "captions.csv", rows=100)
    db = root / "clean-db"
    Engine(db).index([], IndexSettings(batch_size=BATCH, workers=0, transcribe=False), captions=[root / "captions.csv"])
    figures = LoadFigures([], [], "", 0, 0.0)
    with serve(db) as server:
        indexer = start_cli(  # eager torch: the slower runtime keeps the indexer busy for the clients' minute
            "index",
            str(root / "media"),
            "--db",
            str(db),
            "--batch-size",
            str(BATCH),
            "--no-transcribe",
            "--json",
            "--runtime",
            "torch",
        )
        started = time.monotonic()
        query = run_cli("query", "a dog", "--db", str(db), "-k", "3", "--json")
        figures.cli_query = query.stdout if query.returncode == 0 else f"failed: {query.stderr}"
        _clients(server.url, time.monotonic() + LOAD_S, figures)
        assert indexer.poll() is None, "the indexer ended before the load did: add files"
        out, err = indexer.communicate(timeout=1200)
        figures.seconds = time.monotonic() - started
    assert indexer.returncode == 0, err
    figures.indexed_files = json.loads(out)["new"]
    assert figures.indexed_files == len(files)
    return Corpus(root, read_index(db, root)), figures
