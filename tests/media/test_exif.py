"""Photo facts from EXIF: capture time and offset, camera, GPS; absent or malformed tags are None."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PIL import Image

from retrieval.media.exif import PhotoFacts, photo_facts


def exif_photo(source: Path, target: Path, gps: bool = True) -> Path:
    """`source` re-saved as a JPEG with camera, capture-time and (optionally) GPS tags."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif[0x0132] = "2020:01:01 00:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2019:07:14 16:05:09"
    sub[0x9011] = "+02:00"
    if gps:
        location = exif.get_ifd(0x8825)
        location[1], location[2] = "N", (48.0, 51.0, 29.6)
        location[3], location[4] = "W", (2.0, 17.0, 40.2)
    with Image.open(source) as im:
        im.convert("RGB").save(target, exif=exif)
    return target


def test_all_facts_of_a_tagged_photo(tmp_path: Path, data_dir: Path) -> None:
    path = exif_photo(data_dir / "skimage_data" / "images" / "chelsea.png", tmp_path / "cat.jpg")
    with Image.open(path) as im:
        facts = photo_facts(im)
    assert facts.taken_at == dt.datetime(2019, 7, 14, 16, 5, 9) and facts.taken_offset == "+02:00"
    assert (facts.camera_make, facts.camera_model) == ("Canon", "Canon EOS 5D")
    assert facts.gps_lat is not None and abs(facts.gps_lat - 48.8582222) < 1e-6
    assert facts.gps_lon is not None and abs(facts.gps_lon + 2.2945) < 1e-6


def test_untagged_and_malformed(tmp_path: Path, data_dir: Path) -> None:
    with Image.open(data_dir / "skimage_data" / "images" / "coffee.png") as im:
        assert photo_facts(im) == PhotoFacts()
    exif = Image.Exif()
    exif[0x0132] = "0000:00:00 00:00:00"
    Image.new("RGB", (8, 8)).save(tmp_path / "zero.jpg", exif=exif)
    with Image.open(tmp_path / "zero.jpg") as im:
        assert photo_facts(im).taken_at is None
