"""Image decoding on real photos and on broken files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from retrieval.errors import MediaDecodeError
from retrieval.media import image as image_module
from retrieval.media.image import decode_image, load_image


def test_real_photos_decode_to_rgb(data_dir: Path) -> None:
    for name in ("chelsea.png", "horse.png", "camera.png", "hubble_deep_field.jpg"):  # RGB, RGBA, L, JPEG
        image = load_image(data_dir / "skimage_data" / "images" / name)
        assert image.mode == "RGB" and image.width > 0


def test_transparency_is_flattened_on_white(data_dir: Path) -> None:
    horse = load_image(data_dir / "skimage_data" / "images" / "horse.png")
    assert horse.getpixel((0, 0)) == (255, 255, 255)


def test_draft_mode_shrinks_big_jpegs_but_reports_the_original_size(data_dir: Path) -> None:
    source = data_dir / "skimage_data" / "images" / "hubble_deep_field.jpg"
    full = decode_image(source, str(source))
    draft = decode_image(source, str(source), draft_size=64)
    assert (full.width, full.height) == (draft.width, draft.height) == full.image.size
    assert draft.image.width < full.image.width


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.new("RGB", (40, 20), (200, 10, 10)).save(path, exif=exif)
    decoded = decode_image(path, str(path))
    assert decoded.image.size == (20, 40) and (decoded.width, decoded.height) == (20, 40)


def test_broken_files_raise_one_clear_error(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    real = (data_dir / "skimage_data" / "images" / "hubble_deep_field.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(real[: len(real) // 3])
    for name in ("empty.jpg", "text.png", "truncated.jpg"):
        with pytest.raises(MediaDecodeError, match=name):
            load_image(tmp_path / name)


def test_decompression_bomb_is_refused(monkeypatch) -> None:
    buffer = io.BytesIO()
    Image.new("L", (100, 100)).save(buffer, format="PNG")
    monkeypatch.setattr(image_module, "MAX_PIXELS", 99 * 99)
    with pytest.raises(MediaDecodeError, match="too large"):
        decode_image(io.BytesIO(buffer.getvalue()), "bomb.png")
