"""What every reliability test needs: real corpora from ../shared/data, `mmsearch` subprocesses, and
one function that checks an index folder is whole (catalog rows == FAISS vectors == expected items)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from indexes.faiss_store import FaissStore
from tests.conftest import REPO, write_csv

PROBED_MAIN = "import tests.reliability.probe; from cli.app import main; main()"


def mmsearch_command(*args: str) -> list[str]:
    """The `mmsearch` CLI as a subprocess command, with the encode probe loaded (see probe.py)."""
    return [sys.executable, "-c", PROBED_MAIN, *args]


def cli_env(probe: Path | None = None, fault: str | None = None) -> dict[str, str]:
    """Environment of a `mmsearch` subprocess: the checkout on sys.path, optional probe log and fault point."""
    env = {k: v for k, v in os.environ.items() if k not in ("MMSEARCH_FAULT", "MMSEARCH_PROBE")}
    env["PYTHONPATH"] = str(REPO)
    env["MMSEARCH_PROBE"] = str(probe or os.devnull)
    if fault:
        env["MMSEARCH_FAULT"] = fault
    return env


def run_cli(*args: str, probe: Path | None = None, fault: str | None = None, timeout: float = 600):
    """Run `mmsearch ARGS` to the end; returns the CompletedProcess (text output)."""
    return subprocess.run(
        mmsearch_command(*args),
        env=cli_env(probe, fault),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str, probe: Path | None = None, fault: str | None = None) -> subprocess.Popen:
    """Start `mmsearch ARGS` in the background (stdout and stderr to pipes)."""
    return subprocess.Popen(
        mmsearch_command(*args),
        env=cli_env(probe, fault),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def probed(log: Path) -> list[str]:
    """Paths a probed run embedded, in order ([] when it embedded nothing)."""
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


# -- corpora ---------------------------------------------------------------


def media_pool(data_dir: Path, images: int, wavs: int) -> list[Path]:
    """`images` Caltech-101 photos and `wavs` FSDD recordings, interleaved in a fixed order."""
    with open(data_dir / "caltech101" / "labels.csv", newline="") as handle:
        photos = [data_dir / "caltech101" / row["path"] for row in csv.DictReader(handle)]
    sounds = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))
    photos, sounds = photos[:: len(photos) // max(1, images)][:images], sounds[:: len(sounds) // max(1, wavs)][:wavs]
    pool: list[Path] = []
    for n in range(max(len(photos), len(sounds))):
        pool += photos[n : n + 1] + sounds[n : n + 1]
    return pool


def copy_into(folder: Path, sources: Sequence[Path]) -> list[Path]:
    """Copy `sources` into `folder` (photos under img/ as <category>_<name>, sounds under wav/)."""
    copied = []
    for source in sources:
        if source.suffix == ".wav":
            target = folder / "wav" / source.name
        else:
            target = folder / "img" / f"{source.parent.name}_{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(target)
    return copied


def captions_file(data_dir: Path, out: Path, rows: int) -> Path:
    """A captions CSV of the first `rows` distinct Flickr8k captions."""
    with open(data_dir / "flickr8k_800" / "captions.csv", newline="") as handle:
        captions = list(dict.fromkeys(row["caption"].strip() for row in csv.DictReader(handle)))[:rows]
    return write_csv(out, ["id", "caption"], [(f"c{n}", text) for n, text in enumerate(captions)])


# -- checking an index -------------------------------------------------------


@dataclass(frozen=True)
class IndexState:
    """What an index folder holds: catalog rows by (path, part) and the FAISS file's ids."""

    rows: dict[tuple[str, int], tuple[str, np.ndarray]]
    """(path, part) -> (content hash, float16 vector)."""
    ids: np.ndarray
    faiss_ids: np.ndarray
    generation: int
    faiss_generation: int

    @property
    def paths(self) -> set[str]:
        """Every stored file."""
        return {path for path, _ in self.rows}


def read_index(db: Path, root: Path) -> IndexState:
    """Read an index folder (nothing may hold its catalog lock); paths are taken relative to `root`, so
    two copies of one corpus compare equal."""
    with duckdb.connect(str(db / "catalog.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT id, path, part, content_hash, vector FROM items ORDER BY id").fetchall()
        generation = int(con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
    store = FaissStore.load(db / "vectors.faiss")
    by_key = {(_relative(p, root), part): (h, np.frombuffer(v, dtype=np.float16)) for _, p, part, h, v in rows}
    assert len(by_key) == len(rows), "two catalog rows share a (path, part)"
    return IndexState(
        by_key,
        np.array(sorted(r[0] for r in rows), dtype=np.int64),
        np.sort(store.ids()) if store else np.zeros(0, np.int64),
        generation,
        store.generation if store else -1,
    )


def _relative(path: str, root: Path) -> str:
    return str(Path(path).relative_to(root)) if Path(path).is_relative_to(root) else path


def assert_whole(db: Path, root: Path, expected: IndexState) -> IndexState:
    """The index at `db` equals `expected` (a clean run's): same files, items, content and vectors;
    every catalog row has exactly one FAISS vector and the FAISS file is at the catalog's generation."""
    state = read_index(db, root)
    assert state.paths == expected.paths, (
        f"lost {sorted(expected.paths - state.paths)[:5]}, extra {sorted(state.paths - expected.paths)[:5]}"
    )
    assert set(state.rows) == set(expected.rows), "items differ from a clean run's"
    assert np.array_equal(state.ids, state.faiss_ids), "catalog ids and FAISS ids differ (orphan or missing vector)"
    assert state.faiss_generation == state.generation, "FAISS file is behind the catalog"
    owners: dict[str, set[str]] = {}
    for path, _part in state.rows:
        if not path.endswith(".csv"):  # a captions file's items are texts; media content is stored once
            owners.setdefault(state.rows[path, _part][0], set()).add(path)
    assert all(len(paths) == 1 for paths in owners.values()), "the same content is stored under two paths"
    for key, (content_hash, vector) in expected.rows.items():
        assert state.rows[key][0] == content_hash, f"{key} has other content than a clean run's"
        np.testing.assert_allclose(state.rows[key][1].astype(np.float32), vector.astype(np.float32), atol=2e-3)
    return state


def restricted(state: IndexState, paths: set[str]) -> IndexState:
    """`state` with only the rows of `paths` (what a clean run over those files would hold)."""
    rows = {k: v for k, v in state.rows.items() if k[0] in paths}
    return IndexState(rows, state.ids, state.faiss_ids, state.generation, state.faiss_generation)


def wait_for(condition, process: subprocess.Popen, timeout: float = 300) -> None:
    """Poll `condition()` until true; fail if `process` ends first or the timeout passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"process ended first: {process.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
