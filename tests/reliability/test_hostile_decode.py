"""Hostile images at the decoder: each lands upright and in true colours, or fails with one line."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retrieval.errors import MediaDecodeError
from retrieval.media.image import decode_image
from tests.reliability.hostile import ORIENTATIONS, animated, jpeg_bomb, oriented_jpeg, png_bomb


@pytest.fixture(scope="module")
def chelsea(data_dir: Path) -> np.ndarray:
    """A real photo cropped to 300 x 200 (not square, so a wrong rotation changes its shape)."""
    return np.asarray(Image.open(data_dir / "skimage_data" / "images" / "chelsea.png").convert("RGB"))[:200, :300]


def _error(decoded: Image.Image, reference: np.ndarray) -> float:
    assert decoded.size == (reference.shape[1], reference.shape[0])
    return float(np.abs(np.asarray(decoded, dtype=np.int16) - reference.astype(np.int16)).mean())


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation_lands_upright(chelsea: np.ndarray, tmp_path: Path, orientation: int) -> None:
    path = oriented_jpeg(chelsea, orientation, tmp_path / f"o{orientation}.jpg")
    decoded = decode_image(path, path.name)
    assert (decoded.width, decoded.height) == (300, 200)
    assert _error(decoded.image, chelsea) < 4  # JPEG noise; a wrong turn or mirror is far above 30


def test_odd_modes_decode_to_true_colours(chelsea: np.ndarray, tmp_path: Path) -> None:
    gray = np.asarray(Image.fromarray(chelsea).convert("L"))
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "16bit.png")
    Image.fromarray(chelsea).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    palette = Image.fromarray(chelsea).convert("RGBA").quantize(64)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "palette-alpha.png", transparency=0)
    assert Image.open(tmp_path / "16bit.png").mode == "I;16"
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    assert _error(decode_image(tmp_path / "16bit.png", "16bit").image, np.stack([gray] * 3, -1)) < 1
    assert _error(decode_image(tmp_path / "cmyk.jpg", "cmyk").image, chelsea) < 4
    assert _error(decode_image(tmp_path / "palette-alpha.png", "palette").image, chelsea) < 20


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_animation_gives_its_first_frame(chelsea: np.ndarray, tmp_path: Path, suffix: str) -> None:
    first, second = Image.fromarray(chelsea), Image.fromarray(255 - chelsea)
    path = animated(first, second, tmp_path / f"anim{suffix}")
    assert getattr(Image.open(path), "n_frames", 1) == 2
    assert _error(decode_image(path, path.name).image, chelsea) < 25  # GIF's 256-colour palette


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_decompression_bomb_is_refused_fast_with_one_line(data_dir: Path, tmp_path: Path, kind: str) -> None:
    if kind == "png":
        path = png_bomb(tmp_path / "bomb.png")
    else:
        path = jpeg_bomb(data_dir / "skimage_data" / "images" / "rocket.jpg", tmp_path / "bomb.jpg")
    assert path.stat().st_size < 200_000
    started = time.perf_counter()
    with pytest.raises(MediaDecodeError, match=r"too large|decompression bomb") as err:
        decode_image(path, path.name)
    assert time.perf_counter() - started < 1 and "\n" not in str(err.value)
