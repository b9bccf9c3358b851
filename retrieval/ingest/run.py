"""The indexing run: scan -> plan -> load -> encode -> write -> FAISS sync, wired in one place.

Every source is a file that the load stage turns into items: photos (one item), audio (one item per
window), captions files given with --captions (one item per text). Each encoded batch is committed in
one transaction, so a killed run resumes where it stopped and redoes at most the batch in flight; the
FAISS file is brought up to the catalog's generation at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path

from indexes.catalog import Catalog
from indexes.sync import sync_store
from indexes.writer_lock import writing
from retrieval.encoders.base import Encoder
from retrieval.errors import MmsearchError
from retrieval.ingest.encode import encode_files
from retrieval.ingest.load import EMBED_CHUNK, FailedFile, LoadedFile, load_files
from retrieval.ingest.plan import plan
from retrieval.ingest.write import CatalogWriter
from retrieval.media.scan import FileFacts, scan
from retrieval.types import IndexReport, IndexSettings, ProgressCallback, Vectors

log = logging.getLogger(__name__)


def scan_for(
    encoder: Encoder, roots: Sequence[Path], report: IndexReport, follow_links: bool = False
) -> list[FileFacts]:
    """Files under `roots` that `encoder` can embed, the entries the scan leaves out counted as skipped in
    `report`; raises MmsearchError when there are none."""
    modalities = encoder.media_modalities()
    files = list(scan(roots, modalities, report.skip, follow_links))
    if not files:
        kinds = " or ".join(sorted(modalities))
        left_out = f"; {report.skipped} left out, e.g. {report.failures[0][1]}" if report.failures else ""
        raise MmsearchError(f"no supported files ({kinds}) under {', '.join(map(str, roots))}{left_out}")
    return files


def run_index(
    catalog: Catalog,
    encoder: Encoder,
    roots: Sequence[Path],
    texts: Sequence[FileFacts],
    vectors_path: Path,
    index_type: str,
    settings: IndexSettings = IndexSettings(),
    progress: ProgressCallback | None = None,
) -> IndexReport:
    """Bring the catalog in line with the media under `roots` and the captions files `texts`, then
    save the FAISS file (`index_type`: 'auto' or a factory string) at `vectors_path`; holds the index's
    writer lock throughout (a second writer gets IndexLockedError)."""
    with writing(catalog.path.parent):
        started = time.perf_counter()
        report = IndexReport()
        files = [*(scan_for(encoder, roots, report, settings.follow_links) if roots else []), *texts]
        with catalog.reading():
            job = plan(catalog, [str(r) for r in roots] + [t.path for t in texts], files, report)
        writer = CatalogWriter(catalog, encoder.model_id, job, report)
        if job.to_load:  # loading sets up decode workers, the model's transforms and runtime: none when nothing changed
            report.runtime = encoder.use_runtime(settings.runtime)
            embed = partial(_embed_file, encoder, min(settings.batch_size, EMBED_CHUNK))
            loaded = _counted(load_files(job.to_load, encoder, settings, embed), len(job.to_load), report, progress)
            for batch in _batches(loaded, settings.batch_size):
                writer.commit(batch, encode_files(encoder, batch, settings.batch_size))
        report.removed = catalog.delete_paths(sorted(job.missing))
        sync_store(catalog, vectors_path, index_type, save=True)
        report.seconds = time.perf_counter() - started
        return report


def _embed_file(encoder: Encoder, batch_size: int, file: LoadedFile) -> Vectors:
    """The vectors of one file's items (how the load stage embeds a video as it decodes)."""
    return encode_files(encoder, [file], batch_size)[0]


def _counted(
    files: Iterable[LoadedFile | FailedFile], total: int, report: IndexReport, progress: ProgressCallback | None
) -> Iterator[LoadedFile]:
    """The loaded files; failures are logged and counted as skipped; progress reported per file."""
    for done, loaded in enumerate(files, start=1):
        if isinstance(loaded, FailedFile):
            report.skip(loaded.facts.path, loaded.reason)
            log.info("skipped %s", loaded.reason)  # the report carries it: one line per file
        else:
            yield loaded
        if progress:
            progress(done, total)


def _batches(files: Iterable[LoadedFile], batch_size: int) -> Iterator[list[LoadedFile]]:
    """Groups of whole files holding at least `batch_size` items (the last group may hold fewer)."""
    batch: list[LoadedFile] = []
    items = 0
    for loaded in files:
        batch.append(loaded)
        items += loaded.item_count
        if items >= batch_size:
            yield batch
            batch, items = [], 0
    if batch:
        yield batch
