"""Walk the paths a user gives and describe each supported file; no model code here."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK
from typing import Protocol

from retrieval.errors import MmsearchError
from retrieval.media.photo_formats import HEIF_EXTENSIONS, RAW_EXTENSIONS, decoder_missing
from retrieval.types import Modality

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif", *HEIF_EXTENSIONS, *RAW_EXTENSIONS}
)
"""HEIC/HEIF and camera RAW decode with the `photos` extra (`media.photo_formats`); AVIF with Pillow's own."""
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})


@dataclass(frozen=True)
class FileFacts:
    """A file found by the scan: absolute path, modality, size and modification time."""

    path: str
    modality: Modality
    size: int
    mtime: float


class SkipCallback(Protocol):
    """Receives (path, one-line reason) for an entry the scan leaves out; `link` names why, for a link."""

    def __call__(self, path: str, reason: str, link: str | None = None) -> None: ...


LINK_SKIPS = {
    "broken": "broken or looping",
    "outside": "leaving the indexed folders",
    "folder": "to folders",
    "loop": "back into a folder already indexed",
}
"""Why a link was skipped (the `link` a SkipCallback gets) -> how the summary says it."""


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
    """Real, absolute roots (links on the way resolved, so files are stored by the paths the server may
    serve); raises MmsearchError for a path that does not exist."""
    return [Path(real) for _, real in root_aliases(paths)]


def root_aliases(paths: Iterable[str | Path]) -> list[tuple[str, str]]:
    """(absolute path as given, real path) of every root; raises MmsearchError for a missing one."""
    aliases = []
    for raw in paths:
        given = os.path.abspath(os.path.expanduser(str(raw)))
        if not os.path.exists(given):
            raise MmsearchError(f"path not found: {raw}")
        aliases.append((given, os.path.realpath(given)))
    return aliases


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
    roots: Iterable[Path],
    modalities: frozenset[Modality],
    on_skip: SkipCallback | None = None,
    follow_links: bool = False,
) -> Iterator[FileFacts]:
    """Supported files under `roots` (recursive, sorted, hidden entries skipped), each real file once.

    A link to a file inside a root is that file (indexed once, under the path the walk finds it by).
    Links leaving the roots are followed only with `follow_links`: a file link is indexed under the
    link's path, a folder link is walked, except one leading back into a folder already walked (a loop).
    Every link left out, a FIFO, socket or device and a photo format without a decoder are reported
    as `on_skip(path, reason)`, links with the LINK_SKIPS key saying why.
    """
    walk = _Walk(list(roots), modalities, on_skip or _ignore, follow_links)
    for root in walk.roots:
        yield from walk.folder(root) if root.is_dir() else walk.file(root, [(str(root), os.path.realpath(root))])


@dataclass
class _Walk:
    roots: list[Path]
    modalities: frozenset[Modality]
    skip: SkipCallback
    follow_links: bool
    inside: list[tuple[str, str]] = field(default_factory=list)
    """(root as given, its real path) for every root: links into them lead to files the walk finds anyway."""
    walked: list[str] = field(default_factory=list)
    """Real paths of the folders walked or to be walked (the roots, followed folder links)."""
    seen: set[str] = field(default_factory=set)
    """Real paths of the files yielded."""

    def __post_init__(self) -> None:
        self.inside = [(str(r), os.path.realpath(r)) for r in self.roots]
        self.walked = [real for _, real in self.inside]

    def folder(self, top: Path) -> Iterator[FileFacts]:
        for folder, dirnames, filenames in os.walk(top):
            links = [n for n in sorted(dirnames) if not n.startswith(".") and os.path.islink(os.path.join(folder, n))]
            dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and n not in links)
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield from self.file(Path(folder) / name, self.inside)
            for name in links:
                yield from self.folder_link(Path(folder) / name)

    def folder_link(self, path: Path) -> Iterator[FileFacts]:
        if not self.follow_links:
            self.skip(str(path), f"{path}: link to a folder, not followed (--follow-links follows it)", "folder")
            return
        real = os.path.realpath(path)
        if _within(os.path.realpath(path.parent), real):
            self.skip(str(path), f"{path}: link back into {real}, a folder it lies in (a loop), not followed", "loop")
        elif any(_within(real, done) for done in self.walked):
            self.skip(str(path), f"{path}: link to {real}, a folder indexed already (a loop), not followed", "loop")
        else:
            self.walked.append(real)
            yield from self.folder(path)

    def file(self, path: Path, inside: list[tuple[str, str]]) -> Iterator[FileFacts]:
        facts = self.facts(path, inside)
        if facts is not None and (real := os.path.realpath(facts.path)) not in self.seen:
            self.seen.add(real)
            yield facts

    def facts(self, path: Path, inside: list[tuple[str, str]]) -> FileFacts | None:
        modality = modality_of(path)
        if modality is None or modality not in self.modalities:
            return None
        if modality == "image" and (missing := decoder_missing(path.suffix)):
            self.skip(str(path), f"{path}: {missing}")
            return None
        if path.is_symlink():
            if not path.exists():
                self.skip(str(path), f"{path}: broken link (its target is missing, or links loop)", "broken")
                return None
            real = os.path.realpath(path)
            top = next((t for t in inside if _within(real, t[1])), None)
            if top is not None:  # the target as scanned
                path = Path(os.path.normpath(os.path.join(top[0], os.path.relpath(real, top[1]))))
            elif not self.follow_links:
                reason = f"{path}: link to {real}, outside the indexed folders (--follow-links follows it)"
                self.skip(str(path), reason, "outside")
                return None
        try:
            stat = path.stat()
        except OSError as err:
            self.skip(str(path), f"{path}: {err.strerror or err} (broken link or vanished file)")
            return None
        if not S_ISREG(stat.st_mode):
            self.skip(str(path), f"{path}: not a regular file ({_file_type(stat.st_mode)})")
            return None
        return FileFacts(str(path), modality, stat.st_size, stat.st_mtime)


def _within(path: str, folder: str) -> bool:
    """Whether real path `path` is `folder` or lies under it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _ignore(path: str, reason: str, link: str | None = None) -> None:
    return None


def _file_type(mode: int) -> str:
    kinds = ((S_ISFIFO, "FIFO"), (S_ISSOCK, "socket"), (S_ISCHR, "character device"), (S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "folder" if S_ISDIR(mode) else "special file")
