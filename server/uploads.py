"""Uploaded media saved to a temporary file whose suffix the engine trusts (image or audio by extension)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import HTTPException, UploadFile

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3"})
_BY_CONTENT_TYPE = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
}


def upload_suffix(upload: UploadFile) -> str:
    """The file's extension if it is a supported one, else one implied by its content type; 400 otherwise."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix in IMAGE_SUFFIXES | AUDIO_SUFFIXES:
        return suffix
    by_type = _BY_CONTENT_TYPE.get((upload.content_type or "").split(";")[0].strip().lower())
    if by_type:
        return by_type
    raise HTTPException(
        400,
        f"unsupported file type {upload.filename or upload.content_type!r}: "
        "upload an image (jpg, png, webp, ...) or a sound (wav, flac, ogg, mp3)",
    )


@contextlib.contextmanager
def saved_uploads(uploads: list[UploadFile]) -> Iterator[list[Path]]:
    """The uploads as files in a private temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="mmsearch-upload-") as folder:
        paths = []
        for n, upload in enumerate(uploads):
            path = Path(folder) / f"upload-{n}{upload_suffix(upload)}"
            with path.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            paths.append(path)
        yield paths
