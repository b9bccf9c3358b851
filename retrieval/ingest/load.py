"""Load stage: each file -> its content hash and model-ready inputs (or a failure), decoded in worker processes."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from retrieval.errors import MediaDecodeError, MmsearchError
from retrieval.media.scan import FileFacts
from retrieval.types import DEFAULT_KIND, IndexSettings, ItemKind

if TYPE_CHECKING:
    from retrieval.encoders.base import AudioTransform, Encoder, ImageTransform

HASH_CHUNK = 1 << 20


def file_sha256(path: str) -> str:
    """Hex sha256 of a file read in chunks (audio files can be large); MediaDecodeError when it is empty."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    if size == 0:
        raise MediaDecodeError(f"{path}: empty file")
    return digest.hexdigest()


@dataclass
class LoadedFile:
    """A decoded file: one model input per item (an image tensor, one tensor per audio window, one text
    per caption or speech segment) and each item's catalog fields. An item's `kind` field says which
    tower embeds it; without one it is the file's default kind."""

    facts: FileFacts
    content_hash: str
    inputs: list[Any]
    item_fields: list[dict[str, Any]] = field(default_factory=list)

    def kinds(self) -> list[ItemKind]:
        """The kind of each item, in order."""
        default = DEFAULT_KIND[self.facts.modality]
        fields = self.item_fields or [{}] * len(self.inputs)
        return [f.get("kind", default) for f in fields]


@dataclass
class FailedFile:
    """A file that could not be decoded, with a one-line reason."""

    facts: FileFacts
    reason: str


@dataclass(frozen=True)
class FileLoader:
    """Picklable callable run in DataLoader workers: hash, decode and transform one file.

    An image's bytes are read once for both the hash and the decode; audio is hashed and decoded
    in blocks, so a long recording never sits in memory as raw bytes.
    """

    image_transform: "ImageTransform | None"
    audio_transform: "AudioTransform | None"
    image_draft_size: int = 224
    audio_sample_rate: int = 16_000
    audio_window_s: float = 2.0

    @classmethod
    def for_encoder(cls, encoder: "Encoder") -> "FileLoader":
        """A loader with `encoder`'s transforms for the modalities it supports."""
        return cls(
            image_transform=encoder.image_transform() if encoder.supports("image") else None,
            audio_transform=encoder.audio_transform() if encoder.supports("audio") else None,
            audio_sample_rate=encoder.audio_sample_rate,
            audio_window_s=encoder.audio_window_s,
        )

    def __call__(self, facts: FileFacts) -> LoadedFile | FailedFile:
        try:
            if facts.modality == "image":
                return self._image(facts)
            if facts.modality == "audio":
                return self._audio(facts)
            return self._text(facts)
        except (MmsearchError, OSError) as err:
            return FailedFile(facts, str(err))

    def _image(self, facts: FileFacts) -> LoadedFile:
        from retrieval.media.image import decode_image

        if self.image_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no image tower")
        with open(facts.path, "rb") as handle:
            data = handle.read()
        if not data:
            raise MediaDecodeError(f"{facts.path}: empty file")
        decoded = decode_image(io.BytesIO(data), facts.path, self.image_draft_size)
        return LoadedFile(
            facts,
            hashlib.sha256(data).hexdigest(),
            [self.image_transform(decoded.image)],
            [{"width": decoded.width, "height": decoded.height, **decoded.facts.fields()}],
        )

    def _audio(self, facts: FileFacts) -> LoadedFile:
        from retrieval.media.audio import audio_windows, load_audio

        if self.audio_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no audio tower")
        digest = file_sha256(facts.path)
        windows = audio_windows(
            load_audio(facts.path, sample_rate=self.audio_sample_rate), self.audio_sample_rate, self.audio_window_s
        )
        return LoadedFile(
            facts,
            digest,
            [self.audio_transform(w.samples) for w in windows],
            [{"start_s": w.start_s, "end_s": w.end_s} for w in windows],
        )

    def _text(self, facts: FileFacts) -> LoadedFile:
        from retrieval.media.text import read_text_items

        digest = hashlib.sha256(Path(facts.path).read_bytes()).hexdigest()
        texts = read_text_items(Path(facts.path))
        fields = [
            {"part": t.part, "text": t.text, "ref": t.ref, "content_hash": hashlib.sha256(t.text.encode()).hexdigest()}
            for t in texts
        ]
        return LoadedFile(facts, digest, [t.text for t in texts], fields)


def default_workers() -> int:
    """Decode workers to use: leave the encoder one core, use at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def load_files(
    files: Sequence[FileFacts], encoder: "Encoder", settings: IndexSettings
) -> Iterator[LoadedFile | FailedFile]:
    """Decoded files in order, produced by worker processes that overlap with encoding."""
    import torch
    from torch.utils.data import DataLoader, Dataset

    workers = default_workers() if settings.workers is None else settings.workers
    workers = min(workers, max(1, len(files) // 16)) if files else 0
    dataset = _FileDataset(list(files), FileLoader.for_encoder(encoder))
    batches: Iterable[list[LoadedFile | FailedFile]] = DataLoader(
        cast("Dataset[LoadedFile | FailedFile]", dataset),
        batch_size=8,
        collate_fn=_as_list,
        num_workers=workers,
        prefetch_factor=max(2, settings.batch_size // 8) if workers else None,
        worker_init_fn=_single_thread if workers else None,
        pin_memory=torch.cuda.is_available(),
    )
    for batch in batches:
        yield from batch


class _FileDataset:
    def __init__(self, files: list[FileFacts], loader: FileLoader) -> None:
        self.files = files
        self.loader = loader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> LoadedFile | FailedFile:
        return self.loader(self.files[index])


def _as_list(batch: list[LoadedFile | FailedFile]) -> list[LoadedFile | FailedFile]:
    return batch


def _single_thread(_worker_id: int) -> None:
    import torch

    torch.set_num_threads(1)
