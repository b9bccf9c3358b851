"""Write stage: decide per file new / changed / unchanged / moved / duplicate by content hash, and commit
each batch with its vectors in one catalog transaction (a killed run loses at most the batch in flight)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from indexes.catalog import Catalog, NewItem
from retrieval.ingest.load import LoadedFile
from retrieval.ingest.plan import IngestPlan
from retrieval.types import IndexReport, Vectors

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


class CatalogWriter:
    """Commits encoded batches of one indexing run (see the module docstring)."""

    def __init__(self, catalog: Catalog, model_id: str, plan: IngestPlan, report: IndexReport) -> None:
        self.catalog, self.model_id, self.plan, self.report = catalog, model_id, plan, report

    def commit(self, files: Sequence[LoadedFile], vectors: Sequence[Vectors]) -> None:
        """Write one batch: `vectors[i]` holds the item vectors of `files[i]`."""
        with self.catalog.transaction() as con:
            owners = self.catalog.hash_owners(con, [f.content_hash for f in files])
            items: list[NewItem] = []
            rows: list[np.ndarray] = []
            for loaded, file_vectors in zip(files, vectors):
                if self._reuse(con, loaded, owners):
                    continue
                owners[loaded.content_hash] = loaded.facts.path
                items += _items_of(loaded)
                rows.append(file_vectors)
            if items:
                self.catalog.insert(con, items, np.concatenate(rows), self.model_id)
        self.report.items += len(items)

    def _reuse(self, con: "duckdb.DuckDBPyConnection", loaded: LoadedFile, owners: dict[str, str]) -> bool:
        """Handle a file whose content is already stored; True when nothing must be inserted."""
        facts, known = loaded.facts, self.plan.stored.get(loaded.facts.path)
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
        if owner in self.plan.missing:
            self.catalog.update_facts(con, owner, facts.path, facts.size, facts.mtime)
            self.plan.missing.discard(owner)
            self.report.moved += 1
        else:
            log.info("%s has the same content as %s; stored once", facts.path, owner)
            self.report.duplicates += 1
        return True


def _items_of(loaded: LoadedFile) -> list[NewItem]:
    """Catalog rows of a file's items; an item's own fields (part, text hash...) override the file's."""
    facts = loaded.facts
    return [
        NewItem(
            **{
                "path": facts.path,
                "modality": facts.modality,
                "content_hash": loaded.content_hash,
                "size": facts.size,
                "mtime": facts.mtime,
                "part": part,
                "kind": kind,
                **fields,
            }
        )
        for part, (fields, kind) in enumerate(zip(loaded.item_fields, loaded.kinds()))
    ]
