"""Encode stage: the model inputs of a batch of loaded files -> one (n_items, dim) vector array per file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import MmsearchError
from retrieval.ingest.load import LoadedFile
from retrieval.types import MODALITIES, Modality, Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder

TEXT_BATCH = 256
"""Texts per text-tower call (texts are cheap; larger calls are faster)."""


def encode_files(encoder: "Encoder", files: Sequence[LoadedFile], batch_size: int) -> list[Vectors]:
    """Vectors of every item of `files`, grouped by modality and at most `batch_size` images or audio
    windows per encoder call; returns one array per file, in order."""
    unknown = {f.facts.modality for f in files} - set(MODALITIES)
    if unknown:
        raise MmsearchError(f"cannot encode modality {', '.join(sorted(unknown))}")
    out: list[Vectors] = [np.zeros((0, encoder.dim), np.float32)] * len(files)
    for modality in MODALITIES:
        chosen = [i for i, f in enumerate(files) if f.facts.modality == modality]
        inputs = [x for i in chosen for x in files[i].inputs]
        if not inputs:
            continue
        vectors = _encode(encoder, modality, inputs, batch_size)
        offset = 0
        for i in chosen:
            n = len(files[i].inputs)
            out[i] = vectors[offset : offset + n]
            offset += n
    return out


def _encode(encoder: "Encoder", modality: Modality, inputs: list[Any], batch_size: int) -> Vectors:
    if modality == "text":
        return np.concatenate(
            [encoder.encode_texts(inputs[i : i + TEXT_BATCH]) for i in range(0, len(inputs), TEXT_BATCH)]
        )
    import torch

    encode = encoder.encode_image_batch if modality == "image" else encoder.encode_audio_batch
    return np.concatenate(
        [
            encode(torch.stack(inputs[start : start + batch_size]).to(encoder.device, non_blocking=True))
            for start in range(0, len(inputs), batch_size)
        ]
    )
