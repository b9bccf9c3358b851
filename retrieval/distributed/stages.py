"""The Ray Data stages: load (hash, decode, preprocess) as CPU tasks, embed and write shards in actors."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexes.shards import write_shard
from retrieval.distributed.records import shard_file
from retrieval.ingest.encode import encode_files
from retrieval.ingest.load import FileLoader, LoadedFile
from retrieval.media.scan import FileFacts

Batch = dict[str, Any]
"""A Ray Data batch in numpy format: column name -> array."""
FACT_COLUMNS = ("path", "modality", "size", "mtime")


def fact_rows(files: list[FileFacts]) -> list[dict[str, Any]]:
    """The rows a run hands to Ray Data: the facts of each file to load."""
    return [{c: getattr(f, c) for c in FACT_COLUMNS} for f in files]


@dataclass(frozen=True)
class LoadStage:
    """Ray Data task function: a batch of file facts -> one row per file with its `LoadedFile` (model inputs
    and catalog fields) or `FailedFile` (a one-line reason), through the local pipeline's loader; Ray Data
    carries the objects between our own tasks (no bytes from outside are ever unpickled here)."""

    loader: FileLoader

    def __call__(self, batch: Batch) -> Batch:
        files = [
            FileFacts(str(p), m, int(s), float(t))
            for p, m, s, t in zip(batch["path"], batch["modality"], batch["size"], batch["mtime"])
        ]
        loaded = np.empty(len(files), dtype=object)
        loaded[:] = self.loader.load_batch(files)
        return {"path": batch["path"], "loaded": loaded}


class EmbedStage:
    """Ray Data actor: loads the model once, then embeds each batch of loaded files and writes it as one shard.

    The shard's name is the run's id and a digest of its paths, so a batch Ray retries after a worker died
    rewrites the same shard instead of adding a second copy.
    """

    def __init__(self, model_name: str, batch_size: int, folder: str, run_id: str, runtime: str = "auto") -> None:
        import torch

        from retrieval.encoders.registry import load_encoder

        self.encoder = load_encoder(model_name)
        if self.encoder.device == "cpu":  # Ray gives an actor one thread per CPU it holds; a local run uses all
            torch.set_num_threads(os.cpu_count() or 1)
        self.runtime = self.encoder.use_runtime(runtime)  # after the threads: ONNX Runtime takes as many
        self.batch_size, self.folder, self.run_id = batch_size, Path(folder), run_id

    def __call__(self, batch: Batch) -> Batch:
        files = list(batch["loaded"])
        loaded = [f for f in files if isinstance(f, LoadedFile)]
        vectors = iter(encode_files(self.encoder, loaded, self.batch_size) if loaded else [])
        shards = [shard_file(f, next(vectors) if isinstance(f, LoadedFile) else None) for f in files]
        digest = hashlib.sha1("\n".join(f.facts.path for f in files).encode()).hexdigest()[:16]
        name = f"{self.run_id}-{digest}"
        write_shard(self.folder, name, shards)
        return {
            "shard": np.array([name], dtype=object),
            "files": np.array([len(files)]),
            "runtime": np.array([self.runtime], dtype=object),
        }
