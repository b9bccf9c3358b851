"""plan(): which scanned files to load, which are unchanged and which vanished, against a real catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexes.catalog import Catalog, NewItem
from retrieval.ingest.plan import plan
from retrieval.media.scan import FileFacts
from retrieval.types import IndexReport


def test_plan_splits_new_changed_unchanged_and_missing(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    catalog.ensure("m", 4, "m")
    stored = [("/p/same.jpg", 10, 1.0), ("/p/touched.jpg", 10, 1.0), ("/p/gone.jpg", 10, 1.0), ("/other/x.jpg", 1, 1.0)]
    with catalog.transaction() as con:
        catalog.insert(
            con,
            [NewItem(path=p, modality="image", kind="image", content_hash=p, size=s, mtime=m) for p, s, m in stored],
            np.eye(4, dtype=np.float32),
            "m",
        )
    scanned = [
        FileFacts("/p/same.jpg", "image", 10, 1.0),
        FileFacts("/p/touched.jpg", "image", 10, 2.0),
        FileFacts("/p/new.jpg", "image", 5, 1.0),
    ]
    report = IndexReport()
    job = plan(catalog, ["/p"], scanned, report)
    assert [f.path for f in job.to_load] == ["/p/touched.jpg", "/p/new.jpg"]
    assert report.unchanged == 1
    assert job.missing == {"/p/gone.jpg"}  # /other is outside the roots: never missing
    assert set(job.stored) == {"/p/same.jpg", "/p/touched.jpg", "/p/gone.jpg"}


def test_plan_on_a_new_catalog_loads_everything(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    scanned = [FileFacts("/p/a.wav", "audio", 3, 1.0), FileFacts("/p/c.csv", "text", 3, 1.0)]
    job = plan(catalog, ["/p", "/p/c.csv"], scanned, IndexReport())
    assert job.to_load == scanned and not job.missing and not job.stored
