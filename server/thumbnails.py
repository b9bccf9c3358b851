"""Thumbnails made on first request and cached under `<index>/thumbnails/`, keyed by content hash.

A changed file has a new content hash, so it never gets a stale thumbnail. Files are written to a
temporary name and moved into place with os.replace; the cache is bounded (least recently used
entries go first). A video item's thumbnail is the frame in the middle of its span (the time is part
of the key). A missing, unsafe or undecodable source gives a placeholder, as do audio and text items,
which get their own icons.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from retrieval.errors import ItemNotFoundError, MediaDecodeError
from server.media_files import media_path

_UNRENDERABLE: tuple[type[Exception], ...] = (
    ItemNotFoundError,
    MediaDecodeError,
    OSError,
    ValueError,
    SyntaxError,
    Image.DecompressionBombError,
)
"""Why a source cannot become a thumbnail (missing, refused or undecodable): a placeholder is served."""


@dataclass(frozen=True)
class Thumbnail:
    """A JPEG to send: a cached file, or placeholder bytes; `etag` changes when the picture would."""

    etag: str
    path: Path | None = None
    data: bytes = b""
    cached: bool = False


class ThumbnailCache:
    """Bounded on-disk cache of `size_px` JPEG thumbnails in `folder`."""

    def __init__(self, folder: Path, size_px: int, max_bytes: int) -> None:
        self.folder = folder
        self.size_px = size_px
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes: int | None = None

    def get(self, row: dict[str, Any]) -> Thumbnail:
        """The thumbnail of catalog row `row` (see the module docstring)."""
        if row["modality"] not in ("image", "video"):
            return self._placeholder(str(row["modality"]))
        at = video_time(row)
        key = f"{row['content_hash']}:{self.size_px}" + (f":{at:.3f}" if at is not None else "")
        target = self.folder / (hashlib.sha256(key.encode()).hexdigest() + ".jpg")
        etag = target.stem[:32]
        if target.is_file():
            os.utime(target)  # recently used: kept longest by the eviction
            return Thumbnail(etag, path=target, cached=True)
        try:
            source = media_path(row)
            data = render_thumbnail(source, self.size_px) if at is None else render_frame(source, at, self.size_px)
        except _UNRENDERABLE:
            return self._placeholder("broken")
        if not self._store(target, data):  # the disk is full: serve it uncached
            return Thumbnail(etag, data=data)
        return Thumbnail(etag, path=target)

    def _placeholder(self, kind: str) -> Thumbnail:
        return Thumbnail(f"placeholder-{kind}-{self.size_px}", data=placeholder(kind, self.size_px))

    def _store(self, target: Path, data: bytes) -> bool:
        """Cache `data` at `target`; False (nothing left behind) when it cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".jpg")
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return False
        with self._lock:
            self._bytes = (self._bytes if self._bytes is not None else self._scan_bytes()) + len(data)
            if self._bytes > self.max_bytes:
                self._evict()
        return True

    def _scan_bytes(self) -> int:
        return sum(size for _, size, _ in self._cached_files())

    def _cached_files(self) -> list[tuple[float, int, str]]:
        """(mtime, size, path) of every cached thumbnail; another thread's temp file, or a file that
        vanishes while the folder is read (renamed or evicted meanwhile), is not one."""
        files = []
        for entry in os.scandir(self.folder):
            if entry.name.endswith(".jpg") and not entry.name.startswith("."):
                with contextlib.suppress(FileNotFoundError):
                    stat = entry.stat()
                    files.append((stat.st_mtime, stat.st_size, entry.path))
        return files

    def _evict(self) -> None:
        """Delete least recently used thumbnails until the cache is at 90% of its limit."""
        entries = sorted(self._cached_files())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.max_bytes * 0.9:
                break
            with contextlib.suppress(FileNotFoundError):  # another process evicted it first
                os.unlink(path)
            total -= size
        self._bytes = total


def render_thumbnail(source: Path, size_px: int) -> bytes:
    """JPEG bytes of `source` scaled to fit `size_px`, upright per EXIF, alpha flattened."""
    with Image.open(source) as opened:
        opened.draft("RGB", (size_px * 2, size_px * 2))  # JPEG: decode at reduced scale
        im: Image.Image = ImageOps.exif_transpose(opened)
        im.thumbnail((size_px, size_px), Image.Resampling.LANCZOS)
        if im.mode in ("RGBA", "LA", "P"):
            rgba = im.convert("RGBA")
            im = Image.new("RGB", im.size, (238, 240, 244))
            im.paste(rgba, mask=rgba.getchannel("A"))
        out = io.BytesIO()
        im.convert("RGB").save(out, "JPEG", quality=82)
    return out.getvalue()


def video_time(row: dict[str, Any]) -> float | None:
    """The time of a video item's thumbnail frame (the middle of its span), None for other items."""
    if row["modality"] != "video":
        return None
    start, end = row.get("start_s") or 0.0, row.get("end_s")
    return (start + end) / 2 if end is not None else start


def render_frame(source: Path, time_s: float, size_px: int) -> bytes:
    """JPEG bytes of the video frame shown at `time_s`, upright, scaled to fit `size_px`."""
    from retrieval.media.video import frame_at

    im = frame_at(source, time_s, short_side=size_px)
    im.thumbnail((size_px, size_px), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=82)
    return out.getvalue()


@functools.lru_cache(maxsize=16)
def placeholder(kind: str, size_px: int) -> bytes:
    """A generated icon: 'audio' (waveform), 'text' (lines of text) or anything else (a broken picture)."""
    s = size_px
    colours = {"audio": ((34, 45, 74), (125, 166, 255)), "text": ((44, 38, 64), (196, 170, 255))}
    background, ink = colours.get(kind, ((58, 58, 64), (150, 150, 160)))
    im = Image.new("RGB", (s, s), background)
    draw = ImageDraw.Draw(im)
    if kind == "audio":
        heights = [0.18, 0.35, 0.6, 0.42, 0.8, 0.55, 0.3, 0.65, 0.45, 0.22, 0.38, 0.16]
        bar = s / (len(heights) * 2 + 1)
        for n, h in enumerate(heights):
            x = bar * (2 * n + 1)
            draw.rounded_rectangle((x, s / 2 - h * s / 3, x + bar, s / 2 + h * s / 3), radius=bar / 2, fill=ink)
    elif kind == "text":
        for n, width in enumerate((0.7, 0.62, 0.7, 0.45)):
            y = s * (0.3 + 0.13 * n)
            draw.rounded_rectangle((s * 0.15, y, s * (0.15 + width), y + s * 0.05), radius=s * 0.025, fill=ink)
    else:
        draw.rectangle((s * 0.25, s * 0.28, s * 0.75, s * 0.72), outline=ink, width=max(2, s // 40))
        draw.line((s * 0.25, s * 0.72, s * 0.75, s * 0.28), fill=ink, width=max(2, s // 40))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()
