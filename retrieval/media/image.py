"""Decode image files safely: size limits, EXIF orientation and facts, JPEG draft mode, clear errors."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from retrieval.errors import MediaDecodeError
from retrieval.media.exif import PhotoFacts, photo_facts

ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_PIXELS = 180_000_000
"""Refuse images larger than this (decompression-bomb guard)."""


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


def decode_image(source: str | Path | BinaryIO, name: str, draft_size: int | None = None) -> DecodedImage:
    """Decode `source` to an oriented RGB image, with the original (displayed) size and EXIF facts.

    `draft_size` lets JPEG decode at a reduced scale when the photo is far larger than
    the model's input (Pillow's draft mode), which is much faster for big photos.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise MediaDecodeError(f"{name}: image too large ({im.width}x{im.height})")
                width, height = _oriented_size(im)
                facts = photo_facts(im)
                if draft_size and im.format == "JPEG":
                    im.draft("RGB", (draft_size * 2, draft_size * 2))
                im.load()
                return DecodedImage(_to_rgb(ImageOps.exif_transpose(im)), width, height, facts)
    except MediaDecodeError:
        raise
    except UnidentifiedImageError as err:
        raise MediaDecodeError(f"{name}: not a readable image (unknown or corrupt format)") from err
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise MediaDecodeError(f"{name}: cannot decode image ({err.__class__.__name__}: {err})") from err


def _oriented_size(im: Image.Image) -> tuple[int, int]:
    rotated = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (im.height, im.width) if rotated else (im.width, im.height)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im.copy()
    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit samples: Pillow's convert would clip them to white
        eight_bit = np.clip(np.asarray(im, dtype=np.float32) / 257, 0, 255).astype(np.uint8)
        return Image.fromarray(eight_bit).convert("RGB")
    if im.mode in ("RGBA", "LA", "P", "PA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")
