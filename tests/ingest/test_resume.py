"""A killed indexing run resumes to the same index as a clean run; queries work while indexing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tests.conftest import REPO, caltech_test_images

pytestmark = pytest.mark.slow  # real processes, kills or a browser: tens of seconds

CLASSES = ("airplanes", "chair", "electric_guitar", "laptop", "watch", "umbrella")


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("resume-photos")
    for path, label in caltech_test_images(data_dir, CLASSES, per_class=10):
        shutil.copy2(path, folder / f"{label}_{path.name}")
    return folder


def _mmsearch(*args: str) -> list[str]:
    return [sys.executable, "-c", "from cli.app import main; main()", *args]


def _count_rows(db: Path) -> int:
    try:
        con = duckdb.connect(str(db / "catalog.duckdb"), read_only=True)
    except duckdb.Error:
        return 0
    try:
        return con.execute("SELECT count(*) FROM items").fetchone()[0]
    except duckdb.Error:
        return 0
    finally:
        con.close()


def _snapshot(db: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    con = duckdb.connect(str(db / "catalog.duckdb"), read_only=True)
    rows = con.execute("SELECT path, content_hash, vector FROM items").fetchall()
    con.close()
    hashes = {Path(p).name: h for p, h, _ in rows}
    vectors = {Path(p).name: np.frombuffer(v, dtype=np.float16) for p, _, v in rows}
    return hashes, vectors


def _left_behind(db: Path, wait_s: float = 15.0) -> list[int]:
    """Processes still running with `db` on their command line after up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if proc.name.isdigit() and str(db).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _wait_for_rows(db: Path, process: subprocess.Popen, minimum: int, timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _count_rows(db) if (db / "catalog.duckdb").exists() else 0
        if rows >= minimum:
            return rows
        assert process.poll() is None, "indexer ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("indexer made no progress")


def test_kill_and_resume_equals_clean_run(tmp_path: Path, photo_folder: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed_db, clean_db = tmp_path / "killed", tmp_path / "clean"
    args = ["index", str(photo_folder), "--batch-size", "4", "--workers", "1", "--json"]
    process = subprocess.Popen(
        _mmsearch(*args, "--db", str(killed_db)), env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    rows_before_kill = _wait_for_rows(killed_db, process, minimum=8)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert 8 <= rows_before_kill < 60
    assert _left_behind(killed_db) == []  # its decode worker died with it

    resumed = subprocess.run(
        _mmsearch(*args, "--db", str(killed_db)), env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["unchanged"] >= 8 and report["new"] + report["unchanged"] == 60
    assert report["new"] <= 60 - 8

    clean = subprocess.run(
        _mmsearch(*args, "--db", str(clean_db)), env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert clean.returncode == 0, clean.stderr
    killed_hashes, killed_vectors = _snapshot(killed_db)
    clean_hashes, clean_vectors = _snapshot(clean_db)
    assert killed_hashes == clean_hashes and len(clean_hashes) == 60
    for name, vector in clean_vectors.items():
        np.testing.assert_allclose(killed_vectors[name], vector, atol=2e-3)

    import faiss

    index = faiss.read_index(str(killed_db / "vectors.faiss"))
    assert index.ntotal == 60


def test_query_while_indexing(tmp_path: Path, photo_folder: Path, caltech_db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    db = tmp_path / "busy"
    indexer = subprocess.Popen(
        _mmsearch("index", str(photo_folder), "--db", str(db), "--batch-size", "4", "--workers", "1", "--json"),
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_rows(db, indexer, minimum=4)
        assert indexer.poll() is None
        found = subprocess.run(
            _mmsearch("query", "a chair", "--db", str(db), "-k", "3", "--json"),
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert found.returncode == 0, found.stderr
        assert 1 <= len(json.loads(found.stdout)["results"]) <= 3
    finally:
        out, err = indexer.communicate(timeout=600)
    assert indexer.returncode == 0, err
    assert json.loads(out)["new"] == 60
