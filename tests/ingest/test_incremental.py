"""Incremental indexing on real photos: new, changed, unchanged, moved, duplicate, removed, bad files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from cli.app import app
from tests.conftest import caltech_test_images


def _index(runner, folder: Path, db: Path) -> dict:
    result = runner.invoke(app, ["index", str(folder), "--db", str(db), "--json", "--workers", "0"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _counts(report: dict) -> dict:
    keys = ("new", "changed", "unchanged", "moved", "duplicates", "removed", "skipped")
    return {k: report[k] for k in keys}


def _paths(runner, db: Path, query: str = "a photo") -> set[str]:
    result = runner.invoke(app, ["query", query, "--db", str(db), "-k", "100", "--json"])
    return {r["path"] for r in json.loads(result.stdout)["results"]}


def test_incremental_cycle(runner, tmp_path: Path, data_dir: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    images = caltech_test_images(data_dir, ("pizza", "laptop", "crab"), per_class=4)
    for path, label in images:
        shutil.copy2(path, photos / f"{label}_{path.name}")
    db = tmp_path / "db"
    first = _index(runner, photos, db)
    assert _counts(first) == dict(new=12, changed=0, unchanged=0, moved=0, duplicates=0, removed=0, skipped=0)

    again = _index(runner, photos, db)
    assert _counts(again) == dict(new=0, changed=0, unchanged=12, moved=0, duplicates=0, removed=0, skipped=0)
    assert again["items"] == 0

    pizza = sorted(photos.glob("pizza_*"))
    (photos / "sub").mkdir()
    shutil.copy2(sorted(photos.glob("laptop_*"))[0], photos / "sub" / "copy_of_laptop.jpg")  # duplicate
    shutil.copy2(pizza[1], photos / "pizza_again.jpg")  # duplicate
    pizza[2].write_bytes((data_dir / "caltech101/images/sunflower/image_0003.jpg").read_bytes())  # changed
    os.rename(pizza[3], photos / "sub" / "renamed_pizza.jpg")  # moved
    pizza[0].unlink()  # deleted
    (photos / "zero.jpg").write_bytes(b"")  # zero-byte
    (photos / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))  # corrupt
    (photos / "truncated.jpg").write_bytes(images[5][0].read_bytes()[:2000])  # truncated
    (photos / "readme.txt").write_text("not an image")  # unsupported: ignored
    (photos / "pizza_ünïcödé 写真.jpg").write_bytes(
        data_dir.joinpath("caltech101/images/sunflower/image_0001.jpg").read_bytes()
    )  # unicode name, new content

    third = _index(runner, photos, db)
    assert _counts(third) == dict(new=1, changed=1, unchanged=9, moved=1, duplicates=2, removed=1, skipped=3)
    skipped = {Path(f["path"]).name for f in third["failures"]}
    assert skipped == {"zero.jpg", "corrupt.png", "truncated.jpg"}

    stored = _paths(runner, db)
    assert str(photos / "sub" / "renamed_pizza.jpg") in stored
    assert str(pizza[0]) not in stored and str(pizza[3]) not in stored
    assert str(photos / "pizza_ünïcödé 写真.jpg") in stored
    assert len(stored) == 12  # one deleted, one new; duplicates stored once; the moved file kept its vector

    for source, expected in (("image_0001.jpg", photos / "pizza_ünïcödé 写真.jpg"), ("image_0003.jpg", pizza[2])):
        probe = data_dir / "caltech101/images/sunflower" / source
        found = runner.invoke(app, ["query", "--image", str(probe), "--db", str(db), "-k", "1", "--json"])
        assert json.loads(found.stdout)["results"][0]["path"] == str(expected)

    info = json.loads(runner.invoke(app, ["info", "--db", str(db), "--json"]).stdout)
    assert info["counts"] == {"image": 12}

    removed = runner.invoke(app, ["rm", str(photos / "sub"), "--db", str(db)])
    assert removed.exit_code == 0 and "removed 1 files" in removed.stdout
    assert len(_paths(runner, db)) == 11


def test_a_root_reached_through_a_link_is_stored_by_its_real_path(runner, tmp_path: Path, data_dir: Path) -> None:
    """Files are stored by real path (the only paths the server serves); a catalog that stored them under
    the link (as before) moves to the real paths on the next run, with nothing embedded again."""
    import duckdb

    from server.filters import Filters, build_where
    from server.media_files import media_path

    photos, link, db = tmp_path / "photos", tmp_path / "link", tmp_path / "db"
    photos.mkdir()
    for path, label in caltech_test_images(data_dir, ("pizza", "crab"), per_class=2):
        shutil.copy2(path, photos / f"{label}_{path.name}")
    link.symlink_to(photos, target_is_directory=True)
    assert _counts(_index(runner, link, db))["new"] == 4
    catalog = db / "catalog.duckdb"
    with duckdb.connect(str(catalog)) as con:
        rows = con.execute("SELECT id, path, modality FROM items").fetchall()
        assert {Path(p).parent for _, p, _ in rows} == {photos}
        assert all(media_path({"id": i, "path": p, "modality": m}) == Path(p) for i, p, m in rows)
        con.execute("UPDATE items SET path = replace(path, ?, ?)", [str(photos), str(link)])  # as stored before
        con.execute("UPDATE items SET ref = path WHERE id = ?", [rows[0][0]])

    again = _index(runner, link, db)
    assert _counts(again)["unchanged"] == 4 and again["items"] == 0
    with duckdb.connect(str(catalog), read_only=True) as con:
        stored = con.execute("SELECT path, ref FROM items ORDER BY id").fetchall()
    assert {Path(p).parent for p, _ in stored} == {photos}
    assert stored[0][1] == stored[0][0]  # a segment's link to its file moves with it

    folder = build_where(Filters(folder=str(link)))
    assert folder is not None and f"'{photos}/'" in folder and f"'{link}/'" in folder
    removed = runner.invoke(app, ["rm", str(link), "--db", str(db)])
    assert removed.exit_code == 0, removed.output
    assert _paths(runner, db) == set()
