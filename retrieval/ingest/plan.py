"""Compare scanned files with the catalog: which to load, which are unchanged, which have vanished."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexes.catalog import Catalog, StoredFile
from retrieval.media.scan import FileFacts
from retrieval.types import IndexReport


@dataclass
class IngestPlan:
    """What one indexing run must do."""

    to_load: list[FileFacts]
    """New files, and files whose size or mtime changed."""
    stored: dict[str, StoredFile]
    """What the catalog holds under the run's roots, by path."""
    missing: set[str]
    """Stored paths the scan no longer found (deleted, or moved: a moved file's content is reused)."""


def plan(catalog: Catalog, roots: Sequence[str], files: Sequence[FileFacts], report: IndexReport) -> IngestPlan:
    """Split the scan of `roots` into files to load and unchanged files (counted in `report`)."""
    stored = catalog.stored_files(roots)
    to_load = []
    for facts in files:
        known = stored.get(facts.path)
        if known and known.size == facts.size and known.mtime == facts.mtime:
            report.unchanged += 1
        else:
            to_load.append(facts)
    seen = {f.path for f in files}
    return IngestPlan(to_load, stored, {p for p in stored if p not in seen})
