"""Loaded files <-> shard files: what crosses from the embedding actors to the driver."""

from __future__ import annotations

from typing import Any

import numpy as np

from indexes.shards import ShardFile
from retrieval.ingest.load import FailedFile, LoadedFile
from retrieval.media.scan import FileFacts
from retrieval.types import Modality, Vectors


def shard_file(loaded: LoadedFile | FailedFile, vectors: Vectors | None) -> ShardFile:
    """The shard form of a loaded file and its item vectors, or of a failed file with its reason; each item
    carries its part and kind as the catalog writer would give them, then its own fields."""
    facts = loaded.facts
    head: dict[str, Any] = {"path": facts.path, "modality": facts.modality, "size": facts.size, "mtime": facts.mtime}
    if isinstance(loaded, FailedFile):
        return ShardFile(**head, reason=loaded.reason)
    fields = loaded.item_fields or [{}] * len(loaded.inputs)
    items = [{"part": part, "kind": kind, **f} for part, (f, kind) in enumerate(zip(fields, loaded.kinds()))]
    return ShardFile(**head, file_hash=loaded.content_hash, item_fields=items, vectors=vectors)


def loaded_file(shard: ShardFile) -> tuple[LoadedFile | FailedFile, Vectors]:
    """A shard file back as the catalog writer takes it: a loaded file (its inputs are not kept, only their
    count) with its vectors, or a failed file."""
    modality: Modality = shard.modality  # type: ignore[assignment]
    facts = FileFacts(shard.path, modality, int(shard.size), float(shard.mtime))
    if shard.reason is not None or shard.file_hash is None:
        return FailedFile(facts, shard.reason or f"{shard.path}: no content hash in shard"), np.zeros(
            (0, 0), np.float32
        )
    vectors = shard.vectors if shard.vectors is not None else np.zeros((0, 0), np.float32)
    return LoadedFile(facts, shard.file_hash, [None] * len(shard.item_fields), shard.item_fields), vectors
