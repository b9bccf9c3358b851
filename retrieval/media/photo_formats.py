"""Phone and camera photo formats beyond Pillow's own: HEIC/HEIF (pillow-heif) and camera RAW (rawpy);
AVIF is Pillow's own (11.3 and later).

Both decoders come with the `photos` extra. Without it, such files are reported by the scan with the
command that installs it. A RAW file is read through its embedded preview first: a full-size JPEG in
nearly every camera's files, decoded in JPEG draft mode like any photo. Only a file without a preview at
least as large as the model input is demosaiced, at half size, which is plenty for a 224 px input.
"""

from __future__ import annotations

import importlib.util
import io
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from retrieval.errors import MediaDecodeError

if TYPE_CHECKING:
    from PIL import Image

INSTALL = "pip install 'mmsearch[photos]'"
HEIF_EXTENSIONS = frozenset({".heic", ".heif"})
RAW_EXTENSIONS = frozenset({".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf"})
DECODER_PACKAGES = {**dict.fromkeys(HEIF_EXTENSIONS, "pillow_heif"), **dict.fromkeys(RAW_EXTENSIONS, "rawpy")}
"""Extension -> the module that decodes it."""
FORMAT_NAMES = {**dict.fromkeys(HEIF_EXTENSIONS, "HEIC/HEIF"), **dict.fromkeys(RAW_EXTENSIONS, "camera RAW")}
_TURNS = {3: 180, 5: 90, 6: 270}
"""LibRaw's `sizes.flip` -> counter-clockwise degrees that turn the picture upright."""
_heif_registered = False


def decoder_missing(suffix: str) -> str | None:
    """For a photo extension of this module: why it cannot be decoded here (one line), or None when it can."""
    if suffix.lower() == ".avif":
        from PIL import features

        return None if features.check("avif") else "AVIF photos need Pillow 11.3 or later: pip install -U pillow"
    package = DECODER_PACKAGES.get(suffix.lower())
    if package is None or importlib.util.find_spec(package) is not None:
        return None
    return f"{FORMAT_NAMES[suffix.lower()]} photos need {package.replace('_', '-')}: {INSTALL}"


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF files (once per process); MediaDecodeError without pillow-heif."""
    global _heif_registered
    if _heif_registered:
        return
    reason = decoder_missing(".heic")
    if reason:
        raise MediaDecodeError(reason)
    from pillow_heif import register_heif_opener

    register_heif_opener()
    _heif_registered = True


def raw_preview(source: BinaryIO, name: str, min_side: int) -> "tuple[Image.Image | bytes, tuple[int, int], int]":
    """A camera RAW file's picture, its displayed (width, height) and the counter-clockwise degrees still to
    turn the picture by: the embedded JPEG preview as bytes (to decode like any JPEG; 0 degrees when it carries
    an orientation of its own, which its decode applies), else its embedded bitmap, else (no preview, or one
    with a side under `min_side`) a half-size demosaic, both as upright RGB images (0 degrees)."""
    reason = decoder_missing(".dng")
    if reason:
        raise MediaDecodeError(reason)
    import rawpy
    from PIL import Image

    try:
        with rawpy.imread(io.BytesIO(source.read())) as raw:
            sizes = raw.sizes
            turns = _TURNS.get(sizes.flip, 0)
            size = (sizes.height, sizes.width) if turns in (90, 270) else (sizes.width, sizes.height)
            try:
                data = raw.extract_thumb().data
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                data = None
            if isinstance(data, bytes):  # a JPEG
                with Image.open(io.BytesIO(data)) as header:  # reads the header only
                    if min(header.size) >= min_side:
                        return data, size, 0 if header.getexif().get(0x0112, 1) != 1 else turns
            elif data is not None and min(data.shape[:2]) >= min_side:  # a bitmap
                picture = Image.fromarray(np.ascontiguousarray(data)).convert("RGB")
                return (picture.rotate(turns, expand=True) if turns else picture), size, 0
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)  # turned upright by LibRaw
            return Image.fromarray(rgb), size, 0
    except (rawpy.LibRawError, ValueError, OSError) as err:  # a damaged preview's header included
        raise MediaDecodeError(f"{name}: cannot decode camera RAW ({type(err).__name__}: {err})") from err
