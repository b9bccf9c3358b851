"""Merge shards into the catalog on the driver, through the local pipeline's catalog writer.

Each shard is committed as one batch (new, changed, moved, duplicate decided by content hash as in a local
run) in one transaction that also notes the shard in the catalog's `merged_shards` table; then the file is
deleted. A shard found again after its merge (the driver was killed before deleting it) is just deleted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb

from indexes.catalog import Catalog
from indexes.shards import merged_names, pending_shards, read_shard, record_merged, shard_name
from retrieval.distributed.records import loaded_file
from retrieval.ingest.load import FailedFile, LoadedFile
from retrieval.ingest.plan import IngestPlan
from retrieval.ingest.write import CatalogWriter
from retrieval.media.scan import FileFacts
from retrieval.types import IndexReport, Vectors

log = logging.getLogger(__name__)


class _LedgerCatalog(Catalog):
    """The catalog, with each write transaction also recording the shard being merged (so a shard's items
    and its ledger row commit together)."""

    shard: tuple[str, int] = ("", 0)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().transaction() as con:
            yield con
            record_merged(con, *self.shard)


class ShardMerger:
    """Merges the shards of one run into `catalog` as the local pipeline's writer would, counting into `report`."""

    def __init__(self, catalog: Catalog, model_id: str, job: IngestPlan, report: IndexReport) -> None:
        self.catalog = catalog
        self.ledgered = _LedgerCatalog(catalog.path)
        self.writer = CatalogWriter(self.ledgered, model_id, job, report)
        self.report = report

    def merge(self, path: Path, wanted: dict[str, FileFacts] | None = None) -> set[str]:
        """Commit the shard at `path` and delete it; returns the paths it settled. With `wanted`, only files
        whose path, size and mtime are still those of `wanted` are taken (the rest are stale and dropped)."""
        files: list[LoadedFile] = []
        vectors: list[Vectors] = []
        settled = set()
        for shard in read_shard(path):
            facts = wanted.get(shard.path) if wanted is not None else None
            if wanted is not None and (facts is None or (facts.size, facts.mtime) != (shard.size, shard.mtime)):
                continue
            loaded, file_vectors = loaded_file(shard)
            settled.add(shard.path)
            if isinstance(loaded, FailedFile):
                self.report.skip(loaded.facts.path, loaded.reason)
                log.info("skipped %s", loaded.reason)
            else:
                files.append(loaded)
                vectors.append(file_vectors)
        self.ledgered.shard = (shard_name(path), len(settled))
        if files:
            self.writer.commit(files, vectors)
        else:
            with self.ledgered.transaction():  # a shard of unreadable files: only its ledger row
                pass
        path.unlink()
        return settled

    def resume(self, folder: Path, to_load: Sequence[FileFacts]) -> list[FileFacts]:
        """Merge the shards a killed run left in `folder` for the files of `to_load` that have not changed
        since; returns the files still to load."""
        done = merged_names(self.catalog)
        wanted = {f.path: f for f in to_load}
        for path in pending_shards(folder):
            if shard_name(path) in done:
                path.unlink()  # merged, but the run was killed before deleting it
                continue
            settled = self.merge(path, wanted)
            log.info("resumed %d files from shard %s", len(settled), path.name)
            for p in settled:
                del wanted[p]
        return [f for f in to_load if f.path in wanted]
