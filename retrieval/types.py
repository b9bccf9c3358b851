"""Small shared types: modalities, vector arrays, indexing settings and reports, and result dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Modality = Literal["image", "text", "audio", "video"]
MODALITIES: tuple[Modality, ...] = ("image", "text", "audio", "video")
MEDIA_MODALITIES: tuple[Modality, ...] = ("image", "audio", "video")
"""Modalities found by scanning folders (text items come from captions files)."""

ItemKind = Literal["image", "caption", "window", "transcript", "shot"]
"""What one item is within its file: a photo, a caption, an audio window, a speech segment, a video shot."""
KIND_TOWER: dict[ItemKind, Modality] = {
    "image": "image",
    "shot": "image",
    "caption": "text",
    "transcript": "text",
    "window": "audio",
}
"""The encoder tower that embeds each kind of item."""
DEFAULT_KIND: dict[Modality, ItemKind] = {"image": "image", "text": "caption", "audio": "window", "video": "shot"}
"""The kind of a file's items unless its loader says otherwise."""

Vectors = npt.NDArray[np.float32]
"""float32 array of shape (n, dim); rows are L2-normalised."""


@dataclass(frozen=True)
class SearchHit:
    """One search result: the catalog row of an item and its similarity to the query."""

    rank: int
    score: float
    id: int
    path: str
    modality: Modality
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready dict: rank, score, path, id, then the other catalog fields (a speech segment's
        words also as `transcript`)."""
        row = asdict(self)
        extra = row.pop("fields")
        if extra.get("kind") == "transcript":
            extra["transcript"] = extra.get("text")
        return {**row, **extra}


@dataclass(frozen=True)
class ClassScore:
    """One label of a zero-shot classification and its probability."""

    label: str
    probability: float
    score: float


ProgressCallback = Callable[[int, int], None]
"""Called with (files processed, files to process)."""


@dataclass(frozen=True)
class IndexSettings:
    """How to run an indexing job."""

    batch_size: int = 64
    workers: int | None = None
    """Decode worker processes; None picks from the CPU count (none on 2 cores or fewer), 0 decodes in a thread
    of this process, overlapping with encoding."""
    video_fps: float = 1.0
    """Frames sampled per second of video (shots are grouped from them, one embedded per shot)."""
    transcribe: bool | None = None
    """Transcribe speech in audio files: None when the speech extra is installed, True requires it."""
    speech_model: str | None = None
    """Speech model: tiny.en, base (default), a faster-whisper folder or a cached model name."""
    language: str | None = None
    """Language spoken in the audio (e.g. en, es); None detects it per file."""
    ray: str | None = None
    """Ray cluster to index on ('auto', 'local', 'host:port', 'ray://host:port'); None indexes in-process.
    With Ray, `workers` is the number of embedding actors and videos and transcripts are local-only."""
    gpus_per_worker: float | None = None
    """GPUs per embedding actor under Ray; None: one when the cluster has GPUs, else none."""
    ivf_on_disk: bool = False
    """Under Ray, build an IVF index in chunks with its inverted lists in a file on disk."""
    follow_links: bool = False
    """Follow links leaving the indexed folders (files and folders; loops are skipped with one line)."""
    runtime: str = "auto"
    """What runs the towers: 'onnx' (ONNX Runtime on the CPU, the lite model's image and audio towers),
    'torch', or 'auto' (onnx when its extra is installed and the run is on the CPU, else torch)."""


@dataclass
class IndexReport:
    """Counts of one indexing run (files, except `items` which counts vectors written)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    duplicates: int = 0
    removed: int = 0
    skipped: int = 0
    items: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    links_skipped: dict[str, int] = field(default_factory=dict)
    """Links left out (also counted in `skipped`), by why (`retrieval.media.scan.LINK_SKIPS`)."""
    runtime: str = ""
    """What ran the image and audio towers ('torch' or 'onnxruntime'); empty when nothing was embedded."""

    def skip(self, path: str, reason: str, link: str | None = None) -> None:
        """Count a file that could not be read, with its one-line reason (`link`: why a link was left out)."""
        self.skipped += 1
        self.failures.append((path, reason))
        if link is not None:
            self.links_skipped[link] = self.links_skipped.get(link, 0) + 1

    def to_dict(self) -> dict[str, object]:
        """JSON-ready counts."""
        return {k: v for k, v in self.__dict__.items() if k != "failures"} | {
            "failures": [{"path": p, "reason": r} for p, r in self.failures]
        }
