"""Walk the paths a user gives and describe each supported file; no model code here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK

from retrieval.errors import MmsearchError
from retrieval.types import Modality

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})


@dataclass(frozen=True)
class FileFacts:
    """A file found by the scan: absolute path, modality, size and modification time."""

    path: str
    modality: Modality
    size: int
    mtime: float


SkipCallback = Callable[[str, str], None]
"""Receives (path, one-line reason) for an entry the scan leaves out."""
UNDECODED_PHOTOS = {
    ".heic": "HEIC",
    ".heif": "HEIF",
    ".avif": "AVIF",
    **dict.fromkeys((".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".raf"), "RAW"),
}
"""Photo formats people index by mistake, with no decoder installed: reported instead of ignored."""


def modality_of(path: str | Path) -> Modality | None:
    """The modality a file's extension promises, or None for unsupported files."""
    ext = Path(path).suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None


def resolve_roots(paths: Iterable[str | Path]) -> list[Path]:
    """Absolute, normalised roots; raises MmsearchError for a path that does not exist."""
    roots = []
    for raw in paths:
        root = Path(os.path.abspath(os.path.expanduser(str(raw))))
        if not root.exists():
            raise MmsearchError(f"path not found: {raw}")
        roots.append(root)
    return roots


def text_facts(paths: Iterable[str | Path]) -> list[FileFacts]:
    """Captions files given by the user (CSV or TXT, see `media.text`) as text sources; raises for missing ones."""
    facts = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.is_file():
            raise MmsearchError(f"captions file not found: {raw}")
        stat = path.stat()
        facts.append(FileFacts(str(path), "text", stat.st_size, stat.st_mtime))
    return facts


def scan(
    roots: Iterable[Path], modalities: frozenset[Modality], on_skip: SkipCallback | None = None
) -> Iterator[FileFacts]:
    """Supported files under `roots` (recursive, sorted, hidden entries skipped), each real file once.

    A symbolic link is never followed out of the roots, nor into a folder: a link to a file inside a
    root is that file (indexed once, under the path the walk finds it by), any other link, a FIFO, socket or device
    and a photo format without a decoder are left out, each reported as `on_skip(path, reason)`.
    """
    roots = list(roots)
    skip = on_skip or _ignore
    inside = [(str(r), os.path.realpath(r)) for r in roots]
    seen: set[str] = set()
    for root in roots:
        if not root.is_dir():
            facts = _facts(root, modalities, [(str(root), os.path.realpath(root))], skip)
            if facts and facts.path not in seen:
                seen.add(facts.path)
                yield facts
            continue
        for folder, dirnames, filenames in os.walk(root):
            kept = []
            for name in sorted(d for d in dirnames if not d.startswith(".")):
                if os.path.islink(os.path.join(folder, name)):
                    skip(os.path.join(folder, name), f"{os.path.join(folder, name)}: link to a folder, not followed")
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                if not name.startswith("."):
                    facts = _facts(Path(folder) / name, modalities, inside, skip)
                    if facts and facts.path not in seen:
                        seen.add(facts.path)
                        yield facts


def _facts(
    path: Path, modalities: frozenset[Modality], inside: list[tuple[str, str]], skip: SkipCallback
) -> FileFacts | None:
    modality = modality_of(path)
    if modality is None or modality not in modalities:
        if path.suffix.lower() in UNDECODED_PHOTOS:
            skip(str(path), f"{path}: {UNDECODED_PHOTOS[path.suffix.lower()]} photos need a decoder mmsearch lacks")
        return None
    if path.is_symlink():
        if not path.exists():
            skip(str(path), f"{path}: broken link (its target is missing, or links loop)")
            return None
        real = os.path.realpath(path)
        top = next((t for t in inside if real == t[1] or real.startswith(t[1].rstrip("/") + "/")), None)
        if top is None:
            skip(str(path), f"{path}: link to {real}, outside the indexed folders (index that folder too)")
            return None
        path = Path(os.path.normpath(os.path.join(top[0], os.path.relpath(real, top[1]))))  # the target as scanned
    try:
        stat = path.stat()
    except OSError as err:
        skip(str(path), f"{path}: {err.strerror or err} (broken link or vanished file)")
        return None
    if not S_ISREG(stat.st_mode):
        skip(str(path), f"{path}: not a regular file ({_file_type(stat.st_mode)})")
        return None
    return FileFacts(str(path), modality, stat.st_size, stat.st_mtime)


def _ignore(_path: str, _reason: str) -> None:
    return None


def _file_type(mode: int) -> str:
    kinds = ((S_ISFIFO, "FIFO"), (S_ISSOCK, "socket"), (S_ISCHR, "character device"), (S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "folder" if S_ISDIR(mode) else "special file")
