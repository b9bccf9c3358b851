"""Worker-side loading: one file -> its content hash and model-ready tensors, or a failure."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from retrieval.errors import MediaDecodeError, MmsearchError
from retrieval.media.scan import FileFacts

if TYPE_CHECKING:
    import torch

    from retrieval.encoders.base import AudioTransform, ImageTransform


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
    """A decoded file: one tensor per item (one for an image, one per window for audio)."""

    facts: FileFacts
    content_hash: str
    tensors: list["torch.Tensor"]
    item_fields: list[dict[str, Any]] = field(default_factory=list)


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

    def __call__(self, facts: FileFacts) -> LoadedFile | FailedFile:
        try:
            if facts.modality == "image":
                with open(facts.path, "rb") as handle:
                    data = handle.read()
                if not data:
                    raise MediaDecodeError(f"{facts.path}: empty file")
                return self._image(facts, hashlib.sha256(data).hexdigest(), data)
            return self._audio(facts, file_sha256(facts.path))
        except (MmsearchError, OSError) as err:
            return FailedFile(facts, str(err))

    def _image(self, facts: FileFacts, digest: str, data: bytes) -> LoadedFile:
        from retrieval.media.image import decode_image

        if self.image_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no image tower")
        image, (width, height) = decode_image(io.BytesIO(data), facts.path, self.image_draft_size)
        return LoadedFile(facts, digest, [self.image_transform(image)], [{"width": width, "height": height}])

    def _audio(self, facts: FileFacts, digest: str) -> LoadedFile:
        from retrieval.media.audio import load_audio
        from retrieval.media.audio import split_windows

        if self.audio_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no audio tower")
        wave = load_audio(facts.path, sample_rate=self.audio_sample_rate)
        windows = split_windows(wave, self.audio_sample_rate, self.audio_window_s, self.audio_window_s / 2)
        tensors = [self.audio_transform(w.samples) for w in windows]
        fields = [{"start_s": w.start_s, "end_s": w.end_s} for w in windows]
        return LoadedFile(facts, digest, tensors, fields)
