"""Indexing as stages: scan -> plan -> decode in worker processes -> encode in batches -> commit.

Each encoded batch is committed to the catalog in one transaction, so a killed run
resumes where it stopped and redoes at most the batch in flight.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexes.catalog import Catalog, NewItem, StoredFile
from retrieval.encoders.base import Encoder
from retrieval.errors import MmsearchError
from retrieval.ingest.load import FailedFile, FileLoader, LoadedFile
from retrieval.media.scan import FileFacts, scan

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called with (files processed, files to process)."""


@dataclass(frozen=True)
class IndexSettings:
    """How to run an indexing job."""

    batch_size: int = 64
    workers: int | None = None
    """Decode worker processes; None picks from the CPU count, 0 decodes in-process."""


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

    def to_dict(self) -> dict[str, object]:
        """JSON-ready counts."""
        return {k: v for k, v in self.__dict__.items() if k != "failures"} | {
            "failures": [{"path": p, "reason": r} for p, r in self.failures]}


@dataclass
class _Plan:
    to_load: list[FileFacts]
    missing: set[str]


def plan(files: Sequence[FileFacts], stored: dict[str, StoredFile], report: IndexReport) -> _Plan:
    """Split scanned files into unchanged ones (counted) and ones to load; find vanished files."""
    to_load = []
    for facts in files:
        known = stored.get(facts.path)
        if known and known.size == facts.size and known.mtime == facts.mtime:
            report.unchanged += 1
        else:
            to_load.append(facts)
    seen = {f.path for f in files}
    return _Plan(to_load, {p for p in stored if p not in seen})


def default_workers() -> int:
    """Decode workers to use: leave the encoder one core, use at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def scan_for(encoder: Encoder, roots: Sequence[Path]) -> list[FileFacts]:
    """Files under `roots` that `encoder` can embed; raises MmsearchError when there are none."""
    modalities = frozenset(m for m in ("image", "audio") if encoder.supports(m))
    files = list(scan(roots, modalities))
    if not files:
        kinds = " or ".join(sorted(modalities))
        raise MmsearchError(f"no supported files ({kinds}) under {', '.join(map(str, roots))}")
    return files


def run_index(
    catalog: Catalog,
    encoder: Encoder,
    roots: Sequence[Path],
    files: Sequence[FileFacts],
    settings: IndexSettings = IndexSettings(),
    progress: ProgressCallback | None = None,
) -> IndexReport:
    """Bring the catalog in line with `files`, the scan of `roots` (see the module docstring)."""
    started = time.perf_counter()
    report = IndexReport()
    stored = catalog.stored_files([str(r) for r in roots])
    job = plan(files, stored, report)
    writer = _BatchWriter(catalog, encoder, stored, job.missing, report, settings.batch_size)
    done = 0
    for loaded in _load_all(job.to_load, encoder, settings):
        done += 1
        if isinstance(loaded, FailedFile):
            report.skipped += 1
            report.failures.append((loaded.facts.path, loaded.reason))
            log.warning("skipped %s", loaded.reason)
        else:
            writer.add(loaded)
        if progress:
            progress(done, len(job.to_load))
    writer.flush()
    report.removed = catalog.delete_paths(sorted(job.missing))
    report.seconds = time.perf_counter() - started
    return report


def _load_all(files: list[FileFacts], encoder: Encoder, settings: IndexSettings):  # noqa: ANN202 - generator
    """Decoded files in order, produced by worker processes that overlap with encoding."""
    import torch
    from torch.utils.data import DataLoader

    loader = FileLoader(
        image_transform=encoder.image_transform() if encoder.supports("image") else None,
        audio_transform=encoder.audio_transform() if encoder.supports("audio") else None,
        audio_sample_rate=encoder.audio_sample_rate,
        audio_window_s=encoder.audio_window_s,
    )
    workers = default_workers() if settings.workers is None else settings.workers
    workers = min(workers, max(1, len(files) // 16)) if files else 0
    batches = DataLoader(
        _FileDataset(files, loader),
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


def _as_list(batch: list) -> list:
    return batch


def _single_thread(_worker_id: int) -> None:
    import torch

    torch.set_num_threads(1)


class _BatchWriter:
    """Buffers decoded files, encodes them in batches and commits each batch in one transaction."""

    def __init__(
        self, catalog: Catalog, encoder: Encoder, stored: dict[str, StoredFile], missing: set[str],
        report: IndexReport, batch_size: int,
    ) -> None:
        self.catalog, self.encoder, self.stored, self.missing = catalog, encoder, stored, missing
        self.report, self.batch_size = report, batch_size
        self.pending: list[LoadedFile] = []
        self.pending_items = 0

    def add(self, loaded: LoadedFile) -> None:
        self.pending.append(loaded)
        self.pending_items += len(loaded.tensors)
        if self.pending_items >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        vectors = self._encode(self.pending)
        with self.catalog.transaction() as con:
            owners = self.catalog.hash_owners(con, [f.content_hash for f in self.pending])
            items: list[NewItem] = []
            rows: list[np.ndarray] = []
            for loaded, file_vectors in zip(self.pending, vectors):
                if self._reuse(con, loaded, owners):
                    continue
                owners[loaded.content_hash] = loaded.facts.path
                items += _items_of(loaded)
                rows.append(file_vectors)
            if items:
                self.catalog.insert(con, items, np.concatenate(rows), self.encoder.model_id)
        self.report.items += len(items)
        self.pending, self.pending_items = [], 0

    def _reuse(self, con, loaded: LoadedFile, owners: dict[str, str]) -> bool:  # noqa: ANN001
        """Handle a file whose content is already stored; True when nothing must be inserted."""
        facts, known = loaded.facts, self.stored.get(loaded.facts.path)
        if known and known.content_hash == loaded.content_hash:
            self.catalog.update_facts(con, facts.path, facts.path, facts.size, facts.mtime)
            self.report.unchanged += 1
            return True
        if known:
            self.catalog.delete(con, [facts.path])
        owner = owners.get(loaded.content_hash)
        if owner is None or owner == facts.path:
            if known:
                self.report.changed += 1
            else:
                self.report.new += 1
            return False
        if owner in self.missing:
            self.catalog.update_facts(con, owner, facts.path, facts.size, facts.mtime)
            self.missing.discard(owner)
            self.report.moved += 1
        else:
            log.info("%s has the same content as %s; stored once", facts.path, owner)
            self.report.duplicates += 1
        return True

    def _encode(self, files: list[LoadedFile]) -> list[np.ndarray]:
        """Encode every item of `files` (grouped by modality, at most `batch_size` items per encoder call);
        returns one (n_items, dim) array per file."""
        import torch

        encoders = {"image": self.encoder.encode_image_batch, "audio": self.encoder.encode_audio_batch}
        unknown = {f.facts.modality for f in files} - set(encoders)
        if unknown:
            raise MmsearchError(f"cannot encode modality {', '.join(sorted(unknown))}")
        out: list[np.ndarray] = [np.zeros((0, self.encoder.dim), np.float32)] * len(files)
        for modality, encode in encoders.items():
            chosen = [i for i, f in enumerate(files) if f.facts.modality == modality]
            tensors = [t for i in chosen for t in files[i].tensors]
            if not tensors:
                continue
            vectors = np.concatenate([
                encode(torch.stack(tensors[start : start + self.batch_size]).to(self.encoder.device, non_blocking=True))
                for start in range(0, len(tensors), self.batch_size)
            ])
            offset = 0
            for i in chosen:
                n = len(files[i].tensors)
                out[i] = vectors[offset:offset + n]
                offset += n
        return out


def _items_of(loaded: LoadedFile) -> list[NewItem]:
    facts = loaded.facts
    return [
        NewItem(path=facts.path, modality=facts.modality, content_hash=loaded.content_hash, size=facts.size,
                mtime=facts.mtime, part=part, **fields)
        for part, fields in enumerate(loaded.item_fields)
    ]
