"""Indexing stores a photo's EXIF facts in the catalog, where `--where` can filter on them."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from cli.app import app
from tests.media.test_exif import exif_photo


def test_exif_columns_are_filled_and_filterable(runner, tmp_path: Path, data_dir: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    exif_photo(data_dir / "skimage_data" / "images" / "chelsea.png", photos / "cat.jpg")
    shutil.copy(data_dir / "skimage_data" / "images" / "coffee.png", photos / "coffee.png")
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(photos), "--db", db, "--workers", "0"]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "query",
            "a cat",
            "--db",
            db,
            "--json",
            "--where",
            "camera_make = 'Canon' AND taken_at < TIMESTAMP '2020-01-01'",
        ],
    )
    assert result.exit_code == 0, result.output
    (hit,) = json.loads(result.stdout)["results"]
    assert hit["path"].endswith("cat.jpg") and hit["camera_model"] == "Canon EOS 5D"
    assert dt.datetime.fromisoformat(hit["taken_at"]) == dt.datetime(2019, 7, 14, 16, 5, 9)
    assert hit["taken_offset"] == "+02:00" and round(hit["gps_lat"], 3) == 48.858
