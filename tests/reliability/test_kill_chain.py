"""Kill -9 at seeded random moments, 20 times, while `mmsearch index` grows a corpus of 600 real files
(Caltech-101 photos, FSDD recordings, a captions file) 30 files at a time.

Each cycle adds files, starts `mmsearch index`, and SIGKILLs it after a random fraction of a run's
length (so kills land in model loading, the scan, decoding, encoding, a commit, the FAISS write).
After each kill the catalog must open with every committed row equal to a clean run's and no
committed file embedded again later; every fifth kill, and at the end, a run completes and the index
must equal a clean run's exactly. Files embedded but not committed by a killed run (the work a kill
loses) are counted per kill and must stay within one batch.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.conftest import BATCH, Corpus, LoadFigures
from tests.reliability.harness import (
    IndexState,
    assert_whole,
    probed,
    read_index,
    restricted,
    run_cli,
    start_cli,
)

pytestmark = pytest.mark.slow

SEED = 20261201


def _committed(db: Path, root: Path) -> IndexState | None:
    """What a killed run left committed (None when it died before creating the catalog)."""
    return read_index(db, root) if (db / "catalog.duckdb").exists() else None


def test_three_random_kills_lose_nothing(small_corpus: Corpus, tmp_path: Path) -> None:
    kill_chain(small_corpus, tmp_path, kills=3, step=6)


def test_twenty_random_kills_lose_nothing(big_corpus: tuple[Corpus, LoadFigures], tmp_path: Path) -> None:
    corpus, _ = big_corpus
    assert len(corpus.clean.paths) >= 600
    kill_chain(corpus, tmp_path, kills=20, step=30)


def kill_chain(big_corpus: Corpus, tmp_path: Path, kills: int, step: int) -> None:
    """Grow a copy of `big_corpus` `step` files at a time under `kills` random kills (see the module docstring)."""
    rng = random.Random(SEED)
    root = tmp_path / "corpus"
    (root / "media").mkdir(parents=True)
    shutil.copy2(big_corpus.captions, root / "captions.csv")
    chain = Corpus(root, big_corpus.clean)
    pool = sorted(big_corpus.media.rglob("*.*"))
    rng.shuffle(pool)
    db, present, embedded_before = tmp_path / "db", {"captions.csv"}, set()
    run_seconds, delays, lost, cycle = 0.0, [], [], 0
    completed: list[float] = []
    """How long each completing run took."""

    def add(count: int) -> None:
        for source in pool[len(present) - 1 : len(present) - 1 + count]:
            target = root / source.relative_to(big_corpus.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            present.add(str(target.relative_to(root)))

    def complete() -> None:
        nonlocal run_seconds
        log = tmp_path / f"complete-{len(completed)}.log"  # one log per run: the probe appends
        started = time.monotonic()
        done = run_cli(*chain.index_args(db), probe=log)
        run_seconds = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        again = set(probed(log)) & embedded_before
        assert not again, f"{len(again)} committed files were embedded again, e.g. {sorted(again)[:3]}"
        completed.append(round(run_seconds, 1))
        assert_whole(db, root, restricted(big_corpus.clean, present))
        embedded_before.update(probed(log))

    add(step)
    complete()  # cycle 0: a timed run without a kill
    while len(delays) < kills:
        cycle += 1
        add(step)
        log = tmp_path / f"killed-{cycle}.log"
        process = start_cli(*chain.index_args(db), probe=log)
        delay = rng.uniform(0.1, 1.0) * run_seconds
        time.sleep(delay)
        if process.poll() is not None:  # it finished first: the next cycle tries again
            assert process.returncode == 0, process.communicate()[1]
            embedded_before.update(probed(log))
            continue
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        state = _committed(db, root)
        committed = state.paths if state else set()
        embedded = set(probed(log))
        assert not embedded & embedded_before, "a killed run embedded files committed before it"
        lost.append(len({p for p in embedded if str(Path(p).relative_to(root)) not in committed}))
        delays.append(round(delay, 2))
        if state:
            expected = restricted(big_corpus.clean, committed)
            assert set(state.rows) == set(expected.rows), "a killed run left a file half-stored"
            for key, (content_hash, vector) in expected.rows.items():
                assert state.rows[key][0] == content_hash
                np.testing.assert_allclose(state.rows[key][1], vector, atol=2e-3)
        embedded_before.update(p for p in embedded if str(Path(p).relative_to(root)) in committed)
        if len(delays) % 5 == 0:
            complete()
    add(len(pool))
    complete()
    print(
        f"kill chain: {len(delays)} kills over {cycle} cycles, delays {delays} s, files lost per kill {lost}, "
        f"completing runs took {completed} s"
    )
    assert max(lost) <= BATCH
    report = json.loads(run_cli(*chain.index_args(db)).stdout)
    assert report["new"] == 0 and report["unchanged"] == len(present)
