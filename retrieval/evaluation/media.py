"""Decoding of evaluation media by file extension (images now; other kinds plug in here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from retrieval.errors import MediaDecodeError
from retrieval.types import Modality

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def load_image(path: Path) -> Any:
    """Decode an image file into an RGB PIL image (MediaDecodeError when it cannot)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise MediaDecodeError(f"cannot decode image {path}: {err}") from err


LOADERS: dict[Modality, tuple[frozenset[str], Callable[[Path], Any]]] = {
    "image": (IMAGE_EXTENSIONS, load_image),
}
"""Modality -> (file extensions, decoder). Register further media kinds here."""


def modality_of(path: Path) -> Modality:
    """The modality a file's extension promises (MediaDecodeError for unknown extensions)."""
    suffix = path.suffix.lower()
    for modality, (extensions, _) in LOADERS.items():
        if suffix in extensions:
            return modality
    raise MediaDecodeError(f"unsupported media file type {suffix!r}: {path}")


def load_media(path: Path) -> tuple[Modality, Any]:
    """Decode `path` with the loader its extension selects; returns (modality, decoded media)."""
    modality = modality_of(path)
    return modality, LOADERS[modality][1](path)
