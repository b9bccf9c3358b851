"""A folder of links to photos kept elsewhere: without --follow-links every link is reported (how many, and
why), none silently ignored; with it the photos are indexed under the links' paths, loops are skipped with
one line each, and the next run embeds nothing again."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from tests.reliability.harness import run_cli

pytestmark = pytest.mark.slow  # three real `mmsearch index` runs


@pytest.fixture(scope="module")
def linked_folder(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """`photos/`: one photo of its own, three links to photos outside it, a link to an outside album of two
    photos, a link back to itself (a loop) and a second link to the album (a folder already indexed)."""
    root = tmp_path_factory.mktemp("links")
    images = data_dir / "skimage_data" / "images"
    photos, elsewhere, album = root / "photos", root / "elsewhere", root / "album"
    for folder in (photos, elsewhere, album):
        folder.mkdir()
    shutil.copy2(images / "rocket.jpg", photos / "own.jpg")
    for name in ("coffee.png", "astronaut.png", "horse.png"):
        shutil.copy2(images / name, elsewhere / name)
        (photos / f"link-{name}").symlink_to(elsewhere / name)
    for name in ("camera.png", "coins.png"):
        shutil.copy2(images / name, album / name)
    (photos / "album").symlink_to(album)
    (photos / "self").symlink_to(photos)
    (photos / "sub").mkdir()
    (photos / "sub" / "album-again").symlink_to(album)
    return photos


def _index(photos: Path, db: Path, *extra: str) -> tuple[object, float]:
    started = time.monotonic()
    done = run_cli("index", str(photos), "--db", str(db), "--workers", "0", "--no-transcribe", *extra, timeout=300)
    assert done.returncode == 0, done.stderr
    return done, time.monotonic() - started


def test_links_are_reported_without_follow_links_and_indexed_with_it(linked_folder: Path, tmp_path: Path) -> None:
    photos, db = linked_folder, tmp_path / "db"
    plain, seconds = _index(photos, db, "--json")
    report = json.loads(plain.stdout)
    assert report["new"] == 1 and report["skipped"] == 6
    assert report["links_skipped"] == {"outside": 3, "folder": 3}
    assert all("--follow-links follows it" in f["reason"] for f in report["failures"])

    followed, follow_seconds = _index(photos, db, "--follow-links")
    assert "new 5," in followed.stdout and "skipped 2 " in followed.stdout, followed.stdout
    assert "links skipped: 2 back into a folder already indexed" in followed.stdout
    skips = [line for line in followed.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skips) == 2 and all("(a loop), not followed" in line for line in skips), skips
    assert {line.split(":")[1].strip() for line in skips} == {str(photos / "self"), str(photos / "sub" / "album-again")}
    with duckdb.connect(str(db / "catalog.duckdb"), read_only=True) as con:
        stored = {Path(p).relative_to(photos).as_posix() for (p,) in con.execute("SELECT path FROM items").fetchall()}
    assert stored == {
        "own.jpg",
        "link-coffee.png",
        "link-astronaut.png",
        "link-horse.png",
        "album/camera.png",
        "album/coins.png",
    }  # under the links' paths, where the user finds them

    again = json.loads(_index(photos, db, "--follow-links", "--json")[0].stdout)
    assert again["new"] == 0 and again["unchanged"] == 6 and again["links_skipped"] == {"loop": 2}
    print(f"links: plain run {seconds:.1f} s, followed {follow_seconds:.1f} s")
