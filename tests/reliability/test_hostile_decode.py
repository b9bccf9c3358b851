"""Hostile images at the decoder: each lands upright and in true colours, or fails with one line."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retrieval.errors import MediaDecodeError
from retrieval.media.image import decode_image
from tests.reliability.hostile import (
    ORIENTATIONS,
    animated,
    cmyk_of,
    jpeg_bomb,
    oriented_jpeg,
    png_bomb,
    slow_png,
    ycck_jpeg,
)


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


def test_ycck_jpeg_decodes_to_true_colours(chelsea: np.ndarray, tmp_path: Path) -> None:
    path = ycck_jpeg(chelsea, tmp_path / "ycck.jpg")
    with Image.open(path) as im:
        assert (im.mode, im.info.get("adobe_transform")) == ("CMYK", 2)  # Adobe YCCK, read back as CMYK
        inks = np.asarray(im, dtype=np.int16)
    assert float(np.abs(inks - cmyk_of(chelsea)).mean()) < 3  # the inks, K included, through YCC and back
    reference = np.asarray(Image.fromarray(cmyk_of(chelsea), "CMYK").convert("RGB"))
    assert _error(decode_image(path, "ycck").image, reference) < 4
    as_cmyk = bytearray(path.read_bytes())
    as_cmyk[as_cmyk.index(b"\xff\xee\x00\x0eAdobe") + 15] = 0  # the same components taken for plain CMYK
    (tmp_path / "not-ycck.jpg").write_bytes(bytes(as_cmyk))
    assert _error(decode_image(tmp_path / "not-ycck.jpg", "not").image, reference) > 20  # so YCC really was undone


@pytest.fixture(scope="module")
def slow_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG that takes about a second to decode (see `slow_png`)."""
    return slow_png(tmp_path_factory.mktemp("slow") / "slow.png")


def test_a_slow_image_is_given_up_at_the_time_limit(slow_image: Path) -> None:
    path = slow_image
    started = time.perf_counter()
    assert decode_image(path, "slow", time_limit_s=60).image.size == (6000, 6000)
    full = time.perf_counter() - started
    limit = min(0.2, full / 4)
    started = time.perf_counter()
    with pytest.raises(MediaDecodeError, match=r"decoding took over .* s, given up") as err:
        decode_image(path, "slow", time_limit_s=limit)
    stopped = time.perf_counter() - started
    assert stopped < (limit + full) / 2 and "\n" not in str(err.value)  # stopped mid-decode, not after it
    print(f"slow PNG: decodes in {full:.2f} s; given up after {stopped:.2f} s at a {limit:.2f} s limit")


def test_the_index_load_path_skips_a_slow_image_with_one_line(
    slow_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.ingest.load import FailedFile, FileLoader, LoadedFile
    from retrieval.media.scan import FileFacts

    monkeypatch.setenv("MMSEARCH_DECODE_LIMIT_S", "0.05")
    loader = FileLoader(image_transform=lambda image: image.size, audio_transform=None)
    slow, small = slow_image, tmp_path / "small.png"
    Image.new("RGB", (64, 48), "red").save(small)
    failed = loader(FileFacts(str(slow), "image", slow.stat().st_size, 0.0))
    assert isinstance(failed, FailedFile) and failed.reason.startswith(f"{slow}: decoding took over 0.05 s")
    assert "MMSEARCH_DECODE_LIMIT_S" in failed.reason and "\n" not in failed.reason
    loaded = loader(FileFacts(str(small), "image", small.stat().st_size, 0.0))
    assert isinstance(loaded, LoadedFile) and loaded.inputs == [(64, 48)]


def test_corrupt_files_of_every_format_fail_with_one_line() -> None:
    """Every format Pillow writes, with bytes changed and cut short, and random bytes: each decodes or raises
    MediaDecodeError with one line; no other exception escapes (it would stop the whole indexing run)."""
    import io
    import os
    import random

    rng, blobs = random.Random(18), [os.urandom(n) for n in range(1, 4000, 20)]
    Image.init()
    for kind in sorted(Image.SAVE):
        encoded = io.BytesIO()
        try:
            Image.new("RGB", (40, 30), (200, 30, 90)).save(encoded, kind)
        except (OSError, ValueError, KeyError):  # formats that need another mode or options
            continue
        for _ in range(15):
            data = bytearray(encoded.getvalue())
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            blobs.append(bytes(data[: rng.randint(1, len(data))]))
    assert len(blobs) > 400
    for blob in blobs:
        try:
            decode_image(io.BytesIO(blob), "corrupt")
        except MediaDecodeError as err:
            assert "\n" not in str(err)


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
