"""Disk full (a small tmpfs the test mounts, as root): ENOSPC inside a batch commit, inside the FAISS
write and while caching a thumbnail gives one clear line, leaves the previous state intact, and the
next run after space is freed succeeds."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import Corpus
from tests.reliability.harness import assert_whole, read_index, run_cli


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of `size` at `folder` for the block (skips, saying why, where mounting is impossible)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        reason = f"cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): {mounted.stderr.decode().strip()}"
        if os.environ.get("CI"):  # CI runs as root: there a failed mount is a failure, never a skip
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Take all but `leave` bytes of the free space of `disk`; delete the returned file to free it."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("WARNING ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.mark.slow  # three `mmsearch` runs
def test_disk_full_during_a_commit(small_corpus: Corpus, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "16m") as disk:
        db = disk / "db"
        images = str(small_corpus.media / "img")
        assert run_cli("index", images, "--db", str(db), "--workers", "0", "--no-transcribe").returncode == 0
        before = read_index(db, small_corpus.root)
        filler = fill(disk)
        full = run_cli(*small_corpus.index_args(db))
        assert full.returncode == 1
        assert "No space left on device" in _error_line(full.stderr)
        after = read_index(db, small_corpus.root)
        assert after.rows.keys() == before.rows.keys() and after.generation == before.generation
        filler.unlink()
        assert run_cli(*small_corpus.index_args(db)).returncode == 0
        assert_whole(db, small_corpus.root, small_corpus.clean)


@pytest.mark.slow
def test_disk_full_during_the_faiss_write(small_corpus: Corpus, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "16m") as disk:
        db = disk / "db"
        shutil.copytree(small_corpus.root / "clean-db", db)
        old_faiss = (db / "vectors.faiss").read_bytes()
        filler = fill(disk, leave=16 * 1024)  # room for the delete's log entry, not for a new FAISS file
        full = run_cli("rm", str(small_corpus.media / "wav"), "--db", str(db))
        assert full.returncode == 1
        assert "vectors.faiss" in _error_line(full.stderr)
        assert (db / "vectors.faiss").read_bytes() == old_faiss  # the previous FAISS file, whole
        assert not [p for p in db.iterdir() if p.name.endswith(".tmp")]
        filler.unlink()
        assert run_cli(*small_corpus.index_args(db)).returncode == 0
        assert_whole(db, small_corpus.root, small_corpus.clean)  # the index run put the recordings back


def test_disk_full_while_caching_a_thumbnail(small_corpus: Corpus, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from retrieval import Engine
    from server.app import create_app
    from server.settings import ServerSettings

    with tmpfs(tmp_path / "disk", "16m") as disk:
        db = disk / "db"
        shutil.copytree(small_corpus.root / "clean-db", db)
        engine = Engine(db)
        image_id = int(engine.catalog.filter_ids("modality = 'image'")[0])
        fill(disk)
        with TestClient(create_app(ServerSettings(db=db), engine)) as client:
            answer = client.get(f"/api/items/{image_id}/thumbnail")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        assert answer.content[:2] == b"\xff\xd8"
        assert not [p for p in disk.rglob("*") if p.name.startswith(".tmp-")]
