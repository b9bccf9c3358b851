"""Encode stage: the model inputs of a batch of loaded files -> one (n_items, dim) vector array per file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.encoders.language import readable_language
from retrieval.errors import MmsearchError
from retrieval.ingest.load import LoadedFile
from retrieval.types import KIND_TOWER, MODALITIES, Modality, Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder

TEXT_BATCH = 256
"""Texts per text-tower call (texts are cheap; larger calls are faster)."""


def encode_files(encoder: "Encoder", files: Sequence[LoadedFile], batch_size: int) -> list[Vectors]:
    """Vectors of every item of `files`, grouped by tower (a file may hold items for several) and at most
    `batch_size` images or audio windows per encoder call; returns one array per file, in item order (a
    file embedded as it decoded keeps its vectors)."""
    towers = [[KIND_TOWER[kind] for kind in f.kinds()] if f.vectors is None else [] for f in files]
    missing = {t for file_towers in towers for t in file_towers} - encoder.modalities
    if missing:
        raise MmsearchError(f"this model has no {', '.join(sorted(missing))} tower")
    out = [np.zeros((len(f.inputs), encoder.dim), np.float32) if f.vectors is None else f.vectors for f in files]
    for tower in MODALITIES:
        chosen = [(i, j) for i, file_towers in enumerate(towers) for j, t in enumerate(file_towers) if t == tower]
        if not chosen:
            continue
        if tower == "text":
            _encode_texts(encoder, files, chosen, out)
            continue
        vectors = _encode(encoder, tower, [files[i].inputs[j] for i, j in chosen], batch_size)
        for (i, j), vector in zip(chosen, vectors):
            out[i][j] = vector
    return out


def _encode_texts(
    encoder: "Encoder", files: Sequence[LoadedFile], chosen: list[tuple[int, int]], out: list[Vectors]
) -> None:
    """Text items by language: a transcript knows its own (the recogniser's), captions are detected."""
    by_language: dict[str | None, list[tuple[int, int]]] = {}
    for i, j in chosen:
        fields = files[i].item_fields[j] if files[i].item_fields else {}
        by_language.setdefault(readable_language(fields.get("language")), []).append((i, j))
    for lang, members in by_language.items():
        texts = [files[i].inputs[j] for i, j in members]
        vectors = np.concatenate(
            [encoder.encode_texts_in(texts[s : s + TEXT_BATCH], lang) for s in range(0, len(texts), TEXT_BATCH)]
        )
        for (i, j), vector in zip(members, vectors):
            out[i][j] = vector


def _encode(encoder: "Encoder", modality: Modality, inputs: list[Any], batch_size: int) -> Vectors:
    encode = encoder.encode_image_batch if modality == "image" else encoder.encode_audio_batch
    return np.concatenate(
        [encode(np.stack(inputs[start : start + batch_size])) for start in range(0, len(inputs), batch_size)]
    )
