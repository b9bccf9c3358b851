"""A small real index (images, WAVs, captions) built once per session, and clients for the app."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from retrieval import Engine, IndexSettings
from server.app import create_app
from server.settings import ServerSettings
from tests.media.test_exif import exif_photo

CALTECH = ("airplanes", "dolphin", "elephant", "pizza", "sunflower", "watch", "laptop", "chair")
SKIMAGE = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_right.png",
    "horse.png",
    "camera.png",
    "moon.png",
)
CAPTIONS_PER_IMAGE = 1
FLICKR_IMAGES = 30
WAVS = 20


@dataclass(frozen=True)
class ServedIndex:
    """The session's index folder and where its media came from."""

    db: Path
    media: Path
    captions: Path
    planted: Path
    """An indexed image that a security test may replace by a symlink (and then restores)."""


def _copy_media(data_dir: Path, media: Path) -> None:
    with open(data_dir / "caltech101" / "labels.csv", newline="") as handle:
        taken: dict[str, int] = {}
        for row in csv.DictReader(handle):
            label = row["label"].lower()
            if row["split"] == "test" and label in CALTECH and taken.get(label, 0) < 3:
                taken[label] = taken.get(label, 0) + 1
                (media / "photos" / label).mkdir(parents=True, exist_ok=True)
                shutil.copy2(data_dir / "caltech101" / row["path"], media / "photos" / label)
    (media / "skimage").mkdir()
    for name in SKIMAGE:
        shutil.copy2(data_dir / "skimage_data" / "images" / name, media / "skimage" / name)
    (media / "sounds").mkdir()
    for wav in sorted((data_dir / "fsdd" / "recordings").glob("*_jackson_*.wav"))[:WAVS]:
        shutil.copy2(wav, media / "sounds" / wav.name)
    (media / "camera").mkdir()
    exif_photo(data_dir / "skimage_data" / "images" / "coffee.png", media / "camera" / "coffee-canon.jpg")
    (media / "planted").mkdir()
    shutil.copy2(data_dir / "skimage_data" / "images" / "coins.png", media / "planted" / "coins.png")


def _write_captions(data_dir: Path, out: Path) -> Path:
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    with open(data_dir / "flickr8k_800" / "captions.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["image"] not in seen and len(seen) < FLICKR_IMAGES:
                seen.add(row["image"])
                rows.append((Path(row["image"]).stem, row["caption"].strip()))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "caption"])
        writer.writerows(rows)
    return out


@pytest.fixture(scope="session")
def served_index(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> ServedIndex:
    """Index ~40 Caltech/skimage photos, 20 FSDD WAVs and 30 Flickr8k captions with the default model."""
    root = tmp_path_factory.mktemp("served")
    media = root / "media"
    media.mkdir()
    _copy_media(data_dir, media)
    captions = _write_captions(data_dir, root / "captions.csv")
    db = root / "db"
    Engine(db).index([media], IndexSettings(transcribe=False), captions=[captions])
    return ServedIndex(db, media, captions, media / "planted" / "coins.png")


@pytest.fixture(scope="session")
def engine(served_index: ServedIndex) -> Engine:
    """One Engine on the session index, shared by the apps (as in a real server)."""
    return Engine(served_index.db)


@pytest.fixture(scope="session")
def app(served_index: ServedIndex, engine: Engine):
    """The app without a token (loopback)."""
    return create_app(ServerSettings(db=served_index.db), engine)


@pytest.fixture()
def client(app) -> Iterator[httpx.Client]:
    """A synchronous client on the ASGI app (FastAPI's TestClient, which is httpx)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


REPO = Path(__file__).resolve().parents[2]
MMSEARCH = Path(sys.executable).with_name("mmsearch")


@dataclass
class ServeProcess:
    """A running `mmsearch serve`: its base URL and everything it printed so far."""

    url: str
    process: subprocess.Popen
    lines: list[str]

    @property
    def log(self) -> str:
        """stdout and stderr so far."""
        return "".join(self.lines)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a `mmsearch` subprocess (the repo on sys.path, so `server` imports from a checkout)."""
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


@contextlib.contextmanager
def serve(db: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    """Start the console script `mmsearch serve --db DB --port 0 ARGS` and wait for its 'serving' line."""
    process = subprocess.Popen(
        [str(MMSEARCH), "serve", "--db", str(db), "--port", "0", *args],
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    first = process.stdout.readline()  # type: ignore[union-attr]
    lines.append(first)
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]
    try:
        match = re.match(r"serving (http://\S+)  \(Ctrl-C stops\)", first)
        assert match, (
            f"mmsearch serve did not start: {first}{process.stdout.read() if process.poll() is not None else ''}"
        )
        yield ServeProcess(match.group(1), process, lines)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def server_process(served_index: ServedIndex) -> Iterator[ServeProcess]:
    """One real `mmsearch serve` on the session index (loopback, no token)."""
    with serve(served_index.db) as running:
        yield running


@pytest.fixture(scope="session")
def start_server():
    """`serve(db, *args)`: a context manager running `mmsearch serve` (for tests that need their own)."""
    return serve


@pytest.fixture(scope="session")
def mmsearch() -> tuple[Path, dict[str, str]]:
    """The console script and the environment to run it in."""
    return MMSEARCH, cli_env()
