"""Phone and camera photos (the `photos` extra): HEIC with its orientation, AVIF, camera RAW through the
embedded preview or a demosaic, indexed like JPEGs; without the extra, one line says how to install it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retrieval.engine import Engine
from retrieval.errors import MediaDecodeError
from retrieval.media.image import decode_image
from retrieval.media.photo_formats import INSTALL, register_heif
from retrieval.media.scan import scan
from retrieval.types import IndexSettings
from tests.conftest import caltech_test_images
from tests.fixtures.camera_raw import write_dng


@pytest.fixture(scope="module")
def photo(data_dir: Path) -> Image.Image:
    with Image.open(caltech_test_images(data_dir, ("dolphin",), per_class=1)[0][0]) as opened:
        return opened.convert("RGB")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, photo: Image.Image) -> Path:
    """The photo as phone.heic (stored turned, EXIF orientation 6), web.avif, camera.dng (stored turned, its
    preview unturned, orientation 6), bare.dng (no preview, twice the size: it is demosaiced at half size) and
    the JPEG it came from."""
    root = tmp_path_factory.mktemp("formats")
    register_heif()
    turned = photo.transpose(Image.Transpose.ROTATE_90)  # what the sensor saw with the phone held upright
    exif = Image.Exif()
    exif[0x0112] = 6
    turned.save(root / "phone.heic", format="HEIF", quality=90, exif=exif.tobytes())
    photo.save(root / "web.avif", format="AVIF", quality=90)
    write_dng(root / "camera.dng", turned, preview=True, orientation=6)
    write_dng(root / "bare.dng", photo.resize((photo.width * 2, photo.height * 2), Image.Resampling.BICUBIC), False)
    photo.save(root / "original.jpg", quality=95)
    return root


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0-255) after bringing `b` to `a`'s size."""
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b.resize(a.size), np.float32)).mean())


@pytest.mark.parametrize("name", ["phone.heic", "web.avif", "camera.dng"])
def test_each_format_decodes_upright_with_its_displayed_size(folder: Path, photo: Image.Image, name: str) -> None:
    decoded = decode_image(folder / name, name)
    assert decoded.image.size == photo.size
    assert abs(decoded.width - photo.width) <= 1 and abs(decoded.height - photo.height) <= 1  # a mosaic is even
    assert _difference(photo, decoded.image) < 8.0


@pytest.mark.parametrize("preview_side", [None, 96])
def test_a_raw_file_without_a_large_preview_is_demosaiced_at_half_size(
    folder: Path, photo: Image.Image, tmp_path: Path, preview_side: int | None
) -> None:
    """No preview at all, or only a thumbnail smaller than the model input."""
    path = folder / "bare.dng"
    if preview_side:
        twice = photo.resize((photo.width * 2, photo.height * 2), Image.Resampling.BICUBIC)
        path = write_dng(tmp_path / "thumbnail.dng", twice, preview=True, preview_side=preview_side)
    decoded = decode_image(path, path.name)
    assert (decoded.width, decoded.height) == (photo.width * 2, photo.height * 2)
    assert decoded.image.size == photo.size
    assert _difference(decoded.image, photo) < 16.0  # a real demosaic: colour and edges are close, not equal


def test_they_index_like_the_jpeg(folder: Path, tmp_path: Path) -> None:
    engine = Engine(tmp_path / "db")
    report = engine.index([folder], IndexSettings(workers=0))
    assert (report.new, report.skipped) == (5, 0), report.failures
    ids, vectors = engine.catalog.vectors()
    paths = {row["path"]: vectors[list(ids).index(i)] for i, row in engine.catalog.rows(ids).items()}
    original = paths[str(folder / "original.jpg")]
    for name in ("phone.heic", "web.avif", "camera.dng", "bare.dng"):
        assert float(original @ paths[str(folder / name)]) > 0.9, name


def test_damaged_files_are_one_line(tmp_path: Path, folder: Path) -> None:
    for name, data in (("cut.heic", (folder / "phone.heic").read_bytes()[:300]), ("cut.dng", b"II*\x00" + bytes(64))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(MediaDecodeError) as error:
            decode_image(tmp_path / name, name)
        assert str(error.value).startswith(f"{name}: ") and "\n" not in str(error.value)


def test_without_the_extra_the_scan_and_the_decoder_say_how_to_install_it(folder: Path, monkeypatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("pillow_heif", "rawpy") else find_spec(name, *a)
    )
    skipped: dict[str, str] = {}

    def skip(path: str, reason: str, link: str | None = None) -> None:
        skipped[path] = reason

    found = [Path(f.path).name for f in scan([folder], frozenset({"image"}), skip)]
    assert sorted(found) == ["original.jpg", "web.avif"]
    assert sorted(Path(p).name for p in skipped) == ["bare.dng", "camera.dng", "phone.heic"]
    assert all(reason.endswith(INSTALL) for reason in skipped.values()), skipped
    with pytest.raises(MediaDecodeError, match="mmsearch\\[photos\\]"):
        decode_image(folder / "bare.dng", "bare.dng")
