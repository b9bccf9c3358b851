"""Decode image files safely: size and time limits, EXIF orientation and facts, JPEG draft mode, clear errors."""

from __future__ import annotations

import io
import os
import time
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from retrieval.errors import MediaDecodeError
from retrieval.media.exif import PhotoFacts, photo_facts
from retrieval.media.photo_formats import HEIF_EXTENSIONS, RAW_EXTENSIONS, raw_preview, register_heif

ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_PIXELS = 180_000_000
"""Refuse images larger than this (decompression-bomb guard)."""
DECODE_LIMIT_S = 30.0
"""Seconds one image may take to decode before it is given up ($MMSEARCH_DECODE_LIMIT_S overrides it)."""
RAW_PREVIEW_MIN_SIDE = 224
"""A camera RAW file's embedded preview is used when its shorter side is at least this (or the draft size)."""
DECODE_BLOCK = 16_384
"""Bytes handed to the decoder per call: zlib expands a byte at most ~1,000-fold, so between two checks
of the time limit a PNG decodes at most ~16 MB."""


@dataclass(frozen=True)
class DecodedImage:
    """An oriented RGB image, the original's displayed size, and its EXIF facts."""

    image: Image.Image
    width: int
    height: int
    facts: PhotoFacts


def load_image(path: str | Path) -> Image.Image:
    """Open, fully decode and orient an image file as RGB; raise MediaDecodeError on failure."""
    return decode_image(path, name=str(path)).image


def decode_limit_s() -> float:
    """The per-image decode time limit in seconds: $MMSEARCH_DECODE_LIMIT_S, else DECODE_LIMIT_S."""
    raw = os.environ.get("MMSEARCH_DECODE_LIMIT_S", "")
    try:
        return float(raw) if raw else DECODE_LIMIT_S
    except ValueError:
        raise MediaDecodeError(f"MMSEARCH_DECODE_LIMIT_S must be a number of seconds, not {raw!r}") from None


def decode_image(
    source: str | Path | BinaryIO, name: str, draft_size: int | None = None, time_limit_s: float | None = None
) -> DecodedImage:
    """Decode `source` to an oriented RGB image, with the original (displayed) size and EXIF facts.

    `draft_size` lets JPEG decode at a reduced scale when the photo is far larger than
    the model's input (Pillow's draft mode), which is much faster for big photos. Decoding that takes
    longer than `time_limit_s` (default: `decode_limit_s()`) stops with MediaDecodeError.
    """
    limit = decode_limit_s() if time_limit_s is None else time_limit_s
    suffix = Path(name).suffix.lower()
    if suffix in RAW_EXTENSIONS:
        return _decode_raw(source, name, draft_size, limit)
    if suffix in HEIF_EXTENSIONS:
        register_heif()
    return _decode_pillow(source, name, draft_size, limit)


def _decode_pillow(source: str | Path | BinaryIO, name: str, draft_size: int | None, limit: float) -> DecodedImage:
    """`decode_image` of a format Pillow opens."""
    try:
        with _binary(source) as raw, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(cast(BinaryIO, _TimedReader(raw, time.monotonic() + limit))) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise MediaDecodeError(f"{name}: image too large ({im.width}x{im.height})")
                im.decodermaxblock = DECODE_BLOCK
                width, height = _oriented_size(im)
                facts = photo_facts(im)
                if draft_size and im.format == "JPEG":
                    im.draft("RGB", (draft_size * 2, draft_size * 2))
                im.load()
                return DecodedImage(_to_rgb(ImageOps.exif_transpose(im)), width, height, facts)
    except MediaDecodeError:
        raise
    except _TooSlow:
        raise MediaDecodeError(
            f"{name}: decoding took over {limit:g} s, given up (MMSEARCH_DECODE_LIMIT_S raises the limit)"
        ) from None
    except UnidentifiedImageError as err:
        raise MediaDecodeError(f"{name}: not a readable image (unknown or corrupt format)") from err
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise MediaDecodeError(f"{name}: cannot decode image ({err.__class__.__name__}: {err})") from err


def _decode_raw(source: str | Path | BinaryIO, name: str, draft_size: int | None, limit: float) -> DecodedImage:
    """A camera RAW file through its embedded preview (see `photo_formats`), as `decode_image` gives it."""
    with _binary(source) as raw:
        picture, (width, height), turns = raw_preview(raw, name, draft_size or RAW_PREVIEW_MIN_SIDE)
    if not isinstance(picture, bytes):
        return DecodedImage(picture, width, height, PhotoFacts())
    decoded = _decode_pillow(io.BytesIO(picture), f"{name} (its JPEG preview)", draft_size, limit)
    image = decoded.image.rotate(turns, expand=True) if turns else decoded.image
    return DecodedImage(image, width, height, decoded.facts)


def _binary(source: str | Path | BinaryIO) -> AbstractContextManager[BinaryIO]:
    """`source` opened for reading if it is a path, else itself (left open)."""
    return open(source, "rb") if isinstance(source, (str, Path)) else nullcontext(source)


class _TooSlow(Exception):
    """The decode time limit passed."""


class _TimedReader:
    """A binary file whose reads fail once `deadline` (time.monotonic) has passed: Pillow reads the
    compressed data a block at a time between decoder calls, so a slow decode stops at the next block.
    Everything else (seek, tell, ...) is the wrapped file's."""

    def __init__(self, raw: BinaryIO, deadline: float) -> None:
        self.raw = raw
        self.deadline = deadline

    def read(self, size: int = -1) -> bytes:
        self._check()
        return self.raw.read(size)

    def readline(self, size: int = -1) -> bytes:
        self._check()
        return self.raw.readline(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def _check(self) -> None:
        if time.monotonic() > self.deadline:
            raise _TooSlow


def _oriented_size(im: Image.Image) -> tuple[int, int]:
    rotated = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (im.height, im.width) if rotated else (im.width, im.height)


def _to_rgb(im: Image.Image) -> Image.Image:
    """`im` as 8-bit RGB (`im` itself when it is: callers pass an image of their own, not one tied to a file)."""
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit samples: Pillow's convert would clip them to white
        eight_bit = np.clip(np.asarray(im, dtype=np.float32) / 257, 0, 255).astype(np.uint8)
        return Image.fromarray(eight_bit).convert("RGB")
    if im.mode in ("RGBA", "LA", "P", "PA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")
