"""Embed single media files or in-memory media as query vectors (images, audio clips)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.encoders.base import Encoder, normalize
from retrieval.errors import MediaDecodeError, ModalityNotSupportedError
from retrieval.media.scan import modality_of
from retrieval.types import Modality, Vectors

if TYPE_CHECKING:
    from PIL import Image


def input_modality(item: object) -> Modality:
    """'image', 'audio' or 'video' for a file path; 'image' or 'audio' for a PIL image or array (1-D: a waveform)."""
    if isinstance(item, (str, Path)):
        modality = modality_of(item)
        if modality is None:
            raise MediaDecodeError(f"{item}: unsupported file type")
        return modality
    if isinstance(item, np.ndarray):
        return "audio" if item.ndim == 1 else "image"
    return "image"


def query_text(text: str, lang: str | None = None) -> str:
    """The text a text query is embedded as: an English one (`lang`, else detected) in the form transcripts
    are embedded in (`retrieval.speech.normalize.search_text`), so "the 7th" meets a spoken "the seventh";
    a query in another language as given."""
    from retrieval.encoders.language import detect_language, uses_minilm
    from retrieval.speech.normalize import search_text

    if not uses_minilm(lang if lang is not None else detect_language(text)):
        return text
    return search_text(text) or text


def embed_audio(encoder: Encoder, wave: np.ndarray) -> np.ndarray:
    """One vector for a whole clip: the normalised mean of its windows' vectors."""
    from retrieval.media.audio import audio_windows

    windows = audio_windows(wave, encoder.audio_sample_rate, encoder.audio_window_s)
    vectors = encoder.encode_audio([w.samples for w in windows])
    return normalize(vectors.mean(axis=0, keepdims=True))[0]


def embed_inputs(encoder: Encoder, items: Sequence[object], batch_size: int = 32) -> Vectors:
    """(N, dim) vectors for paths, PIL images and arrays (HxWxC images or mono waveforms); towers whose
    ONNX export an index run has cached run in ONNX Runtime."""
    out = np.zeros((len(items), encoder.dim), dtype=np.float32)
    images: list[tuple[int, Image.Image]] = []
    for n, item in enumerate(items):
        modality = input_modality(item)
        if not encoder.supports(modality):
            raise ModalityNotSupportedError(f"model {encoder.model_id!r} cannot embed {modality}: {display_name(item)}")
        encoder.use_cached_export("audio" if modality == "audio" else "image")
        if modality == "audio":
            out[n] = embed_audio(encoder, _waveform(encoder, item))
        elif modality == "video":
            spans, vectors = embed_video_shots(encoder, Path(item))  # type: ignore[arg-type]
            weights = np.array([max(end - start, 1e-3) for start, end in spans])
            out[n] = normalize((weights[:, None] * vectors).sum(axis=0, keepdims=True))[0]
        else:
            images.append((n, _image(item)))
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        out[[n for n, _ in chunk]] = encoder.encode_images([im for _, im in chunk])
    return out


def embed_video_shots(encoder: Encoder, path: Path, every_s: float = 1.0) -> tuple[list[tuple[float, float]], Vectors]:
    """(start_s, end_s) of each shot of a video file and its vector, as indexing makes them; a whole
    clip's vector (`embed_inputs`) is their mean weighted by shot length."""
    from retrieval.media.shots import group_shots
    from retrieval.media.video import deadline_for, probe_video, sample_frames

    facts = probe_video(path)
    shots = list(group_shots(sample_frames(path, every_s, deadline_for(path, facts)), facts.duration_s))
    if not shots:
        raise MediaDecodeError(f"cannot decode video {path}: no picture decodes")
    encoder.use_cached_export("image")
    return [(s.start_s, s.end_s) for s in shots], encoder.encode_images([s.image for s in shots])


def _waveform(encoder: Encoder, item: object) -> np.ndarray:
    if isinstance(item, np.ndarray):
        return item.astype(np.float32)
    from retrieval.media.audio import load_audio

    return load_audio(Path(item), sample_rate=encoder.audio_sample_rate)  # type: ignore[arg-type]


def _image(item: object) -> "Image.Image":
    from PIL import Image

    from retrieval.media.image import load_image

    if isinstance(item, (str, Path)):
        return load_image(item)
    if isinstance(item, np.ndarray):
        return Image.fromarray(item.astype(np.uint8)).convert("RGB")
    if not isinstance(item, Image.Image):
        raise MediaDecodeError(f"cannot embed {display_name(item)}: give a path, a PIL image or an array")
    return item.convert("RGB")


def display_name(item: object) -> str:
    """A path as text, or '<type>' for in-memory media."""
    return str(item) if isinstance(item, (str, Path)) else f"<{type(item).__name__}>"
