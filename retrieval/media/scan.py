"""Walk the paths a user gives and describe each supported file; no model code here."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import MmsearchError
from retrieval.types import Modality

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3"})


@dataclass(frozen=True)
class FileFacts:
    """A file found by the scan: absolute path, modality, size and modification time."""

    path: str
    modality: Modality
    size: int
    mtime: float


def modality_of(path: str | Path) -> Modality | None:
    """The modality a file's extension promises, or None for unsupported files."""
    ext = Path(path).suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
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


def scan(roots: Iterable[Path], modalities: frozenset[Modality]) -> Iterator[FileFacts]:
    """Supported files under `roots` (recursive, sorted, hidden entries skipped, links not followed)."""
    for root in roots:
        if root.is_file():
            facts = _facts(root, modalities)
            if facts:
                yield facts
            continue
        for folder, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    facts = _facts(Path(folder) / name, modalities)
                    if facts:
                        yield facts


def _facts(path: Path, modalities: frozenset[Modality]) -> FileFacts | None:
    modality = modality_of(path)
    if modality is None or modality not in modalities or path.is_symlink():
        return None
    stat = path.stat()
    return FileFacts(str(path), modality, stat.st_size, stat.st_mtime)
