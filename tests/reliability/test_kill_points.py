"""SIGKILL at exact points (MMSEARCH_FAULT, see indexes/faults.py): inside a batch commit, inside the
FAISS write, inside a schema migration and inside `mmsearch rm`. The next run completes and the
index equals a clean run's; at most one batch is embedded twice."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from indexes.catalog import SCHEMA_VERSION, Catalog
from tests.indexes.test_migration import v1_catalog
from tests.reliability.conftest import BATCH, Corpus
from tests.reliability.harness import IndexState, assert_whole, probed, read_index, restricted, run_cli

pytestmark = pytest.mark.slow  # two or three `mmsearch` processes each


def _killed_then_resumed(corpus: Corpus, db: Path, fault: str, tmp_path: Path) -> tuple[dict, int]:
    """Run `mmsearch index` killed at `fault`, then again; returns the second run's report and the
    number of files embedded by both."""
    first, second = tmp_path / "killed.log", tmp_path / "resumed.log"
    killed = run_cli(*corpus.index_args(db), probe=first, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = run_cli(*corpus.index_args(db), probe=second)
    assert resumed.returncode == 0, resumed.stderr
    return json.loads(resumed.stdout), len(set(probed(first)) & set(probed(second)))


@pytest.mark.parametrize(
    "fault",
    [
        "commit:1",  # the transaction that creates the catalog
        "commit:3",  # the second batch's commit
        "write:vectors.faiss:1",  # the FAISS file written, not yet renamed into place
        "write:vectors.json:1",  # the FAISS file in place, its sidecar (generation) not
    ],
)
def test_kill_at_a_point_then_resume(small_corpus: Corpus, tmp_path: Path, fault: str) -> None:
    db = tmp_path / "db"
    report, twice = _killed_then_resumed(small_corpus, db, fault, tmp_path)
    assert_whole(db, small_corpus.root, small_corpus.clean)
    assert twice <= BATCH
    assert report["skipped"] == 0
    assert sorted(p.name for p in db.iterdir()) == ["catalog.duckdb", "vectors.faiss", "vectors.json", "writer.lock"]


@pytest.mark.parametrize("fault", ["migrate:3", "write:catalog.duckdb.pre-migration:1"])
def test_kill_during_migration_then_resume(small_corpus: Corpus, tmp_path: Path, fault: str) -> None:
    db = tmp_path / "db"
    v1_catalog(db)
    reference = tmp_path / "reference"
    v1_catalog(reference)
    assert Catalog(reference / "catalog.duckdb").upgrade()
    old = read_index_rows(reference, small_corpus.root)
    report, _ = _killed_then_resumed(small_corpus, db, fault, tmp_path)
    assert report["new"] == len(small_corpus.clean.paths)
    expected = IndexState({**old, **small_corpus.clean.rows}, *_no_ids())
    assert_whole(db, small_corpus.root, expected)
    assert Catalog(db / "catalog.duckdb").meta() and _version(db) == SCHEMA_VERSION
    assert not (db / "catalog.duckdb.pre-migration").exists()


def test_kill_during_rm_then_rerun(small_corpus: Corpus, tmp_path: Path) -> None:
    db = tmp_path / "db"
    shutil.copytree(small_corpus.root / "clean-db", db)
    wavs = str(small_corpus.media / "wav")
    killed = run_cli("rm", wavs, "--db", str(db), fault="commit:1")
    assert killed.returncode == -signal.SIGKILL
    assert_whole(db, small_corpus.root, small_corpus.clean)  # the delete never committed: nothing lost
    killed = run_cli("rm", wavs, "--db", str(db), fault="write:vectors.faiss:1")
    assert killed.returncode == -signal.SIGKILL
    kept = {p for p in small_corpus.clean.paths if not p.startswith("media/wav/")}
    found = run_cli("query", "a spoken digit", "--db", str(db), "-k", "100", "--json")
    assert found.returncode == 0, found.stderr
    assert not [h for h in json.loads(found.stdout)["results"] if "/wav/" in h["path"]]  # stale FAISS not served
    again = run_cli("rm", wavs, "--db", str(db))
    assert again.returncode == 0 and again.stdout.strip() == "removed 0 files from the index"
    assert_whole(db, small_corpus.root, restricted(small_corpus.clean, kept))


def read_index_rows(db: Path, root: Path) -> dict:
    """The catalog rows of an index whose FAISS file may not exist yet."""
    return read_index(db, root).rows


def _no_ids():
    import numpy as np

    empty = np.zeros(0, np.int64)
    return empty, empty, 0, 0


def _version(db: Path) -> int:
    import duckdb

    with duckdb.connect(str(db / "catalog.duckdb"), read_only=True) as con:
        return int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
