"""One `mmsearch index` over a folder of hostile files: every file is indexed or skipped with exactly
one line, nothing hangs (a FIFO named x.jpg, /dev/zero named x.wav), links never lead out of the tree."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.reliability.harness import run_cli
from tests.reliability.hostile import jpeg_bomb, lying_wav, oriented_jpeg, png_bomb, special_files, ycck_jpeg

pytestmark = pytest.mark.slow  # one real `mmsearch index` run

NAMES = ("café 🐱 photo.jpg", "new\nline.png", "  spaced  name .png", "日本語.jpg")


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict[str, str]]:
    """The folder, and for each file expected to be skipped a word its one skip line must contain."""
    root = tmp_path_factory.mktemp("hostile")
    tree, outside = root / "tree", root / "outside"
    tree.mkdir()
    outside.mkdir()
    images, sounds = data_dir / "skimage_data" / "images", data_dir / "fsdd" / "recordings"
    shutil.copy2(images / "rocket.jpg", tree / "good.jpg")
    shutil.copy2(sounds / "3_theo_7.wav", tree / "good.wav")
    lying_wav(sounds / "5_lucas_9.wav", tree / "lying-header.wav")
    upright = np.asarray(Image.open(images / "chelsea.png").convert("RGB"))[:200, :300]
    for n in range(1, 9):
        oriented_jpeg(upright, n, tree / f"orientation-{n}.jpg")
    ycck_jpeg(upright, tree / "ycck.jpg")
    for n, name in enumerate(NAMES):
        shutil.copy2(images / ("coffee.png", "astronaut.png", "horse.png", "camera.png")[n], tree / name)
    (tree / "zero.png").write_bytes(b"")
    (tree / "corrupt.jpg").write_bytes(os.urandom(5000))
    (tree / "truncated.jpg").write_bytes((images / "rocket.jpg").read_bytes()[:4000])
    (tree / "not-a-sound.wav").write_bytes(b"RIFF" + os.urandom(300))
    png_bomb(tree / "bomb.png")
    jpeg_bomb(images / "rocket.jpg", tree / "bomb.jpg")
    (tree / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (tree / "raw.cr2").write_bytes(b"II*\x00")
    shutil.copy2(images / "coins.png", outside / "coins.png")
    (tree / "link-out.png").symlink_to(outside / "coins.png")
    (tree / "link-in.jpg").symlink_to(tree / "good.jpg")
    (tree / "broken.jpg").symlink_to(root / "nowhere.jpg")
    (tree / "loop.jpg").symlink_to(tree / "loop.jpg")
    (tree / "folder-loop").symlink_to(tree)
    (tree / "folder-out").symlink_to(outside)
    special_files(tree)
    skipped = {
        "zero.png": "empty",
        "corrupt.jpg": "not a readable image",
        "truncated.jpg": "cannot decode image",
        "not-a-sound.wav": "cannot decode audio",
        "bomb.png": "decompression bomb",
        "bomb.jpg": "decompression bomb",
        "photo.heic": "not a readable image",  # decoded with the photos extra, and damaged
        "raw.cr2": "cannot decode camera RAW",
        "link-out.png": "outside the indexed folders",
        "broken.jpg": "broken link",
        "loop.jpg": "links loop",
        "folder-loop": "link to a folder",
        "folder-out": "link to a folder",
        "fifo.jpg": "not a regular file (FIFO)",
        "socket.png": "not a regular file (socket)",
        "device.wav": "not a regular file (character device)",
    }
    return tree, skipped


def test_hostile_folder_is_indexed_or_skipped_one_line_each(
    hostile_folder: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    tree, skipped = hostile_folder
    started = time.monotonic()
    done = run_cli("index", str(tree), "--db", str(tmp_path / "db"), "--workers", "0", "--no-transcribe", timeout=300)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(lines) == len(skipped), "\n".join(lines)
    for name, reason in skipped.items():
        mine = [line for line in lines if f"{tree / name}:" in line]
        assert len(mine) == 1 and reason in mine[0], (name, mine)
    listed = run_cli("query", "a photo", "--db", str(tmp_path / "db"), "-k", "100", "--json")
    found = {Path(hit["path"]).name for hit in json.loads(listed.stdout)["results"]}
    indexed = {"good.jpg", "good.wav", "lying-header.wav", "ycck.jpg", *NAMES}
    indexed |= {f"orientation-{n}.jpg" for n in range(1, 9)}
    assert found == indexed  # link-in.jpg is good.jpg, stored once under its own path
    assert done.stdout.startswith("indexed in") and f"skipped {len(skipped)}" in done.stdout
    print(f"hostile folder: {len(indexed)} indexed, {len(skipped)} skipped in {seconds:.1f} s")


def test_orientations_embed_alike(hostile_folder: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """The eight orientation files are one upright scene: their stored vectors agree."""
    import duckdb

    tree, _ = hostile_folder
    db = tmp_path / "db"
    assert run_cli("index", *(str(tree / f"orientation-{n}.jpg") for n in range(1, 9)), "--db", str(db)).returncode == 0
    with duckdb.connect(str(db / "catalog.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT width, height, vector FROM items ORDER BY path").fetchall()
    assert {(w, h) for w, h, _ in rows} == {(300, 200)}
    vectors = np.stack([np.frombuffer(v, np.float16).astype(np.float32) for _, _, v in rows])
    assert len(vectors) == 8 and float((vectors @ vectors[0]).min()) > 0.97


def test_files_that_vanish_or_change_while_indexing(data_dir: Path, tmp_path: Path) -> None:
    """Files deleted after the scan are skipped with one line each; a file rewritten after the scan is
    stored as read, and the next run records its new size without embedding it again."""
    from retrieval.ingest.load import LOAD_BATCH, prefetch_batches
    from retrieval.types import IndexSettings
    from tests.reliability.harness import copy_into, media_pool, probed, start_cli, wait_for

    # by the first embedding the decode thread may have decoded its queue's batches, the one it is putting
    # there, the one being embedded and the next: the changed files come after all of those
    ahead = (prefetch_batches(IndexSettings(batch_size=1)) + 3) * LOAD_BATCH
    files = sorted(copy_into(tmp_path / "media", media_pool(data_dir, images=ahead + 12, wavs=0)))
    db, log = tmp_path / "db", tmp_path / "probe.log"
    args = ["index", str(tmp_path / "media"), "--db", str(db), "--batch-size", "1", "--workers", "0", "--json"]
    indexer = start_cli(*args, probe=log)
    wait_for(lambda: len(probed(log)) >= 1, indexer)
    for gone in files[-5:]:
        gone.unlink()
    with files[-6].open("ab") as handle:
        handle.write(b"\x00" * 100)  # bytes after the JPEG's end: decodes alike, other content
    out, err = indexer.communicate(timeout=600)
    assert indexer.returncode == 0, err
    report = json.loads(out)
    assert {Path(f["path"]).name for f in report["failures"]} == {p.name for p in files[-5:]}
    assert all("No such file" in f["reason"] for f in report["failures"])
    assert report["new"] == len(files) - 5
    again = json.loads(run_cli(*args, probe=tmp_path / "again.log").stdout)
    assert again["new"] == 0 and again["changed"] + again["unchanged"] == len(files) - 5
    assert set(probed(tmp_path / "again.log")) <= {str(files[-6])}
